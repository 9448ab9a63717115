//! The error body of every admin call.

use serde::{Deserialize, Serialize};

/// What MinIO writes on an admin error (`writeErrorResponseJSON`, its `APIErrorResponse`),
/// with a 4xx/5xx status; madmin-go reads `Code` and `Message`, minio-py shows the body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorResponse {
    /// e.g. `XMinioAdminNoSuchUser`, `AccessDenied`, `XMinioAdminConfigBadJSON`.
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bucket_name: String,
    /// The request path.
    #[serde(default)]
    pub resource: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    #[serde(rename = "RequestId", default)]
    pub request_id: String,
    #[serde(rename = "HostId", default)]
    pub host_id: String,
}
