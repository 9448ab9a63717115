//! Small conversions between S3 DTOs and engine values: metadata maps, timestamps, ETags,
//! conditional headers, checksums, tags.

use s3s::dto::{ETag, ETagCondition, Metadata, Timestamp, TimestampFormat};
use s3s::{s3_error, S3Result};
use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};
use strata_engine::{ObjectInfo, PutOptions};

pub const META_PREFIX: &str = "x-amz-meta-";
pub const CONTENT_ENCODING: &str = "content-encoding";
pub const CONTENT_DISPOSITION: &str = "content-disposition";
pub const CONTENT_LANGUAGE: &str = "content-language";
pub const CACHE_CONTROL: &str = "cache-control";
pub const EXPIRES: &str = "expires";
pub const REDIRECT: &str = "x-amz-website-redirect-location";

/// The standard headers a client may set on an object, as stored with it.
#[derive(Default)]
pub struct StdHeaders {
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<Timestamp>,
    pub website_redirect_location: Option<String>,
}

/// S3's limit on user metadata: the bytes of every key and value together.
pub const MAX_USER_METADATA: usize = 2048;

/// One map holding user metadata (`x-amz-meta-*`) and the standard headers; user metadata
/// over `MAX_USER_METADATA` is refused (MetadataTooLarge).
pub fn meta_map(user: Option<Metadata>, std: StdHeaders) -> S3Result<BTreeMap<String, String>> {
    let user = user.unwrap_or_default();
    let size: usize = user.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > MAX_USER_METADATA {
        return Err(s3_error!(
            MetadataTooLarge,
            "Your metadata headers exceed the maximum allowed metadata size: {size} bytes, at \
             most {MAX_USER_METADATA}"
        ));
    }
    let mut out: BTreeMap<String, String> = user
        .into_iter()
        .map(|(k, v)| (format!("{META_PREFIX}{}", k.to_ascii_lowercase()), v))
        .collect();
    let expires = std.expires.and_then(|t| format_http_date(&t));
    for (k, v) in [
        (CONTENT_ENCODING, std.content_encoding),
        (CONTENT_DISPOSITION, std.content_disposition),
        (CONTENT_LANGUAGE, std.content_language),
        (CACHE_CONTROL, std.cache_control),
        (EXPIRES, expires),
        (REDIRECT, std.website_redirect_location),
    ] {
        if let Some(v) = v {
            out.insert(k.to_string(), v);
        }
    }
    Ok(out)
}

/// User metadata (without prefix) from the stored map.
pub fn user_metadata(info: &ObjectInfo) -> Option<Metadata> {
    let m: Metadata = info
        .user_meta
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(META_PREFIX)
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect();
    (!m.is_empty()).then_some(m)
}

pub fn std_header(info: &ObjectInfo, name: &str) -> Option<String> {
    info.user_meta.get(name).cloned()
}

pub fn timestamp(ns: u64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_nanos(ns))
}

pub fn unix_seconds(t: &Timestamp) -> i64 {
    time::OffsetDateTime::from(t.clone()).unix_timestamp()
}

pub fn format_http_date(t: &Timestamp) -> Option<String> {
    let mut buf = Vec::new();
    t.format(TimestampFormat::HttpDate, &mut buf).ok()?;
    String::from_utf8(buf).ok()
}

pub fn parse_http_date(s: &str) -> Option<Timestamp> {
    Timestamp::parse(TimestampFormat::HttpDate, s).ok()
}

/// `ETag` and `Last-Modified` of an object, as response headers.
fn validators(info: &ObjectInfo) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    if let Ok(v) = http::HeaderValue::from_str(&format!("\"{}\"", info.etag)) {
        h.insert(http::header::ETAG, v);
    }
    let date = format_http_date(&timestamp(info.mod_time_ns));
    if let Some(v) = date.and_then(|d| http::HeaderValue::from_str(&d).ok()) {
        h.insert(http::header::LAST_MODIFIED, v);
    }
    h
}

pub fn etag(value: &str) -> ETag {
    ETag::Strong(value.to_string())
}

fn etag_matches(cond: &ETagCondition, current: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(e) => e.value().trim_matches('"') == current,
    }
}

/// Conditional request headers, evaluated in RFC 9110 order (S3 semantics for copies too).
pub struct Conditions<'a> {
    pub if_match: Option<&'a ETagCondition>,
    pub if_none_match: Option<&'a ETagCondition>,
    pub if_modified_since: Option<&'a Timestamp>,
    pub if_unmodified_since: Option<&'a Timestamp>,
}

impl Conditions<'_> {
    /// `Err(PreconditionFailed)` or, for reads, `Err(NotModified)`.
    pub fn check(&self, info: &ObjectInfo, read: bool) -> S3Result<()> {
        let modified = (info.mod_time_ns / 1_000_000_000) as i64;
        if let Some(c) = self.if_match {
            if !etag_matches(c, &info.etag) {
                return Err(s3_error!(
                    PreconditionFailed,
                    "If-Match: the ETag does not match"
                ));
            }
        } else if let Some(t) = self.if_unmodified_since {
            if modified > unix_seconds(t) {
                return Err(s3_error!(
                    PreconditionFailed,
                    "the object was modified since"
                ));
            }
        }
        let not_modified = |msg: &'static str| {
            if read {
                // RFC 9110 §15.4.5: a 304 carries the validators a 200 would have.
                let mut e = s3_error!(NotModified, "{}", msg);
                e.set_headers(validators(info));
                Err(e)
            } else {
                Err(s3_error!(PreconditionFailed, "{}", msg))
            }
        };
        if let Some(c) = self.if_none_match {
            if etag_matches(c, &info.etag) {
                return not_modified("If-None-Match: the ETag matches");
            }
        } else if let Some(t) = self.if_modified_since {
            if modified <= unix_seconds(t) {
                return not_modified("the object was not modified since");
            }
        }
        Ok(())
    }
}

