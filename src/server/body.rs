//! Request bodies the server's own routes read whole (the admin API's, STS's): bounded, and
//! checked against the SHA-256 the signature covers when it names one (`x-amz-content-sha256`
//! in hex) before anything reads them as anything.

use s3s::{Body, S3Request};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than allowed, or cut off.
    #[error("request body: {0}")]
    Read(String),
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    Sha256Mismatch,
}

/// The whole body, at most `max` bytes, checked against the SHA-256 the signature covers.
pub async fn read_signed(req: &mut S3Request<Body>, max: usize) -> Result<Vec<u8>, BodyError> {
    let bytes = req
        .input
        .store_all_limited(max)
        .await
        .map_err(|e| BodyError::Read(e.to_string()))?;
    if let Some(declared) = declared_sha256(&req.headers) {
        let got: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !got.eq_ignore_ascii_case(declared) {
            return Err(BodyError::Sha256Mismatch);
        }
    }
    Ok(bytes.to_vec())
}

/// The body's SHA-256 as the request declares it for its signature, when it is a digest
/// (not `UNSIGNED-PAYLOAD` nor a streaming mode).
pub fn declared_sha256(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
}
