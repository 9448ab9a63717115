//! Bucket quotas: set-bucket-quota, get-bucket-quota (enforced by `crate::quota`).

use super::{AdminError, Call, Reply};
use http::StatusCode;
use strata_admin::types::{BucketQuota, QuotaType};
use strata_s3::access::Quota;

pub(super) fn handle(call: &Call<'_>, path: &str) -> Result<Reply, AdminError> {
    let bucket = call.arg("bucket");
    let exists = call.engine.bucket_exists(bucket).map_err(|e| {
        AdminError::new(StatusCode::BAD_REQUEST, "InvalidBucketName", e.to_string())
    })?;
    if !exists {
        return Err(AdminError::new(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            format!("The specified bucket does not exist: {bucket}"),
        ));
    }
    match path {
        "set-bucket-quota" => {
            let q: BucketQuota = call.parse()?;
            if q.quota_type.is_some_and(|t| t != QuotaType::Hard) {
                return Err(AdminError::bad("only hard quotas exist"));
            }
            if q.rate != 0 || q.requests != 0 {
                return Err(AdminError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotImplemented",
                    "request-rate quotas are not implemented",
                ));
            }
            if call.usage.disabled() {
                return Err(AdminError::bad(
                    "quotas are enforced against the bucket usage counter, which is off \
                     (--usage-interval off)",
                ));
            }
            // 0 clears the quota (minio-py's bucket_quota_clear).
            let quota = (q.limit() > 0).then(|| Quota { bytes: q.limit() });
            call.access
                .set_quota(call.engine, bucket, quota)
                .map_err(|e| {
                    AdminError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "XMinioServerNotInitialized",
                        e.to_string(),
                    )
                })?;
            Ok(Reply::empty())
        }
        "get-bucket-quota" => {
            let Some(q) = call.access.get(bucket).quota else {
                return Err(AdminError::new(
                    StatusCode::NOT_FOUND,
                    "XMinioAdminNoSuchQuotaConfiguration",
                    format!("The quota configuration does not exist: {bucket}"),
                ));
            };
            Reply::json(&BucketQuota {
                quota: Some(q.bytes),
                size: q.bytes,
                quota_type: Some(QuotaType::Hard),
                ..Default::default()
            })
        }
        _ => Err(super::not_implemented(path)),
    }
}
