//! What the S3 front refuses before an operation runs: s3s's access hook, called once the
//! signature was verified and before the operation's input is parsed.
//!
//! - **Only signed bytes change a request.** A SigV4 request (Authorization header or presigned
//!   URL) whose `x-amz-*` headers are not all in its signed headers is refused, as S3 does: a
//!   presigned upload URL (which signs only `host`) must not become a CopyObject of another
//!   object through an added `x-amz-copy-source`, nor set metadata, tags or storage class.
//!   (SigV2 signs every `x-amz-*` header by construction.)
//! - **Presigned URLs live at most a week** (`X-Amz-Expires` ≤ 604800, S3's limit).
//! - **Bounded request documents**: the body of any operation but an object upload (an XML or
//!   JSON document) is refused above `MAX_DOCUMENT` before it is read.
//! - **Content-MD5 is 16 bytes of base64** whatever the operation; an empty one is
//!   InvalidDigest, not "no digest". A document whose body does not match its Content-MD5 or
//!   `x-amz-checksum-*` (compared by the front, `crate::digest`) is BadDigest.
//! - **No feature is accepted and ignored.** Server-side encryption, object lock, ACL grants
//!   and canned ACLs other than those `crate::acl` keeps, and versions other than `null`
//!   answer NotImplemented / NoSuchVersion instead of a 200 that would make a client believe
//!   it got them.
//!
//! - **The server's own names are reserved**: a bucket named `minio` is refused, as MinIO
//!   refuses it, since the health and metrics endpoints live under `/minio/`.
//!
//! The hook is also where the operation's name is known for every request the protocol layer
//! routes, implemented or not: it leaves it in the request's `OperationSlot` for the HTTP
//! front's metrics and logs; and where every operation is authorised (`crate::authz`): one
//! hook that knows the operation's name.

use crate::acl::Canned;
use crate::authz::{self, Authorizer, Grant, ObjectTags, PeerAddr, Permit, Refusal};
use crate::digest::DocumentDigest;
use http::{HeaderMap, Uri};
use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::CopySource;
use s3s::path::S3Path;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use strata_engine::{Engine, EngineError};
use strata_iam::ResourceKind;

/// Longest lifetime of a presigned URL, in seconds (S3's).
pub const MAX_PRESIGNED_EXPIRES: u64 = 7 * 24 * 3600;

/// Largest body of an operation other than an object upload: CompleteMultipartUpload of
/// 10,000 parts and DeleteObjects of 1,000 long keys fit with room to spare.
pub const MAX_DOCUMENT: u64 = 4 << 20;

/// Operations whose body is object data, not a document.
const UPLOADS: [&str; 3] = ["PutObject", "UploadPart", "PostObject"];

/// Operations whose handler checks the ACL of the object they read (left to it when no
/// policy allows the read).
const ACL_READS: [&str; 2] = ["GetObject", "HeadObject"];
/// Operations whose handler checks the ACL of the copy's source.
const ACL_SOURCE_READS: [&str; 2] = ["CopyObject", "UploadPartCopy"];

/// The bucket name the server's endpoints use (`/minio/health/…`, `/minio/v2/metrics/…`).
pub const RESERVED_BUCKET: &str = "minio";

/// Where the access hook leaves the name of the operation the protocol layer resolved
/// (`CreateBucket`, `PutBucketVersioning`, …); the HTTP front puts one in each request's
/// extensions and reads it once the response is there.
#[derive(Clone, Debug, Default)]
pub struct OperationSlot(Arc<OnceLock<String>>);

impl OperationSlot {
    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }

    /// Names the request's operation (the first name given stays): the access hook does for
    /// S3 operations, the server's own routes for theirs (e.g. `AssumeRole`).
    pub fn set(&self, op: &str) {
        let _ = self.0.set(op.to_string());
    }
}

/// Operations whose IAM question may read the addressed object's tags
/// (`s3:ExistingObjectTag/…`), and those that may read their copy source's.
const TAG_TARGETS: [&str; 8] = [
    "GetObject",
    "HeadObject",
    "GetObjectAttributes",
    "GetObjectAcl",
    "PutObjectAcl",
    "GetObjectTagging",
    "PutObjectTagging",
    "DeleteObjectTagging",
];
const TAG_SOURCES: [&str; 2] = ["CopyObject", "UploadPartCopy"];

