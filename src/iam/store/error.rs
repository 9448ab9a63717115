//! Why a change to the IAM state, or an authentication, is refused. The admin API maps each
//! [`IamError`] to MinIO's error code; the S3 front maps each [`LookupError`] to
//! `InvalidAccessKeyId` / `AccessDenied` / `ExpiredToken`, and logs the reason.

use super::backend::BackendError;
use crate::error::PolicyError;

/// A change or a query the store refuses.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("no such user {0:?}")]
    NoSuchUser(String),
    #[error("no such group {0:?}")]
    NoSuchGroup(String),
    #[error("no such policy {0:?}")]
    NoSuchPolicy(String),
    #[error("no such service account {0:?}")]
    NoSuchServiceAccount(String),
    #[error("no such temporary credential {0:?}")]
    NoSuchTemporary(String),
    /// The access key is taken (by root, a user, a service account or a temporary
    /// credential).
    #[error("access key {0:?} is already in use")]
    AccessKeyTaken(String),
    #[error("invalid access key {key:?}: {reason}")]
    InvalidAccessKey { key: String, reason: &'static str },
    /// The secret is never part of the message.
    #[error("invalid secret key: {0}")]
    InvalidSecretKey(&'static str),
    #[error("invalid {kind} name {name:?}: {reason}")]
    InvalidName {
        kind: &'static str,
        name: String,
        reason: &'static str,
    },
    #[error(transparent)]
    InvalidPolicy(#[from] PolicyError),
    /// MinIO refuses a policy document without a `Version`.
    #[error("the policy has no Version")]
    PolicyVersionMissing,
    #[error("policy document is {size} bytes, more than the {max} allowed here")]
    PolicyTooLarge { size: usize, max: usize },
    #[error("{parent:?} holds {max} unexpired temporary credentials, the most allowed")]
    TooManyTemporary { parent: String, max: usize },
    #[error("policy {policy:?} is attached to users {users:?} and groups {groups:?}")]
    PolicyInUse {
        policy: String,
        users: Vec<String>,
        groups: Vec<String>,
    },
    #[error("group {0:?} is not empty")]
    GroupNotEmpty(String),
    #[error("group {0:?} is disabled")]
    GroupDisabled(String),
    /// Attaching only policies already attached, or detaching only ones that are not.
    #[error("the policy update has no net effect")]
    NoNetChange,
    #[error("invalid expiry {expiry}: {reason}")]
    InvalidExpiry { expiry: u64, reason: &'static str },
    #[error("not allowed: {0}")]
    NotAllowed(&'static str),
    /// A stored document that cannot be read (at load).
    #[error("stored IAM document {key:?} is unreadable: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("no random numbers: {0}")]
    Random(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Why an access key does not authenticate.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("unknown access key")]
    UnknownAccessKey,
    #[error("user {0:?} is disabled")]
    UserDisabled(String),
    #[error("service account is disabled")]
    ServiceAccountDisabled,
    #[error("service account has expired")]
    ServiceAccountExpired,
    #[error("temporary credential has expired")]
    TemporaryExpired,
    /// A service account or temporary credential whose parent user no longer exists.
    #[error("parent user {0:?} does not exist")]
    ParentMissing(String),
    #[error("parent user {0:?} is disabled")]
    ParentDisabled(String),
    /// The stored secret does not open: the root credentials changed since it was sealed, or
    /// the document was tampered with.
    #[error("the stored secret cannot be opened (root credentials changed?)")]
    Unsealable,
}