/// Content-MD5 header (base64) as bytes.
pub fn content_md5(header: Option<&str>) -> S3Result<Option<[u8; 16]>> {
    let Some(h) = header else { return Ok(None) };
    let bytes = base64_simd::STANDARD
        .decode_to_vec(h.trim())
        .map_err(|_| s3_error!(InvalidDigest, "Content-MD5 is not valid base64"))?;
    let arr: [u8; 16] = bytes
        .try_into()
        .map_err(|_| s3_error!(InvalidDigest, "Content-MD5 must be 16 bytes"))?;
    Ok(Some(arr))
}

/// `x-amz-tagging` (URL query form) as a tag map, with S3's limits.
pub fn parse_tagging_header(h: Option<&str>) -> S3Result<BTreeMap<String, String>> {
    let Some(h) = h else {
        return Ok(BTreeMap::new());
    };
    let mut tags = BTreeMap::new();
    for pair in h.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode_query(k)?;
        let v = decode_query(v)?;
        if tags.insert(k, v).is_some() {
            return Err(s3_error!(
                InvalidArgument,
                "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."
            ));
        }
    }
    check_tags(&tags)?;
    Ok(tags)
}

fn decode_query(s: &str) -> S3Result<String> {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| s3_error!(InvalidArgument, "tag is not valid UTF-8"))
}

pub fn check_tags(tags: &BTreeMap<String, String>) -> S3Result<()> {
    if tags.len() > 10 {
        return Err(s3_error!(InvalidTag, "an object can have at most 10 tags"));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(s3_error!(
                InvalidTag,
                "tag keys are 1-128 and values 0-256 characters"
            ));
        }
        // The `aws:` prefix is AWS's own (S3: InvalidTag).
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(s3_error!(
                InvalidTag,
                "Your TagKey cannot be prefixed with aws:"
            ));
        }
    }
    Ok(())
}

/// Storage class: STANDARD (default) or REDUCED_REDUNDANCY.
pub fn reduced_redundancy(class: Option<&str>) -> S3Result<bool> {
    match class {
        None | Some("STANDARD") => Ok(false),
        Some("REDUCED_REDUNDANCY") => Ok(true),
        Some(other) => Err(s3_error!(
            InvalidStorageClass,
            "unsupported storage class {other}"
        )),
    }
}

pub fn put_options(
    content_type: Option<String>,
    user_meta: BTreeMap<String, String>,
    tags: BTreeMap<String, String>,
    content_md5: Option<[u8; 16]>,
    reduced_redundancy: bool,
) -> PutOptions {
    PutOptions {
        content_type,
        user_meta,
        tags,
        checksums: BTreeMap::new(),
        content_md5,
        reduced_redundancy,
        ..Default::default()
    }
}

/// An `If-Match`/`If-None-Match` header as the engine's condition (`*` or an ETag).
pub fn etag_condition(c: Option<&ETagCondition>) -> Option<String> {
    c.map(|c| match c {
        ETagCondition::Any => "*".to_string(),
        ETagCondition::ETag(e) => e.value().trim_matches('"').to_string(),
    })
}

/// Nanoseconds since the Unix epoch.
pub fn timestamp_ns(t: &Timestamp) -> u64 {
    let t = time::OffsetDateTime::from(t.clone());
    u64::try_from(t.unix_timestamp_nanos()).unwrap_or(0)
}

/// Opaque continuation tokens: the last key returned, base64url.
pub fn encode_token(key: &str) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(key.as_bytes())
}

pub fn decode_token(token: &str) -> S3Result<String> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| s3_error!(InvalidArgument, "invalid continuation token"))
}

/// `encoding-type=url`: keys and prefixes percent-encoded as S3 does.
pub fn url_encode(s: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(s, KEEP).to_string()
}

/// The body length a PutObject/UploadPart declared: `x-amz-decoded-content-length` for the
/// aws-chunked (`STREAMING-…`) forms, else Content-Length.
pub fn declared_length(headers: &http::HeaderMap, content_length: Option<i64>) -> Option<u64> {
    let streaming = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("STREAMING-"));
    if streaming {
        if let Some(n) = headers
            .get("x-amz-decoded-content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
        {
            return Some(n);
        }
    }
    content_length.and_then(|n| u64::try_from(n).ok())
}

/// Content-Encoding as stored with an object: `aws-chunked` only describes the request body
/// (S3 removes it), other codings stay as the client wrote them (`aws-chunked,gzip` → `gzip`,
/// `deflate, gzip` → `deflate, gzip`: S3 gives back the header it was given).
pub fn stored_content_encoding(v: Option<String>) -> Option<String> {
    let v = v?;
    let kept: Vec<&str> = v
        .split(',')
        .filter(|c| !c.trim().is_empty() && !c.trim().eq_ignore_ascii_case("aws-chunked"))
        .collect();
    let kept = kept.join(",");
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_encoding_is_kept_as_written_but_aws_chunked() {
        let s = |v: &str| stored_content_encoding(Some(v.to_string()));
        assert_eq!(s("deflate, gzip").as_deref(), Some("deflate, gzip"));
        assert_eq!(s("gzip").as_deref(), Some("gzip"));
        assert_eq!(s("aws-chunked,gzip").as_deref(), Some("gzip"));
        assert_eq!(
            s("aws-chunked, deflate, gzip").as_deref(),
            Some("deflate, gzip")
        );
        assert_eq!(s("gzip, aws-chunked").as_deref(), Some("gzip"));
        assert_eq!(s("aws-chunked"), None);
        assert_eq!(stored_content_encoding(None), None);
    }
}
