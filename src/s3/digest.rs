//! Content-MD5 and `x-amz-checksum-*` of request documents: the bodies s3s reads and parses
//! itself (DeleteObjects, CompleteMultipartUpload, tagging, ACLs, bucket configuration), whose
//! digests it checks nowhere. A DeleteObjects whose key list was damaged on the way must not
//! delete what it now names: S3 answers BadDigest. The front reads such a body (declared, at
//! most [`MAX_DOCUMENT`]) before s3s does, compares, and leaves the outcome in the request's
//! extensions; the gate answers a mismatch once the signature is checked, as S3 does.
//! Object data (PutObject, UploadPart) is checked while it streams to the drives (`upload.rs`);
//! CompleteMultipartUpload's `x-amz-checksum-*` is the whole object's, checked by the
//! completion (`mpu_checksum.rs`): only its Content-MD5 is the document's.

use crate::checksum::{self, ALGORITHMS};
use crate::gate::MAX_DOCUMENT;
use http::{HeaderMap, Method, Request, Uri};
use s3s::crypto::{Checksum, Md5};
use s3s::{s3_error, S3Error};

/// A document body whose digest did not match, or that could not be read to compare it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocumentDigest {
    /// `Content-MD5`, or the upper-case name of the checksum that did not match.
    Mismatch(String),
    Unreadable,
}

impl DocumentDigest {
    pub fn to_error(&self) -> S3Error {
        match self {
            DocumentDigest::Mismatch(h) if h == "Content-MD5" => s3_error!(
                BadDigest,
                "The Content-MD5 you specified did not match what we received."
            ),
            DocumentDigest::Mismatch(alg) => s3_error!(
                BadDigest,
                "The {alg} you specified did not match the calculated checksum."
            ),
            DocumentDigest::Unreadable => {
                s3_error!(IncompleteBody, "the request body could not be read")
            }
        }
    }
}

/// Query keys of the sub-resources whose PUT carries a document, not object data.
const DOCUMENT_RESOURCES: [&str; 22] = [
    "tagging",
    "acl",
    "policy",
    "publicAccessBlock",
    "versioning",
    "lifecycle",
    "cors",
    "encryption",
    "object-lock",
    "retention",
    "legal-hold",
    "notification",
    "website",
    "logging",
    "replication",
    "requestPayment",
    "ownershipControls",
    "accelerate",
    "intelligent-tiering",
    "analytics",
    "metrics",
    "inventory",
];

/// Reads and checks the body of a document request that declares a digest; any other request
/// is passed on untouched. `vhost`: the bucket is named by the Host header.
pub async fn check(req: Request<s3s::Body>, vhost: bool) -> Request<s3s::Body> {
    if !is_document(req.method(), req.uri(), vhost) {
        return req;
    }
    let checksums = !completes_upload(req.method(), req.uri());
    if !declares_digest(req.headers(), checksums) {
        return req;
    }
    let Some(len) = declared_length(req.headers()) else {
        return req;
    };
    if len > MAX_DOCUMENT || framed(req.headers()) {
        return req; // refused by its size in the gate, or an aws-chunked body s3s decodes
    }
    let (mut parts, mut body) = req.into_parts();
    let (body, outcome) = match body.store_all_limited(MAX_DOCUMENT as usize).await {
        Ok(bytes) => {
            let outcome = compare(&parts.headers, &bytes, checksums);
            (s3s::Body::from(bytes), outcome)
        }
        Err(_) => (s3s::Body::empty(), Err(DocumentDigest::Unreadable)),
    };
    if let Err(e) = outcome {
        parts.extensions.insert(e);
    }
    Request::from_parts(parts, body)
}

/// Whether the request's body is a document: POST `?delete` or `?uploadId` (complete), a PUT
/// of a sub-resource, or a PUT of a bucket (CreateBucket's configuration).
fn is_document(method: &Method, uri: &Uri, vhost: bool) -> bool {
    let keys: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .map(|p| p.split_once('=').map_or(p, |(k, _)| k))
        .collect();
    let has = |k: &str| keys.contains(&k);
    if method == Method::POST {
        return has("delete") || has("uploadId");
    }
    if method != Method::PUT {
        return false;
    }
    if DOCUMENT_RESOURCES.iter().any(|r| has(r)) {
        return true;
    }
    let path = uri.path().trim_start_matches('/');
    if vhost {
        path.is_empty()
    } else {
        !path.is_empty() && !path.trim_end_matches('/').contains('/')
    }
}