/// The access hook: the refusals below, then the operation's authorisation.
pub struct Gate {
    authorizer: Arc<dyn Authorizer>,
    tags: Option<Arc<dyn ObjectTags>>,
}

impl Gate {
    pub fn new(authorizer: Arc<dyn Authorizer>) -> Gate {
        Gate {
            authorizer,
            tags: None,
        }
    }

    /// Where `s3:ExistingObjectTag/…` reads objects' tags; without it a policy reading that key
    /// finds none.
    pub fn with_object_tags(mut self, tags: Arc<dyn ObjectTags>) -> Gate {
        self.tags = Some(tags);
        self
    }
}

/// Objects' tags read from the engine.
pub struct EngineTags(pub Arc<Engine>);

impl ObjectTags for EngineTags {
    fn tags(&self, bucket: &str, key: &str) -> Option<BTreeMap<String, String>> {
        match self.0.head_object(bucket, key) {
            Ok(info) => Some(info.tags),
            Err(EngineError::NoSuchKey { .. } | EngineError::NoSuchBucket(_)) => {
                Some(BTreeMap::new())
            }
            Err(_) => None,
        }
    }
}

/// The tags of the object a request addresses and of its copy source, read when a policy
/// that applies asks for them.
#[derive(Default)]
struct Tagged {
    target: Option<BTreeMap<String, String>>,
    source: Option<BTreeMap<String, String>>,
}

#[async_trait::async_trait]
impl S3Access for Gate {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let op = cx.s3_op().name().to_string();
        if let Some(slot) = cx.extensions_mut().get::<OperationSlot>().cloned() {
            slot.set(&op);
        }
        if let S3Path::Bucket { bucket } = cx.s3_path() {
            reserved(&op, bucket)?;
        }
        check(&op, cx.uri(), cx.headers())?;
        let tagged = self.object_tags(cx).await?;
        let grant = self.authorize(cx, &tagged)?;
        if let Some(digest) = cx.extensions_mut().remove::<DocumentDigest>() {
            if !UPLOADS.contains(&op.as_str()) {
                return Err(digest.to_error());
            }
        }
        cx.extensions_mut().insert(grant);
        Ok(())
    }
}

impl Gate {
    /// Reads the tags of the object addressed and of a copy's source, each only when a policy
    /// that would judge the request reads `s3:ExistingObjectTag/…`.
    async fn object_tags(&self, cx: &S3AccessContext<'_>) -> S3Result<Tagged> {
        let mut out = Tagged::default();
        let Some(reader) = &self.tags else {
            return Ok(out);
        };
        let op = cx.s3_op().name();
        let who = cx.credentials().map(|c| c.access_key.as_str());
        let target = match cx.s3_path() {
            S3Path::Object { bucket, key } if TAG_TARGETS.contains(&op) => {
                Some((bucket.to_string(), key.to_string()))
            }
            _ => None,
        };
        let source = if TAG_SOURCES.contains(&op) {
            let header = cx.headers().get("x-amz-copy-source");
            let (b, k, _) = copy_source(header.and_then(|v| v.to_str().ok()).unwrap_or(""))?;
            Some((b, k))
        } else {
            None
        };
        for (slot, object) in [(&mut out.target, target), (&mut out.source, source)] {
            let Some((bucket, key)) = object else {
                continue;
            };
            if !self.authorizer.reads_object_tags(who, &bucket) {
                continue;
            }
            let reader = reader.clone();
            let tags = tokio::task::spawn_blocking(move || reader.tags(&bucket, &key))
                .await
                .ok()
                .flatten();
            // A policy reads them: judged without them, a Deny on a tag would not hold.
            let Some(tags) = tags else {
                let mut e = s3_error!(
                    ServiceUnavailable,
                    "the object's tags, which a policy reads, cannot be read now"
                );
                e.set_status_code(http::StatusCode::SERVICE_UNAVAILABLE);
                return Err(e);
            };
            *slot = Some(tags);
        }
        Ok(out)
    }

