//! Bucket quotas: a write that would take a bucket past its hard quota is refused before any
//! of its body is read (PutObject, UploadPart, CopyObject, UploadPartCopy). What a bucket holds
//! is the server's to know ([`Quotas`]); this layer asks before each write.

use s3s::{S3Error, S3ErrorCode};

/// Why a write is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuotaRefusal {
    #[error(
        "Bucket quota exceeded: {used} bytes used and {incoming} more asked of a quota of {quota}"
    )]
    Exceeded {
        quota: u64,
        used: u64,
        incoming: u64,
    },
    /// A quota'd bucket takes only writes whose length is declared.
    #[error("A bucket with a quota takes only uploads of a declared length")]
    UnknownLength,
    /// The bucket's usage has not been counted yet (just after start).
    #[error("The bucket's usage is being counted; try again shortly")]
    NotCounted,
}

/// What decides whether a bucket may take more bytes.
pub trait Quotas: Send + Sync + 'static {
    /// Admits (and reserves) `incoming` bytes for `bucket`; `None` when the length is not
    /// known before the body is read.
    fn admit(&self, bucket: &str, incoming: Option<u64>) -> Result<(), QuotaRefusal>;
}

/// No bucket has a quota.
pub struct NoQuotas;

impl Quotas for NoQuotas {
    fn admit(&self, _: &str, _: Option<u64>) -> Result<(), QuotaRefusal> {
        Ok(())
    }
}

/// The S3 error of a refusal, as MinIO answers it.
pub fn refused(r: &QuotaRefusal) -> S3Error {
    let (code, status) = match r {
        QuotaRefusal::Exceeded { .. } => (
            S3ErrorCode::Custom("XMinioAdminBucketQuotaExceeded".into()),
            http::StatusCode::BAD_REQUEST,
        ),
        QuotaRefusal::UnknownLength => (
            S3ErrorCode::MissingContentLength,
            http::StatusCode::LENGTH_REQUIRED,
        ),
        QuotaRefusal::NotCounted => (
            S3ErrorCode::ServiceUnavailable,
            http::StatusCode::SERVICE_UNAVAILABLE,
        ),
    };
    let mut e = S3Error::with_message(code, r.to_string());
    e.set_status_code(status);
    e
}
