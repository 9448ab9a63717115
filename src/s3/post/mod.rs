//! Browser POST uploads (`multipart/form-data`), where s3s's handling differs from S3's. s3s
//! checks the signature, the policy and the form before any of our code runs, so the front
//! reads the form's fields first (never the file) and:
//!
//! - substitutes `${filename}` in every field with the file's name (its last path element);
//! - checks the policy as S3 does: a failed condition is 403 AccessDenied (s3s: 400), the
//!   expiration must be ISO 8601 (s3s takes any RFC 3339 form); fields asking for features that
//!   are not there (encryption, object lock, ACL grants, canned ACLs not kept) are
//!   NotImplemented, as their headers are; the `acl` field is the upload's canned ACL;
//! - takes checksum fields (`x-amz-checksum-*`, which minio-go sends without a policy
//!   condition and s3s refuses as fields the policy does not name) out of the form and hands
//!   them to `post_object`, which verifies and stores them as PutObject does.
//!
//! A refusal is put in the request's extensions and answered by `PostRoute` once s3s has
//! checked the signature (a custom route runs after it and before the POST handling), so an
//! unsigned form still gets the signature's answer first.

mod form;
mod policy;

use crate::gate;
use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, BodyStream, StreamBody};
use policy::Refusal;
use s3s::dto::{ChecksumAlgorithm, ObjectCannedACL, PutObjectInput};
use s3s::route::S3Route;
use s3s::{S3Error, S3ErrorCode, S3Request, S3Response, S3Result};

/// Fields read before the file beyond this are refused (S3's MaxPostPreDataLengthExceeded).
const MAX_PRE_DATA: usize = 1 << 20;

/// What the front learned from a form, for `PostRoute` and `post_object`.
#[derive(Clone, Debug, Default)]
pub struct PostForm {
    refusal: Option<Refusal>,
    /// Checksum fields taken out of the form (name lower case, value).
    checksums: Vec<(String, String)>,
    /// The form's `acl` field (s3s reads only an `x-amz-acl` field).
    acl: Option<String>,
}

impl PostForm {
    /// The canned ACL the form asks for (its `acl` or `x-amz-acl` field): what a policy's
    /// `s3:x-amz-acl` condition reads for this upload.
    pub fn acl(&self) -> Option<&str> {
        self.acl.as_deref()
    }

    /// The checksum fields and the canned ACL into the upload's input (as their headers would
    /// be).
    pub fn apply(&self, input: &mut PutObjectInput) {
        if let (None, Some(acl)) = (&input.acl, &self.acl) {
            input.acl = Some(ObjectCannedACL::from(acl.clone()));
        }
        for (name, value) in &self.checksums {
            let v = Some(value.clone());
            match name.as_str() {
                "x-amz-checksum-crc32" => input.checksum_crc32 = v,
                "x-amz-checksum-crc32c" => input.checksum_crc32c = v,
                "x-amz-checksum-sha1" => input.checksum_sha1 = v,
                "x-amz-checksum-sha256" => input.checksum_sha256 = v,
                "x-amz-checksum-crc64nvme" => input.checksum_crc64nvme = v,
                _ => input.checksum_algorithm = Some(ChecksumAlgorithm::from(value.clone())),
            }
        }
    }
}

/// Reads a POST form's fields and puts back a body s3s parses as before (fields changed as
/// described above, then the untouched file part and the rest of the body). Anything but a
/// form upload to `bucket` passes unchanged.
pub async fn prepare(req: Request<s3s::Body>, bucket: Option<&str>) -> Request<s3s::Body> {
    let boundary = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(form::boundary);
    let (Some(boundary), Some(bucket), true) = (boundary, bucket, req.method() == Method::POST)
    else {
        return req;
    };
    let (mut parts, mut body) = req.into_parts();
    let (read, fields, failed) = read_fields(&mut body, &boundary).await;
    let head = match fields {
        Fields::TooLarge => {
            // Refused once the signature is checked.
            parts.extensions.insert(PostForm {
                refusal: Some(Refusal::new(
                    S3ErrorCode::MaxPostPreDataLengthExceededError,
                    "Your POST request fields preceding the upload file were too large.",
                )),
                ..Default::default()
            });
            read
        }
        Fields::NotAForm => read,
        Fields::Form(f) => {
            let (fields, pf) = decide(&f, bucket);
            let mut head = form::write(&fields, &boundary);
            head.extend_from_slice(&read[f.file_at..]);
            parts.extensions.insert(pf);
            adjust_length(&mut parts.headers, read.len(), head.len());
            head
        }
    };
    Request::from_parts(parts, rebuilt(Bytes::from(head), body, failed))
}

/// What the front of a form body held.
enum Fields {
    Form(form::Form),
    /// More than `MAX_PRE_DATA` before the file.
    TooLarge,
    /// Not a form s3s could parse either (it refuses it), or a body that ended or failed.
    NotAForm,
}