    /// Asks the authorizer what the operation needs (the target, and a copy's source); the
    /// grant stays with the request for handlers that ask per key.
    fn authorize(&self, cx: &mut S3AccessContext<'_>, tagged: &Tagged) -> S3Result<Grant> {
        let peer = cx.extensions_mut().get::<PeerAddr>().map(|p| p.0);
        // A browser POST's canned ACL is a form field, not a header.
        let form_acl = cx
            .extensions_mut()
            .get::<crate::post::PostForm>()
            .and_then(|f| f.acl().map(str::to_string));
        let op = cx.s3_op().name();
        let query = query_pairs(cx.uri());
        let headers = cx.headers();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut context = authz::context(op, &query, headers, peer, now);
        if let Some(acl) = form_acl {
            context.set(strata_iam::keys::ACL, acl);
        }
        let mut grant = Grant::new(
            self.authorizer.clone(),
            cx.credentials().map(|c| c.access_key.clone()),
            authz::session_token(&query, headers).map(str::to_string),
            context,
        );
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(&**bucket), None),
            S3Path::Object { bucket, key } => (Some(&**bucket), Some(&**key)),
        };
        let names_version = query.iter().any(|(k, _)| k == "versionId");
        let Some(needs) = strata_iam::s3_operation(op) else {
            // An operation AWS's table does not name: `s3:<Operation>` (only `s3:*` grants it).
            let kind = if key.is_some() {
                ResourceKind::Object
            } else {
                ResourceKind::Bucket
            };
            grant
                .require(&format!("s3:{op}"), kind, bucket, key)
                .map_err(refused)?;
            return Ok(grant);
        };
        // A signed ListBuckets without s3:ListAllMyBuckets lists the buckets its requester may
        // list (as MinIO does): its handler asks, bucket by bucket.
        if op == "ListBuckets" && grant.is_signed() {
            return Ok(grant);
        }
        // DeleteObjects names its keys in its body: its handler asks for each.
        if needs.target.resource != ResourceKind::EachObject {
            let action = needs.target.action_for(names_version);
            let asking = tagged
                .target
                .as_ref()
                .map_or_else(|| grant.clone(), |t| grant.with_object_tags(t));
            match asking
                .ask(action, needs.target.resource, bucket, key)
                .map_err(refused)?
            {
                Permit::Granted => {}
                Permit::IfObjectAcl(who) if ACL_READS.contains(&op) => grant.defer_target(who),
                Permit::IfObjectAcl(_) => return Err(refused(Refusal::AccessDenied)),
            }
        }
        if let Some(source) = needs.copy_source {
            let (b, k, version) = copy_source(
                headers
                    .get("x-amz-copy-source")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            )?;
            let asking = tagged
                .source
                .as_ref()
                .map_or_else(|| grant.clone(), |t| grant.with_object_tags(t));
            match asking
                .ask(
                    source.action_for(version),
                    ResourceKind::Object,
                    Some(&b),
                    Some(&k),
                )
                .map_err(refused)?
            {
                Permit::Granted => {}
                Permit::IfObjectAcl(who) if ACL_SOURCE_READS.contains(&op) => {
                    grant.defer_source(who)
                }
                Permit::IfObjectAcl(_) => return Err(refused(Refusal::AccessDenied)),
            }
        }
        Ok(grant)
    }
}

/// `x-amz-copy-source` as the handlers will read it — s3s's own parse, so that what is
/// authorised is what is copied (a percent-encoded bucket name, or a `?` before `versionId`,
/// must not name one object here and another there); whether it names a version.
fn copy_source(v: &str) -> S3Result<(String, String, bool)> {
    match CopySource::parse(v) {
        Ok(CopySource::Bucket {
            bucket,
            key,
            version_id,
        }) => Ok((bucket.into(), key.into(), version_id.is_some())),
        Ok(_) => Err(s3_error!(
            NotImplemented,
            "only bucket/key copy sources are supported"
        )),
        Err(_) => Err(s3_error!(
            InvalidArgument,
            "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
        )),
    }
}

