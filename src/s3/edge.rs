//! What the HTTP front corrects around s3s, where s3s decides before or after our code runs:
//! the resource a SigV2 bucket request signed, the digests of request documents (`digest`),
//! browser POST forms (`post`), and the status of a partial HEAD.

use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri};

/// Corrections made before s3s sees a request; `vhost` is the bucket its Host names under a
/// `--domain` (virtual-hosted style), if any.
pub async fn before(mut req: Request<s3s::Body>, vhost: Option<String>) -> Request<s3s::Body> {
    if is_sig_v2(&req) && vhost.is_none() {
        if let Some(uri) = bucket_resource(req.uri()) {
            *req.uri_mut() = uri;
        }
    }
    req = super::digest::check(req, vhost.is_some()).await;
    if req.method() == Method::POST {
        let bucket = vhost.or_else(|| path_bucket(req.uri()));
        req = super::post::prepare(req, bucket.as_deref()).await;
    }
    req
}

/// Corrections made to s3s's answer.
pub fn after(method: &Method, resp: &mut Response<s3s::Body>) {
    partial_head(method, resp);
}

/// SigV2, in an Authorization header (`AWS key:signature`) or a presigned URL.
fn is_sig_v2<B>(req: &Request<B>) -> bool {
    let header = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS "));
    let query = req.uri().query().unwrap_or("");
    let presigned = query.split('&').any(|p| p.starts_with("AWSAccessKeyId="))
        && query.split('&').any(|p| p.starts_with("Signature="));
    header || presigned
}

/// The bucket of a path-style bucket request (`/bucket` or `/bucket/`).
fn path_bucket(uri: &Uri) -> Option<String> {
    let rest = uri.path().strip_prefix('/')?;
    let bucket = rest.strip_suffix('/').unwrap_or(rest);
    (!bucket.is_empty() && !bucket.contains('/')).then(|| bucket.to_string())
}

/// SigV2's resource of a bucket is `/bucket/` (S3's string to sign; what botocore, s3cmd and
/// minio-go sign for a path-style bucket request sent as `/bucket`). s3s signs the path as
/// sent, so every bucket-level SigV2 request failed with SignatureDoesNotMatch: the path is
/// given its slash before s3s checks the signature (s3s routes both forms alike).
fn bucket_resource(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let bucket = path.strip_prefix('/')?;
    if bucket.is_empty() || bucket.contains('/') {
        return None;
    }
    let with_slash = match uri.query() {
        Some(q) => format!("{path}/?{q}"),
        None => format!("{path}/"),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(with_slash).ok()?);
    Uri::from_parts(parts).ok()
}

/// A HEAD of a part or a range answers 206 as its GET does: s3s answers every HEAD with 200,
/// whatever the operation returned (it sets 206 from Content-Range for GET only).
fn partial_head(method: &Method, resp: &mut Response<s3s::Body>) {
    if method == Method::HEAD
        && resp.status() == StatusCode::OK
        && resp.headers().contains_key(http::header::CONTENT_RANGE)
    {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, host: &str, auth: Option<&str>) -> Request<s3s::Body> {
        let mut b = Request::builder().uri(uri).header("host", host);
        if let Some(a) = auth {
            b = b.header("authorization", a);
        }
        b.body(s3s::Body::empty()).unwrap()
    }

    fn path(r: &Request<s3s::Body>) -> String {
        r.uri().path_and_query().unwrap().to_string()
    }

    fn before(r: Request<s3s::Body>, vhost: Option<&str>) -> Request<s3s::Body> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(super::before(r, vhost.map(str::to_string)))
    }

    #[test]
    fn sig_v2_bucket_requests_get_their_slash() {
        let v2 = Some("AWS key:sig");
        assert_eq!(path(&before(req("/b1", "127.0.0.1", v2), None)), "/b1/");
        assert_eq!(
            path(&before(req("/b1?delete", "h", v2), None)),
            "/b1/?delete"
        );
        // Objects, the root, buckets already with their slash: as sent.
        assert_eq!(path(&before(req("/b1/k", "h", v2), None)), "/b1/k");
        assert_eq!(path(&before(req("/", "h", v2), None)), "/");
        assert_eq!(path(&before(req("/b1/", "h", v2), None)), "/b1/");
        // A presigned SigV2 URL too; SigV4 and virtual-hosted requests are left alone.
        let presigned = "/b1?AWSAccessKeyId=k&Expires=1&Signature=s";
        assert_eq!(
            path(&before(req(presigned, "h", None), None)),
            "/b1/?AWSAccessKeyId=k&Expires=1&Signature=s"
        );
        let v4 = Some("AWS4-HMAC-SHA256 Credential=k/20261202/us-east-1/s3/aws4_request");
        assert_eq!(path(&before(req("/b1", "h", v4), None)), "/b1");
        let vhost = before(req("/k", "b1.s3.local:9000", v2), Some("b1"));
        assert_eq!(path(&vhost), "/k");
    }
}
