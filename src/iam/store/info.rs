//! What the store answers about its entities (the admin API's `info` and `list` calls), and
//! the credentials it hands out. No view holds a secret, except [`Credentials`], whose
//! `Debug` hides it.

use super::model::Status;
use super::seal::Secret;
use crate::document::Policy;
use std::sync::Arc;

/// A user, as `mc admin user info` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub access_key: String,
    pub status: Status,
    /// Policies attached to the user itself.
    pub policies: Vec<String>,
    /// Groups the user is a member of.
    pub member_of: Vec<String>,
    pub updated_at: u64,
}

/// A group, as `mc admin group info` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub status: Status,
    pub members: Vec<String>,
    pub policies: Vec<String>,
    pub updated_at: u64,
}

/// Where a policy comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyOrigin {
    /// A canned policy, as shipped.
    Canned,
    /// A canned policy's name, with a stored document replacing it.
    ReplacedCanned,
    /// A policy added by a user of the admin API.
    UserDefined,
}

/// A named policy.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyInfo {
    pub name: String,
    pub policy: Arc<Policy>,
    pub origin: PolicyOrigin,
    /// Unix seconds; `None` for a canned policy as shipped.
    pub created_at: Option<u64>,
    pub updated_at: Option<u64>,
}

/// The users and groups one policy is attached to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyEntities {
    pub policy: String,
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

/// A service account, without its secret.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceAccountInfo {
    pub access_key: String,
    /// The user it acts for (root's access key for one of root's).
    pub parent: String,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The inline policy narrowing the parent's; `None`: it has the parent's policies.
    pub policy: Option<Arc<Policy>>,
    pub expiry: Option<u64>,
    pub status: Status,
    pub updated_at: u64,
}

/// A temporary credential, without its secret and session token.
#[derive(Clone, Debug, PartialEq)]
pub struct TemporaryInfo {
    pub access_key: String,
    /// The user it acts for, or a federated subject's id.
    pub parent: String,
    pub policy: Option<Arc<Policy>>,
    pub expiry: u64,
    pub created_at: u64,
    /// For the credentials of a federated subject.
    pub federated: Option<FederatedInfo>,
}

/// Who an identity provider vouched for, and the policies its token granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedInfo {
    pub issuer: String,
    pub subject: String,
    pub policies: Vec<String>,
}

/// Credentials just created, for the one who asked: the only time the store hands out a
/// secret other than through [`super::Identity`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: Secret,
    /// For temporary credentials.
    pub session_token: Option<Secret>,
    pub expiry: Option<u64>,
}
