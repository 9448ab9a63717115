//! The stored entities, one JSON document each, and the rules their names and keys follow.
//!
//! Keys and names follow MinIO (`internal/auth/credentials.go`, `cmd/iam.go`, the admin
//! handlers, madmin's request validation):
//! - a user's access key (its name) is at least 3 bytes and holds neither `=` nor `,`
//!   (MinIO's reserved characters); its secret key is at least 8 bytes; neither has a
//!   maximum;
//! - a service account's or temporary credential's access key is 3 to 20 bytes, its secret
//!   key 8 to 40 (MinIO's limits for derived credentials, the lengths it generates);
//! - a service account's name is at most 32 bytes of ASCII letters, digits, `_` and `-`,
//!   starting with a letter; its description at most 256 bytes;
//! - no name starts or ends with white space (MinIO refuses them for new users and policies).
//!
//! Strata's own rules, because a name is part of a storage key: no name is empty or holds `/`
//! or a control character, and a policy name holds no `,` (the admin API lists policies
//! comma-separated).

use super::error::IamError;
use super::seal::Sealed;
use crate::document::Policy;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::sync::Arc;

pub(crate) const USERS: &str = "users/";
pub(crate) const GROUPS: &str = "groups/";
pub(crate) const POLICIES: &str = "policies/";
pub(crate) const SERVICE_ACCOUNTS: &str = "service-accounts/";
pub(crate) const TEMPORARY: &str = "sts/";
pub(crate) const SUFFIX: &str = ".json";

/// The storage key of the entity `name` under `prefix` (`users/alice.json`).
pub(crate) fn key(prefix: &str, name: &str) -> String {
    format!("{prefix}{name}{SUFFIX}")
}

/// Whether an account, group or service account is in use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Enabled,
    Disabled,
}

impl Status {
    pub fn is_enabled(self) -> bool {
        self == Status::Enabled
    }
}

/// A user: its access key is its name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct User {
    pub access_key: String,
    pub secret: Sealed,
    pub status: Status,
    /// Names of the policies attached to the user.
    #[serde(default)]
    pub policies: BTreeSet<String>,
    /// Unix seconds of the last change.
    pub updated_at: u64,
}

/// A group of users; its policies apply to every member while it is enabled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Group {
    pub name: String,
    pub status: Status,
    #[serde(default)]
    pub members: BTreeSet<String>,
    #[serde(default)]
    pub policies: BTreeSet<String>,
    pub updated_at: u64,
}

/// A long-lived access key acting for its parent user (or root), narrowed by its inline
/// policy when it has one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceAccount {
    pub access_key: String,
    pub secret: Sealed,
    pub parent: String,
    #[serde(default)]
    pub policy: Option<Arc<Policy>>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Unix seconds from which it no longer authenticates.
    #[serde(default)]
    pub expiry: Option<u64>,
    pub status: Status,
    pub updated_at: u64,
}

/// STS credentials: an access key, secret and session token acting for the parent user,
/// narrowed by the session policy, until `expiry`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Temporary {
    pub access_key: String,
    pub secret: Sealed,
    pub session_token: Sealed,
    pub parent: String,
    #[serde(default)]
    pub policy: Option<Arc<Policy>>,
    pub expiry: u64,
    pub created_at: u64,
    /// Set for the credentials of a subject an identity provider vouched for
    /// (`AssumeRoleWithWebIdentity`): `parent` is then the subject's id, not a user, and the
    /// permissions are the named policies', not a user's. Absent in older documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated: Option<Federated>,
}

/// Who an identity provider's token named, and the policies it granted (by name: a policy
/// changed or removed later changes what the credentials may do, as a user's would).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Federated {
    pub issuer: String,
    pub subject: String,
    pub policies: BTreeSet<String>,
}

/// A user-defined policy (or a replacement of a canned one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyDoc {
    pub name: String,
    pub policy: Arc<Policy>,
    pub created_at: u64,
    pub updated_at: u64,
}

/// MinIO's minimum access key length (`accessKeyMinLen`).
pub const ACCESS_KEY_MIN: usize = 3;
/// MinIO's maximum for the access keys of derived credentials, and what it generates.
pub const ACCESS_KEY_MAX: usize = 20;
/// MinIO's minimum secret key length (`secretKeyMinLen`).
pub const SECRET_KEY_MIN: usize = 8;
/// MinIO's maximum for the secret keys of derived credentials, and what it generates.
pub const SECRET_KEY_MAX: usize = 40;
/// MinIO's reserved characters in access keys (`auth.ContainsReservedChars`).
const RESERVED: [char; 2] = ['=', ','];

