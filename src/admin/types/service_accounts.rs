//! Service accounts (madmin-go's `user-commands.go`: `AddServiceAccountReq`, …).

use super::{nullable, RequestError, Timestamp};
use serde::{Deserialize, Serialize};

/// Body of `PUT add-service-account` (encrypted). minio-py writes `accessKey` and `secretKey`
/// as `null` when it lets the server choose them, and adds a `status` madmin has not.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddServiceAccountReq {
    /// A session policy narrowing the parent's; a JSON document, not a string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
    /// The parent user; the caller when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Timestamp>,
    /// LDAP only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_name: Option<String>,
    /// `on`/`off` or `enabled`/`disabled`: minio-py only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl AddServiceAccountReq {
    /// madmin's `Validate` for name and description (the expiration's "in the future" needs a
    /// clock: the server's).
    pub fn validate(&self) -> Result<(), RequestError> {
        validate_name(self.name.as_deref())?;
        validate_description(self.description.as_deref())
    }
}

/// Response of `PUT add-service-account` (encrypted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddServiceAccountResp {
    pub credentials: Credentials,
}

/// A key pair (madmin's `Credentials`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Timestamp>,
}

/// Body of `POST update-service-account?accessKey=…` (encrypted): only what changes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateServiceAccountReq {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_policy: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_secret_key: Option<String>,
    /// `on` / `off` as MinIO stores it; clients also send `enabled` / `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_expiration: Option<Timestamp>,
}

impl UpdateServiceAccountReq {
    /// madmin's `Validate` for the new name and description.
    pub fn validate(&self) -> Result<(), RequestError> {
        validate_name(self.new_name.as_deref())?;
        validate_description(self.new_description.as_deref())
    }
}

/// Response of `GET info-service-account?accessKey=…` (encrypted). `policy` is the effective
/// policy as a JSON *string*; `impliedPolicy` says it is the parent's, not a session policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoServiceAccountResp {
    pub parent_user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_user_status: Option<String>,
    /// `on` or `off`.
    pub account_status: String,
    pub implied_policy: bool,
    pub policy: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Timestamp>,
}

/// One entry of [`ListServiceAccountsResp`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountInfo {
    pub parent_user: String,
    /// `on` or `off`.
    pub account_status: String,
    pub implied_policy: bool,
    pub access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Timestamp>,
}

/// Response of `GET list-service-accounts?user=…` (encrypted). MinIO before 2023 sent the
/// access keys only (`"accounts": ["…"]`); current madmin reads objects, which is what we
/// write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListServiceAccountsResp {
    #[serde(default, deserialize_with = "nullable")]
    pub accounts: Vec<ServiceAccountInfo>,
}

/// madmin's `validateSAName`. Its pattern `^[a-zA-Z][a-zA-Z0-9_-]*` is not anchored at the
/// end, so it only checks the first character; we accept what madmin and MinIO accept.
fn validate_name(name: Option<&str>) -> Result<(), RequestError> {
    match name {
        None | Some("") => Ok(()),
        Some(n) if n.len() <= 32 && n.starts_with(|c: char| c.is_ascii_alphabetic()) => Ok(()),
        Some(_) => Err(RequestError::ServiceAccountName),
    }
}

/// madmin's `validateSADescription`.
fn validate_description(description: Option<&str>) -> Result<(), RequestError> {
    match description {
        Some(d) if d.len() > 256 => Err(RequestError::ServiceAccountDescription),
        _ => Ok(()),
    }
}