/// CompleteMultipartUpload: POST with `uploadId`.
fn completes_upload(method: &Method, uri: &Uri) -> bool {
    method == Method::POST
        && uri
            .query()
            .unwrap_or("")
            .split('&')
            .any(|p| p.split_once('=').map_or(p, |(k, _)| k) == "uploadId")
}

fn declares_digest(headers: &HeaderMap, checksums: bool) -> bool {
    headers.contains_key("content-md5")
        || (checksums
            && ALGORITHMS
                .iter()
                .any(|a| headers.contains_key(format!("x-amz-checksum-{a}").as_str())))
}

fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// An aws-chunked body: its digests are the chunks' business (s3s decodes them).
fn framed(headers: &HeaderMap) -> bool {
    let streaming = headers
        .get("x-amz-content-sha256")
        .is_some_and(|v| v.as_bytes().starts_with(b"STREAMING-"));
    let chunked = headers
        .get_all(http::header::CONTENT_ENCODING)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.contains("aws-chunked")));
    streaming || chunked
}

/// Every digest the headers declare against the body (the checksums too when they are the
/// body's). A malformed Content-MD5 is the gate's InvalidDigest; a malformed checksum cannot
/// equal the computed one.
fn compare(headers: &HeaderMap, body: &[u8], checksums: bool) -> Result<(), DocumentDigest> {
    for v in headers.get_all("content-md5") {
        let Ok(claimed) = base64_simd::STANDARD.decode_to_vec(v.as_bytes().trim_ascii()) else {
            continue;
        };
        if claimed.len() == 16 && claimed != Md5::checksum(body) {
            return Err(DocumentDigest::Mismatch("Content-MD5".into()));
        }
    }
    for alg in ALGORITHMS.iter().filter(|_| checksums) {
        let Some(claimed) = headers.get(format!("x-amz-checksum-{alg}").as_str()) else {
            continue;
        };
        let computed = checksum::digest(alg, body);
        if computed.as_deref().map(str::as_bytes) != Some(claimed.as_bytes().trim_ascii()) {
            return Err(DocumentDigest::Mismatch(alg.to_ascii_uppercase()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(method: Method, uri: &str) -> bool {
        is_document(&method, &uri.parse().unwrap(), false)
    }

    #[test]
    fn documents_are_told_from_object_data() {
        assert!(doc(Method::POST, "/b?delete"));
        assert!(doc(Method::POST, "/b/k?uploadId=1"));
        assert!(doc(Method::PUT, "/b/k?tagging"));
        assert!(doc(Method::PUT, "/b?policy"));
        assert!(doc(Method::PUT, "/b"));
        assert!(doc(Method::PUT, "/b/"));
        assert!(!doc(Method::PUT, "/b/k"));
        assert!(!doc(Method::PUT, "/b/k?partNumber=1&uploadId=1"));
        assert!(!doc(Method::POST, "/b/k?uploads"));
        assert!(!doc(Method::POST, "/b"));
        assert!(!doc(Method::GET, "/b?delete"));
        let vhost = |uri: &str| is_document(&Method::PUT, &uri.parse().unwrap(), true);
        assert!(vhost("/"));
        assert!(!vhost("/k"));
    }

    #[test]
    fn every_declared_digest_is_compared() {
        let body = b"<Delete><Object><Key>victim</Key></Object></Delete>";
        let md5 = |b: &[u8]| base64_simd::STANDARD.encode_to_string(Md5::checksum(b));
        let mut h = HeaderMap::new();
        h.insert("content-md5", md5(body).parse().unwrap());
        assert!(compare(&h, body, true).is_ok());
        h.insert("content-md5", md5(b"something else").parse().unwrap());
        let err = compare(&h, body, true).unwrap_err().to_error();
        assert_eq!(err.code(), &s3s::S3ErrorCode::BadDigest);

        let mut h = HeaderMap::new();
        let crc = checksum::digest("crc32", body).unwrap();
        h.insert("x-amz-checksum-crc32", crc.parse().unwrap());
        assert!(compare(&h, body, true).is_ok());
        h.insert("x-amz-checksum-crc32", "AAAAAA==".parse().unwrap());
        assert_eq!(
            compare(&h, body, true).unwrap_err(),
            DocumentDigest::Mismatch("CRC32".into())
        );
        // CompleteMultipartUpload's checksums are the object's, not its document's.
        assert!(compare(&h, body, false).is_ok());
    }
}