/// Rules every stored name follows (see the module's documentation).
fn storable(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("it is empty");
    }
    if name.trim() != name {
        return Err("it starts or ends with white space");
    }
    if name.contains('/') {
        return Err("it contains '/'");
    }
    if name.chars().any(char::is_control) {
        return Err("it contains a control character");
    }
    Ok(())
}

/// A user's access key (root's included).
pub(crate) fn check_access_key(key: &str) -> Result<(), IamError> {
    let invalid = |reason| IamError::InvalidAccessKey {
        key: key.to_string(),
        reason,
    };
    storable(key).map_err(invalid)?;
    if key.len() < ACCESS_KEY_MIN {
        return Err(invalid("shorter than 3 bytes"));
    }
    if key.contains(RESERVED) {
        return Err(invalid("contains '=' or ','"));
    }
    Ok(())
}

/// A user's secret key (root's included).
pub(crate) fn check_secret_key(secret: &str) -> Result<(), IamError> {
    if secret.len() < SECRET_KEY_MIN {
        return Err(IamError::InvalidSecretKey("shorter than 8 bytes"));
    }
    Ok(())
}

/// The keys of a service account or temporary credential.
pub(crate) fn check_derived_keys(key: &str, secret: &str) -> Result<(), IamError> {
    check_access_key(key)?;
    if key.len() > ACCESS_KEY_MAX {
        return Err(IamError::InvalidAccessKey {
            key: key.to_string(),
            reason: "longer than 20 bytes",
        });
    }
    check_secret_key(secret)?;
    if secret.len() > SECRET_KEY_MAX {
        return Err(IamError::InvalidSecretKey("longer than 40 bytes"));
    }
    Ok(())
}

pub(crate) fn check_group_name(name: &str) -> Result<(), IamError> {
    storable(name).map_err(|reason| IamError::InvalidName {
        kind: "group",
        name: name.to_string(),
        reason,
    })
}

pub(crate) fn check_policy_name(name: &str) -> Result<(), IamError> {
    let invalid = |reason| IamError::InvalidName {
        kind: "policy",
        name: name.to_string(),
        reason,
    };
    storable(name).map_err(invalid)?;
    if name.contains(',') {
        return Err(invalid("it contains ','"));
    }
    Ok(())
}

/// A service account's display name (madmin's `validateSAName`).
pub(crate) fn check_service_account_name(name: &str) -> Result<(), IamError> {
    let invalid = |reason| IamError::InvalidName {
        kind: "service account",
        name: name.to_string(),
        reason,
    };
    if name.len() > 32 {
        return Err(invalid("longer than 32 bytes"));
    }
    let mut chars = name.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return Err(invalid("it does not start with an ASCII letter"));
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(invalid(
            "only ASCII letters, digits, '_' and '-' are allowed",
        ));
    }
    Ok(())
}

/// A service account's description (madmin's `validateSADescription`).
pub(crate) fn check_description(description: &str) -> Result<(), IamError> {
    if description.len() > 256 {
        return Err(IamError::InvalidName {
            kind: "service account description",
            name: description.chars().take(32).collect(),
            reason: "longer than 256 bytes",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_keys_follow_minio() {
        for ok in ["abc", "alice", "a-b_c.d@e", "ÄÖÜ", &"x".repeat(100)] {
            assert!(check_access_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "ab", "a=b", "a,b", " alice", "alice ", "a/b", "a\nb"] {
            assert!(check_access_key(bad).is_err(), "{bad:?}");
        }
        assert!(check_derived_keys(&"A".repeat(20), &"s".repeat(40)).is_ok());
        assert!(check_derived_keys(&"A".repeat(21), "secret12").is_err());
        assert!(check_derived_keys("abc", &"s".repeat(41)).is_err());
        assert!(check_derived_keys("abc", "short").is_err());
    }

    #[test]
    fn secret_keys_are_at_least_eight_bytes() {
        assert!(check_secret_key("1234567").is_err());
        assert!(check_secret_key("12345678").is_ok());
        assert!(check_secret_key(&"s".repeat(200)).is_ok());
    }

    #[test]
    fn names_are_storable() {
        assert!(check_group_name("devs").is_ok());
        assert!(check_group_name("dev ops").is_ok());
        assert!(check_group_name("a/b").is_err());
        assert!(check_group_name("").is_err());
        assert!(check_policy_name("read-only").is_ok());
        assert!(check_policy_name("a,b").is_err());
        assert!(check_policy_name(" p").is_err());
        assert!(check_service_account_name("backup_1-x").is_ok());
        for bad in ["1abc", "_x", "a b", "", &"a".repeat(33)] {
            assert!(check_service_account_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_description(&"d".repeat(256)).is_ok());
        assert!(check_description(&"d".repeat(257)).is_err());
    }
}
