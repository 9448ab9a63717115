//! Request bodies the server's own routes read whole (the admin API's, STS's): bounded, and
//! checked against the SHA-256 the signature covers before anything reads them as anything.
//! Why a read failed is told by the error's type, never its text.

use s3s::{Body, S3Request};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The route wants the body's hash signed and the request declares none
    /// (`UNSIGNED-PAYLOAD`, streaming, SigV2, presigned).
    #[error("the request body must be signed: x-amz-content-sha256 must be its SHA-256")]
    Unsigned,
    #[error("request bodies here are at most {0} bytes")]
    TooLarge(usize),
    #[error("The request body could not be read to its end")]
    Incomplete,
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    Sha256Mismatch,
}

/// Whether the route needs the body's hash in `x-amz-content-sha256`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hash {
    /// Required (the admin API: its calls are signed by S3 clients, which send it).
    Declared,
    /// Checked when declared (STS: botocore sends none, and s3s hashes an `sts`-scoped body
    /// into the signature itself; AssumeRoleWithWebIdentity is not signed at all). A header
    /// that is no digest is the action's to refuse.
    IfDeclared,
}

/// The whole body, at most `max` bytes, checked against the SHA-256 the request declares.
pub async fn read(req: &mut S3Request<Body>, max: usize, hash: Hash) -> Result<Vec<u8>, BodyError> {
    let declared = declared_sha256(&req.headers).map(str::to_string);
    if declared.is_none() && hash == Hash::Declared {
        return Err(BodyError::Unsigned);
    }
    let declared_len = req
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge(max));
    }
    // s3s checks the streamed body against the declared hash as it reads it.
    let bytes = req
        .input
        .store_all_limited(max)
        .await
        .map_err(|e| read_error(e.as_ref(), max, declared.is_some()))?;
    if let Some(declared) = declared {
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !got.eq_ignore_ascii_case(&declared) {
            return Err(BodyError::Sha256Mismatch);
        }
    }
    Ok(bytes.to_vec())
}

/// Whether the request is signed with SigV4 in its Authorization header (not presigned, not
/// SigV2): the only form whose signature covers a body's hash.
pub fn sigv4_in_header(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-HMAC-SHA256 "))
}

/// The body's SHA-256 as the request declares it for its signature, when it is a digest
/// (not `UNSIGNED-PAYLOAD` nor a streaming mode).
pub fn declared_sha256(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Why the body could not be read, by the error's type: the connection failed, the body was
/// longer than allowed, or — what remains when a digest was declared, since s3s then reads the
/// body through its hashing reader, whose error type is private — it was not what was signed.
fn read_error(e: &(dyn std::error::Error + 'static), max: usize, hashed: bool) -> BodyError {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<hyper::Error>() {
            return BodyError::Incomplete;
        }
        if err.is::<http_body_util::LengthLimitError>() {
            return BodyError::TooLarge(max);
        }
        cause = err.source();
    }
    if hashed {
        BodyError::Sha256Mismatch
    } else {
        BodyError::Incomplete
    }
}
