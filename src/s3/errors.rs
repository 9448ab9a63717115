//! Engine errors as S3 error documents (code and HTTP status).

use s3s::{S3Error, S3ErrorCode};
use std::io;
use strata_engine::EngineError;

pub fn to_s3(e: EngineError) -> S3Error {
    use S3ErrorCode as C;
    let msg = e.to_string();
    let (code, status) = match &e {
        EngineError::InvalidBucketName(_) => (C::InvalidBucketName, None),
        EngineError::KeyTooLong { .. } => (C::KeyTooLongError, None),
        EngineError::InvalidObjectName(_) => (C::InvalidArgument, None),
        EngineError::NoSuchBucket(_) => (C::NoSuchBucket, None),
        EngineError::BucketExists(_) => (C::BucketAlreadyOwnedByYou, None),
        EngineError::BucketNotEmpty(_) => (C::BucketNotEmpty, None),
        EngineError::NoSuchKey { .. } => (C::NoSuchKey, None),
        EngineError::NoSuchUpload(_) => (C::NoSuchUpload, None),
        EngineError::InvalidPart(_) => (C::InvalidPart, None),
        EngineError::InvalidPartOrder => (C::InvalidPartOrder, None),
        EngineError::EntityTooSmall { .. } => (C::EntityTooSmall, None),
        EngineError::InvalidRange { .. } => (C::InvalidRange, None),
        EngineError::BadDigest | EngineError::ChecksumMismatch(_) => (C::BadDigest, None),
        EngineError::PreconditionFailed(_) => (C::PreconditionFailed, None),
        // Out of space: retrying will not help (SDKs retry a 503, not a 507). MinIO's code.
        EngineError::WriteQuorum { full: true, .. } => {
            let mut err = S3Error::with_message(
                C::Custom("XMinioStorageFull".into()),
                "Storage backend has reached its minimum free drive threshold. Please delete a few objects to proceed.",
            );
            err.set_status_code(http::StatusCode::INSUFFICIENT_STORAGE);
            return err;
        }
        // Clients retry 503s: a lost quorum may come back when drives do.
        EngineError::WriteQuorum { .. } | EngineError::ReadQuorum { .. } => (
            C::ServiceUnavailable,
            Some(http::StatusCode::SERVICE_UNAVAILABLE),
        ),
        EngineError::Body(io) => return body_error(io),
        // The details (drive paths among them) go to the log, not to the client.
        EngineError::Format(_)
        | EngineError::Drive { .. }
        | EngineError::Codec(_)
        | EngineError::SystemDocument { .. } => {
            tracing::warn!(error = %msg, "internal error");
            return S3Error::with_message(
                C::InternalError,
                "We encountered an internal error. Please try again.",
            );
        }
    };
    let mut err = S3Error::with_message(code, msg);
    if let Some(s) = status {
        err.set_status_code(s);
    }
    err
}

/// Errors that ended a request body: the protocol layer's own (payload hash, chunk signature,
/// truncation) keep their S3 meaning.
pub fn body_error(e: &io::Error) -> S3Error {
    let text = e.to_string();
    if text.contains("Sha256Mismatch") {
        let mut err = S3Error::with_message(
            S3ErrorCode::Custom("XAmzContentSHA256Mismatch".into()),
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        );
        err.set_status_code(http::StatusCode::BAD_REQUEST);
        err
    } else if text.contains("SignatureMismatch") {
        S3Error::with_message(
            S3ErrorCode::SignatureDoesNotMatch,
            "chunk signature mismatch",
        )
    } else if text.contains("Incomplete") || text.contains("LengthMismatch") {
        S3Error::with_message(
            S3ErrorCode::IncompleteBody,
            "the request body ended early or ran long",
        )
    } else {
        S3Error::with_message(
            S3ErrorCode::IncompleteBody,
            format!("reading the request body: {text}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_deployment_is_507_and_other_lost_quorums_503() {
        let quorum = |full| EngineError::WriteQuorum {
            ok: 1,
            needed: 3,
            failures: "drive a: no space left".into(),
            full,
        };
        let e = to_s3(quorum(true));
        assert_eq!(e.code().as_str(), "XMinioStorageFull");
        assert_eq!(
            e.status_code(),
            Some(http::StatusCode::INSUFFICIENT_STORAGE)
        );
        let e = to_s3(quorum(false));
        assert_eq!(e.code(), &S3ErrorCode::ServiceUnavailable);
        assert_eq!(e.status_code(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    }

    #[test]
    fn internal_errors_do_not_show_host_paths() {
        let e = EngineError::Drive {
            path: "/var/lib/strata/disk3".into(),
            source: io::Error::other("I/O error"),
        };
        let s3 = to_s3(e);
        assert_eq!(s3.code(), &S3ErrorCode::InternalError);
        let text = s3.message().unwrap_or_default();
        assert!(!text.contains("/var/lib"), "{text}");
    }
}
