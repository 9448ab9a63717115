//! The JSON bodies of the admin API, with madmin-go's field names (its `json:` tags; Go's field
//! names where it has none, as in [`AccountInfo`]) and what minio-py sends.
//!
//! Go's conventions, kept so that Go and Python clients read what we write and we read what
//! they send:
//! - `omitempty` fields are `Option` (or skipped when zero/empty) and left out when absent;
//!   other fields are always written, zero values included.
//! - Go writes a nil slice or map as `null`: such fields read `null` as empty.
//! - `time.Time` is an RFC 3339 string ([`Timestamp`]); Go's `omitempty` never omits one (its
//!   zero value is `0001-01-01T00:00:00Z`), we leave out the ones we do not know.
//! - Unknown fields are ignored, as Go does: newer clients add fields.

mod error;
mod iam;
mod info;
mod quota;
mod service_accounts;
mod usage;

#[cfg(test)]
mod tests;

pub use error::ErrorResponse;
pub use iam::{
    AccountStatus, AddOrUpdateUserReq, GroupAddRemove, GroupDesc, GroupPolicyEntities, GroupStatus,
    ListCannedPoliciesResp, ListGroupsResp, ListUsersResp, PolicyAssociationReq,
    PolicyAssociationResp, PolicyEntities, PolicyEntitiesResult, PolicyInfo, UserAuthInfo,
    UserInfo, UserPolicyEntities,
};
pub use info::{
    Buckets, DeleteMarkers, Disk, ErasureBackend, ErasureSetInfo, InfoMessage, Kms, Ldap, MemStats,
    Objects, ServerProperties, Services, Status, Usage, Versions,
};
pub use quota::{BucketQuota, QuotaType};
pub use service_accounts::{
    AddServiceAccountReq, AddServiceAccountResp, Credentials, InfoServiceAccountResp,
    ListServiceAccountsResp, ServiceAccountInfo, UpdateServiceAccountReq,
};
pub use usage::{
    AccountAccess, AccountInfo, BackendInfo, BucketAccessInfo, BucketDetails, BucketUsageInfo,
    DataUsageInfo, TierStats,
};

use serde::de::{Deserializer, IntoDeserializer};
use serde::Deserialize;

/// An RFC 3339 timestamp as Go writes a `time.Time` (`2024-05-01T10:00:00.123456789Z`). Kept
/// as text: this crate has no clock and compares none.
pub type Timestamp = String;

/// Why a request body, though well-formed JSON, is refused (the checks madmin-go runs before
/// sending, which MinIO repeats).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("no policy names were given")]
    NoPolicies,
    #[error("an empty policy name was given")]
    EmptyPolicyName,
    #[error("exactly one of user and group must be given")]
    UserOrGroup,
    #[error("a service account name must be at most 32 characters, start with a letter and hold only ASCII letters, digits, '_' and '-'")]
    ServiceAccountName,
    #[error("a service account description must be at most 256 bytes")]
    ServiceAccountDescription,
}

/// `skip_serializing_if` for fields Go writes with `omitempty` and that are plain values.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// Reads Go's `null` (a nil slice or map) as the empty value.
fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Reads Go's empty string (an unset string-typed enum, which Go writes without `omitempty`)
/// as `None`.
fn empty_as_none<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    match Option::<String>::deserialize(deserializer)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => T::deserialize(s.into_deserializer()).map(Some),
    }
}