/// Reads `body` up to the file part's headers: the bytes read, what they hold, and the error
/// that stopped the reading (passed on to s3s with the rest of the body).
async fn read_fields(
    body: &mut s3s::Body,
    boundary: &str,
) -> (Vec<u8>, Fields, Option<s3s::StdError>) {
    let mut read = Vec::new();
    loop {
        match form::scan(&read, boundary) {
            form::Scan::More if read.len() <= MAX_PRE_DATA => {}
            form::Scan::Form(f) if f.file_at <= MAX_PRE_DATA => {
                return (read, Fields::Form(f), None)
            }
            form::Scan::More | form::Scan::Form(_) => return (read, Fields::TooLarge, None),
            form::Scan::Malformed => return (read, Fields::NotAForm, None),
        }
        match body.frame().await {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(d) => read.extend_from_slice(&d),
                Err(_) => return (read, Fields::NotAForm, None),
            },
            Some(Err(e)) => return (read, Fields::NotAForm, Some(e)),
            None => return (read, Fields::NotAForm, None),
        }
    }
}

/// The fields to pass on to s3s, and what the form asks of us.
fn decide(f: &form::Form, bucket: &str) -> (Vec<(String, String)>, PostForm) {
    let name = f
        .filename
        .as_deref()
        .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n))
        .unwrap_or_default();
    let mut fields: Vec<(String, String)> = f
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("${filename}", name)))
        .collect();
    let lower: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let policy = lower
        .iter()
        .find(|(k, _)| k == "policy")
        .map(|(_, v)| v.clone());
    let mut pf = PostForm {
        refusal: features(&lower).err(),
        checksums: Vec::new(),
        acl: lower
            .iter()
            .find(|(k, _)| k == "acl" || k == "x-amz-acl")
            .map(|(_, v)| v.clone()),
    };
    if let (None, Some(p)) = (&pf.refusal, &policy) {
        pf.refusal = policy::check(p, &lower, bucket).err();
    }
    // Checksum fields the policy does not name leave the form (s3s would refuse them); the
    // algorithm field always does (s3s does not read it).
    fields.retain(|(k, v)| {
        let k = k.to_ascii_lowercase();
        let checksum = k.starts_with("x-amz-checksum-");
        let named = policy.as_deref().is_some_and(|p| policy::covers(p, &k));
        let out = checksum && (k == "x-amz-checksum-algorithm" || !named);
        if out {
            pf.checksums.push((k, v.clone()));
        }
        !out
    });
    (fields, pf)
}

/// Form fields that ask for what is not there, refused as their headers are.
fn features(fields: &[(String, String)]) -> Result<(), Refusal> {
    let mut headers = HeaderMap::new();
    for (k, v) in fields {
        // A form's canned ACL is its `acl` field.
        let k = if k == "acl" { "x-amz-acl" } else { k.as_str() };
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(k), HeaderValue::try_from(v.as_str())) {
            headers.append(n, v);
        }
    }
    gate::refused_features(&headers).map_err(|e| {
        Refusal::new(
            e.code().clone(),
            e.message().unwrap_or_default().to_string(),
        )
    })
}

/// Content-Length of the rebuilt body: the fields' new length instead of the read one.
fn adjust_length(headers: &mut HeaderMap, consumed: usize, written: usize) {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared {
        let n = n.saturating_sub(consumed as u64) + written as u64;
        headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(n));
    }
}

/// `head` followed by what is left of `rest` (and the error that ended the reading, if any).
fn rebuilt(head: Bytes, rest: s3s::Body, failed: Option<s3s::StdError>) -> s3s::Body {
    let first = futures_util::stream::once(async move { Ok(http_body::Frame::data(head)) });
    let error = futures_util::stream::iter(failed.map(Err));
    let tail: futures_util::stream::BoxStream<
        'static,
        Result<http_body::Frame<Bytes>, s3s::StdError>,
    > = futures_util::StreamExt::boxed(BodyStream::new(rest));
    s3s::Body::http_body_unsync(StreamBody::new(first.chain(error).chain(tail)))
}

/// Answers the refusals `prepare` decided, after s3s checked the form's signature.
pub struct PostRoute;

#[async_trait::async_trait]
impl S3Route for PostRoute {
    fn is_match(
        &self,
        _method: &Method,
        _uri: &Uri,
        _headers: &HeaderMap,
        extensions: &mut http::Extensions,
    ) -> bool {
        extensions
            .get::<PostForm>()
            .is_some_and(|f| f.refusal.is_some())
    }

    async fn call(&self, req: S3Request<s3s::Body>) -> S3Result<S3Response<s3s::Body>> {
        let refusal = req
            .extensions
            .get::<PostForm>()
            .and_then(|f| f.refusal.clone())
            .unwrap_or_else(|| Refusal::new(S3ErrorCode::InternalError, "no refusal"));
        Err(S3Error::with_message(refusal.code, refusal.message))
    }
}