/// The S3 error of a refusal.
pub fn refused(r: Refusal) -> S3Error {
    match r {
        Refusal::AccessDenied => s3_error!(AccessDenied, "Access Denied."),
        Refusal::InvalidToken => s3_error!(InvalidToken, "{r}"),
        Refusal::ExpiredToken => s3_error!(ExpiredToken, "{r}"),
    }
}

/// A bucket named as the server's endpoints cannot be created: its paths would be theirs.
fn reserved(op: &str, bucket: &str) -> S3Result<()> {
    if op == "CreateBucket" && bucket == RESERVED_BUCKET {
        return Err(s3_error!(
            InvalidBucketName,
            "The bucket name {RESERVED_BUCKET} is reserved: the server's health and metrics \
             endpoints live under /{RESERVED_BUCKET}/"
        ));
    }
    Ok(())
}

/// Every refusal of this module, for operation `op` with valid credentials.
pub fn check(op: &str, uri: &Uri, headers: &HeaderMap) -> S3Result<()> {
    let query = query_pairs(uri);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    sig_v2_fresh(headers, now)?;
    scoped_to_s3(&query, headers)?;
    signed_headers_cover(&query, headers)?;
    presigned_lifetime(&query)?;
    document_size(op, headers)?;
    content_md5(headers)?;
    features(&query, headers)
}

/// A Content-MD5 header must be the base64 of 16 bytes on any request. s3s reads an empty
/// header as no header, so an empty one would otherwise go unchecked (S3: InvalidDigest).
fn content_md5(headers: &HeaderMap) -> S3Result<()> {
    for v in headers.get_all("content-md5") {
        let decoded = base64_simd::STANDARD.decode_to_vec(v.as_bytes().trim_ascii());
        if !decoded.is_ok_and(|d| d.len() == 16) {
            return Err(s3_error!(
                InvalidDigest,
                "The Content-MD5 you specified is not valid."
            ));
        }
    }
    Ok(())
}

fn document_size(op: &str, headers: &HeaderMap) -> S3Result<()> {
    if UPLOADS.contains(&op) {
        return Ok(());
    }
    let declared = ["content-length", "x-amz-decoded-content-length"]
        .iter()
        .filter_map(|h| headers.get(*h)?.to_str().ok()?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    if declared > MAX_DOCUMENT {
        return Err(s3_error!(
            MaxMessageLengthExceeded,
            "Your request was too big: {declared} bytes, at most {MAX_DOCUMENT} for {op}"
        ));
    }
    Ok(())
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    authz::url_pairs(uri.query().unwrap_or(""))
}

fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The SigV4 signed-header names (lower case), from the Authorization header or the
/// presigned URL; `None` when the request is not SigV4.
fn signed_headers(query: &[(String, String)], headers: &HeaderMap) -> Option<Vec<String>> {
    let split = |list: &str| -> Vec<String> {
        list.split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .collect()
    };
    if let Some(auth) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let rest = auth.strip_prefix("AWS4-HMAC-SHA256")?;
        let list = rest
            .split(',')
            .filter_map(|f| f.trim().strip_prefix("SignedHeaders="))
            .next()?;
        return Some(split(list));
    }
    if param(query, "X-Amz-Algorithm") == Some("AWS4-HMAC-SHA256") {
        return Some(split(param(query, "X-Amz-SignedHeaders").unwrap_or("")));
    }
    None
}

/// A SigV4 credential scope (`AK/date/region/service/aws4_request`) must name the service
/// `s3` on an S3 request: s3s also takes `sts`, so that a signature made for STS would serve
/// here. (Any region is taken, as MinIO does without a configured region: clients of
/// self-hosted stores sign with `auto`, `garage`, …)
fn scoped_to_s3(query: &[(String, String)], headers: &HeaderMap) -> S3Result<()> {
    let from_header = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.strip_prefix("AWS4-HMAC-SHA256"))
        .and_then(|rest| {
            rest.split(',')
                .find_map(|f| f.trim().strip_prefix("Credential="))
        });
    let Some(credential) = from_header.or_else(|| param(query, "X-Amz-Credential")) else {
        return Ok(());
    };
    let service = credential.rsplit('/').nth(1);
    if service == Some("s3") {
        return Ok(());
    }
    Err(s3_error!(
        AuthorizationHeaderMalformed,
        "Credential should be scoped to correct service: 's3'."
    ))
}

