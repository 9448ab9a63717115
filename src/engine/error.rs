use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid bucket name {0}")]
    InvalidBucketName(String),
    #[error("invalid object name: {0}")]
    InvalidObjectName(String),
    #[error("object key is {len} bytes long, more than {max}")]
    KeyTooLong { len: usize, max: usize },
    #[error("bucket {0} does not exist")]
    NoSuchBucket(String),
    #[error("bucket {0} already exists")]
    BucketExists(String),
    #[error("bucket {0} is not empty")]
    BucketNotEmpty(String),
    #[error("object {bucket}/{key} does not exist")]
    NoSuchKey { bucket: String, key: String },
    #[error("multipart upload {0} does not exist")]
    NoSuchUpload(String),
    #[error("invalid part: {0}")]
    InvalidPart(String),
    #[error("parts must be listed in ascending order")]
    InvalidPartOrder,
    #[error("part {part} is {size} bytes, smaller than the {min} bytes allowed for all but the last part")]
    EntityTooSmall { part: u32, size: u64, min: u64 },
    #[error("range {start}-{end} is outside an object of {size} bytes")]
    InvalidRange { start: u64, end: u64, size: u64 },
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("content MD5 does not match the data received")]
    BadDigest,
    #[error("{0}")]
    ChecksumMismatch(String),
    #[error("write quorum not reached ({ok} of {needed} drives): {failures}")]
    WriteQuorum {
        ok: usize,
        needed: usize,
        failures: String,
        /// Drives out of space are what kept the quorum away (without them it was reached):
        /// the deployment is full, which retrying will not change.
        full: bool,
    },
    #[error("read quorum not reached for {what}: {detail}")]
    ReadQuorum { what: String, detail: String },
    #[error("deployment: {0}")]
    Format(String),
    #[error("drive {path}: {source}")]
    Drive {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading the request body: {0}")]
    Body(std::io::Error),
    #[error("erasure codec: {0}")]
    Codec(String),
    /// A system document that cannot be read whole (too large, or its data broke off).
    #[error("system document {key}: {detail}")]
    SystemDocument { key: String, detail: String },
}

impl EngineError {
    pub fn drive(path: impl Into<PathBuf>, source: std::io::Error) -> EngineError {
        EngineError::Drive {
            path: path.into(),
            source,
        }
    }

    pub fn no_such_key(bucket: &str, key: &str) -> EngineError {
        EngineError::NoSuchKey {
            bucket: bucket.to_string(),
            key: key.to_string(),
        }
    }
}