fn signed_headers_cover(query: &[(String, String)], headers: &HeaderMap) -> S3Result<()> {
    let Some(signed) = signed_headers(query, headers) else {
        return Ok(());
    };
    // SigV4 requires `host` signed: otherwise a request signed for one bucket (named by Host
    // under --domain) could be sent, as it is, to another.
    if !signed.iter().any(|s| s == "host") {
        return Err(s3_error!(
            AccessDenied,
            "The host header must be among the signed headers."
        ));
    }
    let unsigned: Vec<&str> = headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("x-amz-") && !signed.iter().any(|s| s == k))
        .collect();
    if unsigned.is_empty() {
        return Ok(());
    }
    Err(s3_error!(
        AccessDenied,
        "There were headers present in the request which were not signed: {}",
        unsigned.join(", ")
    ))
}

/// How far a signed request's time may be from the server's (S3: 15 minutes).
const MAX_SKEW_SECS: i64 = 15 * 60;

/// A SigV2 `Authorization` header signs the request's time (`x-amz-date`, else `Date`), but
/// s3s compares neither with the clock: a captured request could be replayed for ever. S3
/// refuses it beyond 15 minutes (RequestTimeTooSkewed), as SigV4.
fn sig_v2_fresh(headers: &HeaderMap, now: i64) -> S3Result<()> {
    let v2 = headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS "));
    if !v2 {
        return Ok(());
    }
    let signed_at = headers
        .get("x-amz-date")
        .or_else(|| headers.get(http::header::DATE))
        .and_then(|v| v.to_str().ok())
        .and_then(|d| {
            // s3cmd writes the zone as `+0000`, others `UTC`: both are GMT.
            let d = d.trim();
            let gmt = d
                .strip_suffix("+0000")
                .or_else(|| d.strip_suffix("UTC"))
                .map(|rest| format!("{rest}GMT"));
            crate::convert::parse_http_date(gmt.as_deref().unwrap_or(d))
                .map(|t| crate::convert::unix_seconds(&t))
                .or_else(|| amz_date_seconds(d))
        });
    match signed_at {
        Some(t) if (now - t).abs() <= MAX_SKEW_SECS => Ok(()),
        Some(_) => Err(s3_error!(
            RequestTimeTooSkewed,
            "The difference between the request time and the server's time is too large."
        )),
        None => Err(s3_error!(
            AccessDenied,
            "AWS authentication requires a valid Date or x-amz-date header"
        )),
    }
}

/// `20261207T130000Z` as Unix seconds.
fn amz_date_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let month = time::Month::try_from(num(4..6)? as u8).ok()?;
    let date = time::Date::from_calendar_date(num(0..4)? as i32, month, num(6..8)? as u8).ok()?;
    let at =
        time::Time::from_hms(num(9..11)? as u8, num(11..13)? as u8, num(13..15)? as u8).ok()?;
    Some(
        time::PrimitiveDateTime::new(date, at)
            .assume_utc()
            .unix_timestamp(),
    )
}

fn presigned_lifetime(query: &[(String, String)]) -> S3Result<()> {
    let Some(expires) = param(query, "X-Amz-Expires") else {
        return Ok(());
    };
    match expires.parse::<u64>() {
        Ok(s) if s <= MAX_PRESIGNED_EXPIRES => Ok(()),
        _ => Err(S3Error::with_message(
            S3ErrorCode::AuthorizationQueryParametersError,
            format!(
                "X-Amz-Expires must be less than a week (in seconds) that is; \
                 {MAX_PRESIGNED_EXPIRES}"
            ),
        )),
    }
}

/// Features whose headers or parameters are refused rather than ignored.
fn features(query: &[(String, String)], headers: &HeaderMap) -> S3Result<()> {
    refused_features(headers)?;
    if param(query, "versionId").is_some_and(|v| v != "null") {
        return Err(s3_error!(
            NoSuchVersion,
            "The specified version does not exist (object versions are not kept yet)"
        ));
    }
    Ok(())
}

/// Headers (or the form fields of a POST upload, which carry the same names) asking for
/// features that are not there.
pub fn refused_features(headers: &HeaderMap) -> S3Result<()> {
    let names = || headers.keys().map(|k| k.as_str());
    if names().any(|h| {
        h.starts_with("x-amz-server-side-encryption")
            || h.starts_with("x-amz-copy-source-server-side-encryption")
    }) {
        return Err(s3_error!(
            NotImplemented,
            "Server-side encryption is not supported by this server"
        ));
    }
    let lock_enabled = headers
        .get("x-amz-bucket-object-lock-enabled")
        .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"false"));
    if lock_enabled || names().any(|h| h.starts_with("x-amz-object-lock-")) {
        return Err(s3_error!(
            NotImplemented,
            "Object lock is not supported by this server"
        ));
    }
    if let Some(acl) = headers.get("x-amz-acl") {
        let name = acl.to_str().unwrap_or("(not text)");
        Canned::parse(name).map_err(|e| e.to_s3())?;
    }
    if names().any(|h| h.starts_with("x-amz-grant-")) {
        return Err(s3_error!(
            NotImplemented,
            "ACL grants are not supported: use a canned ACL (x-amz-acl)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The gate names the object the handler copies, however the header is encoded.
    #[test]
    fn copy_sources_are_read_as_the_handlers_read_them() {
        let src = |v: &str| copy_source(v).map_err(|e| e.code().as_str().to_string());
        let named = |b: &str, k: &str, ver: bool| Ok((b.to_string(), k.to_string(), ver));
        assert_eq!(
            src("/secret/payroll.csv"),
            named("secret", "payroll.csv", false)
        );
        // An encoded bucket name is the bucket it decodes to, not another one.
        assert_eq!(
            src("/s%65cret/payroll.csv"),
            named("secret", "payroll.csv", false)
        );
        assert_eq!(
            src("secret/a%20b?versionId=null"),
            named("secret", "a b", true)
        );
        // A query other than versionId is refused (by s3s too), never read as another key.
        for bad in ["", "/nokey", "/Bad_Bucket/k", "/b/k?x=1"] {
            assert_eq!(src(bad), Err("InvalidArgument".to_string()), "{bad:?}");
        }
    }

    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn code(r: S3Result<()>) -> Option<String> {
        r.err().map(|e| e.code().as_str().to_string())
    }

    const AUTH: &str = "AWS4-HMAC-SHA256 Credential=a/20261202/us-east-1/s3/aws4_request, \
                        SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00";

    #[test]
    fn credentials_are_scoped_to_s3() {
        let uri: Uri = "/b/k".parse().unwrap();
        let with = |scope: &str| {
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential=a/20261202/{scope}/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00"
            );
            let h = headers(&[
                ("authorization", &auth),
                ("x-amz-date", "20261202T000000Z"),
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ]);
            code(check("GetObject", &uri, &h))
        };
        assert_eq!(with("us-east-1/s3"), None);
        assert_eq!(with("auto/s3"), None);
        assert_eq!(
            with("us-east-1/sts").as_deref(),
            Some("AuthorizationHeaderMalformed")
        );
    }

    #[test]
    fn host_must_be_signed() {
        let uri: Uri = "/b/k".parse().unwrap();
        let auth = "AWS4-HMAC-SHA256 Credential=a/20261202/us-east-1/s3/aws4_request, \
                    SignedHeaders=x-amz-content-sha256;x-amz-date, Signature=00";
        let h = headers(&[
            ("authorization", auth),
            ("x-amz-date", "20261202T000000Z"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ]);
        assert_eq!(
            code(check("GetObject", &uri, &h)).as_deref(),
            Some("AccessDenied")
        );
        let presigned: Uri = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20261202\
                              %2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261202T000000Z\
                              &X-Amz-Expires=300&X-Amz-SignedHeaders=&X-Amz-Signature=00"
            .parse()
            .unwrap();
        assert_eq!(
            code(check("GetObject", &presigned, &HeaderMap::new())).as_deref(),
            Some("AccessDenied")
        );
    }

    #[test]
    fn sig_v2_headers_are_refused_beyond_fifteen_minutes() {
        let now = 1_796_648_400; // 2026-12-07T13:00:00Z
        let v2 = |date: (&'static str, &str)| {
            code(sig_v2_fresh(
                &headers(&[("authorization", "AWS a:00"), date]),
                now,
            ))
        };
        assert_eq!(v2(("date", "Mon, 07 Dec 2026 13:10:00 GMT")), None);
        assert_eq!(v2(("x-amz-date", "Mon, 07 Dec 2026 12:50:00 GMT")), None);
        assert_eq!(v2(("x-amz-date", "20261207T130500Z")), None);
        assert_eq!(v2(("x-amz-date", "Mon, 07 Dec 2026 13:05:00 +0000")), None);
        for late in [
            ("date", "Mon, 01 Jan 1990 00:00:00 GMT"),
            ("date", "Mon, 07 Dec 2026 13:16:00 GMT"),
            ("x-amz-date", "20261206T130000Z"),
        ] {
            assert_eq!(
                v2(late).as_deref(),
                Some("RequestTimeTooSkewed"),
                "{late:?}"
            );
        }
        assert_eq!(v2(("date", "yesterday")).as_deref(), Some("AccessDenied"));
        // SigV4 has its own check (s3s's).
        let v4 = headers(&[
            ("authorization", AUTH),
            ("date", "Mon, 01 Jan 1990 00:00:00 GMT"),
        ]);
        assert_eq!(code(sig_v2_fresh(&v4, now)), None);
    }

    #[test]
    fn unsigned_amz_headers_are_refused() {
        let uri: Uri = "/b/k".parse().unwrap();
        let base = [
            ("authorization", AUTH),
            ("x-amz-date", "20261202T000000Z"),
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
        ];
        assert_eq!(code(check("GetObject", &uri, &headers(&base))), None);
        let mut extra = base.to_vec();
        extra.push(("x-amz-copy-source", "/private/payroll.csv"));
        assert_eq!(
            code(check("GetObject", &uri, &headers(&extra))).as_deref(),
            Some("AccessDenied")
        );
        // Other headers (Content-Type, …) may go unsigned, as S3 allows.
        let mut other = base.to_vec();
        other.push(("content-type", "text/plain"));
        assert_eq!(code(check("GetObject", &uri, &headers(&other))), None);
    }

    #[test]
    fn a_presigned_url_covers_only_what_it_signed() {
        let uri: Uri = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20261202%2F\
                        us-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261202T000000Z&X-Amz-Expires=300\
                        &X-Amz-SignedHeaders=host&X-Amz-Signature=00"
            .parse()
            .unwrap();
        assert_eq!(code(check("GetObject", &uri, &HeaderMap::new())), None);
        for h in [
            "x-amz-copy-source",
            "x-amz-meta-owner",
            "x-amz-tagging",
            "x-amz-storage-class",
        ] {
            assert_eq!(
                code(check("GetObject", &uri, &headers(&[(h, "x")]))).as_deref(),
                Some("AccessDenied"),
                "{h}"
            );
        }
        // SigV2 (no SignedHeaders): every x-amz-* header is in its string to sign.
        let v2: Uri = "/b/k?AWSAccessKeyId=a&Expires=1&Signature=x"
            .parse()
            .unwrap();
        assert_eq!(
            code(check("GetObject", &v2, &headers(&[("x-amz-meta-a", "1")]))),
            None
        );
    }

    #[test]
    fn documents_are_bounded_uploads_are_not() {
        let uri: Uri = "/b?delete".parse().unwrap();
        let big = (MAX_DOCUMENT + 1).to_string();
        let h = headers(&[("content-length", big.as_str())]);
        assert_eq!(
            code(check("DeleteObjects", &uri, &h)).as_deref(),
            Some("MaxMessageLengthExceeded")
        );
        let chunked = headers(&[("x-amz-decoded-content-length", big.as_str())]);
        assert_eq!(
            code(check("CompleteMultipartUpload", &uri, &chunked)).as_deref(),
            Some("MaxMessageLengthExceeded")
        );
        assert_eq!(code(check("PutObject", &uri, &h)), None);
        assert_eq!(code(check("UploadPart", &uri, &h)), None);
        let small = headers(&[("content-length", "5000")]);
        assert_eq!(code(check("DeleteObjects", &uri, &small)), None);
    }

    #[test]
    fn content_md5_must_be_sixteen_bytes_of_base64() {
        let uri: Uri = "/b/k".parse().unwrap();
        let md5 = |v: &str| code(check("PutObject", &uri, &headers(&[("content-md5", v)])));
        assert_eq!(md5("XUFAKrxLKna5cZ2REBfFkg=="), None);
        for bad in [
            "",
            "   ",
            "abc",
            "XUFAKrxLKna5cZ2REBfF",
            "not base64 at all!",
        ] {
            assert_eq!(md5(bad).as_deref(), Some("InvalidDigest"), "{bad:?}");
        }
    }

    #[test]
    fn the_servers_bucket_name_is_reserved() {
        let code = |op, bucket| reserved(op, bucket).err().map(|e| e.code().clone());
        assert_eq!(
            code("CreateBucket", "minio"),
            Some(S3ErrorCode::InvalidBucketName)
        );
        assert_eq!(code("CreateBucket", "metrics"), None);
        assert_eq!(code("HeadBucket", "minio"), None);
    }

    #[test]
    fn presigned_urls_live_at_most_a_week() {
        let at = |s: &str| -> Uri {
            format!(
                "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-SignedHeaders=host&X-Amz-Expires={s}"
            )
            .parse()
            .unwrap()
        };
        assert_eq!(
            code(check("GetObject", &at("604800"), &HeaderMap::new())),
            None
        );
        for bad in ["604801", "100000000", "-1", "x"] {
            assert_eq!(
                code(check("GetObject", &at(bad), &HeaderMap::new())).as_deref(),
                Some("AuthorizationQueryParametersError"),
                "{bad}"
            );
        }
    }

    #[test]
    fn features_not_there_are_refused_not_ignored() {
        let uri: Uri = "/b/k".parse().unwrap();
        let refused =
            |pairs: &[(&'static str, &str)]| code(check("GetObject", &uri, &headers(pairs)));
        for h in [
            ("x-amz-server-side-encryption", "AES256"),
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-copy-source-server-side-encryption-customer-key", "a"),
            ("x-amz-bucket-object-lock-enabled", "true"),
            ("x-amz-object-lock-mode", "COMPLIANCE"),
            ("x-amz-object-lock-legal-hold", "ON"),
            ("x-amz-acl", "aws-exec-read"),
            ("x-amz-acl", "log-delivery-write"),
            (
                "x-amz-grant-read",
                "uri=http://acs.amazonaws.com/groups/global/AllUsers",
            ),
        ] {
            assert_eq!(refused(&[h]).as_deref(), Some("NotImplemented"), "{h:?}");
        }
        for fine in [
            ("x-amz-acl", "private"),
            ("x-amz-acl", "bucket-owner-full-control"),
            ("x-amz-acl", "bucket-owner-read"),
            ("x-amz-acl", "public-read"),
            ("x-amz-acl", "public-read-write"),
            ("x-amz-acl", "authenticated-read"),
            ("x-amz-bucket-object-lock-enabled", "false"),
        ] {
            assert_eq!(refused(&[fine]), None, "{fine:?}");
        }
        assert_eq!(
            refused(&[("x-amz-acl", "everyone-may")]).as_deref(),
            Some("InvalidArgument")
        );
        let version = |v: &str| -> Option<String> {
            let uri: Uri = format!("/b/k?versionId={v}").parse().unwrap();
            code(check("GetObject", &uri, &HeaderMap::new()))
        };
        assert_eq!(version("null"), None);
        assert_eq!(
            version("3HL4kqtJlcpXroDTDmJ").as_deref(),
            Some("NoSuchVersion")
        );
    }
}
