//! The HTTP front: health and metrics endpoints, request ids, per-request logs and metrics,
//! then the S3 service. TCP_NODELAY is set on every connection (Nagle's algorithm meeting
//! delayed ACKs costs ~40 ms per small response otherwise).

use super::metrics::Metrics;
use crate::engine::Engine;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Frame, SizeHint};
use s3s::service::S3Service;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

pub struct Front {
    pub s3: S3Service,
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    pub domains: Vec<String>,
    next_id: AtomicU64,
    id_prefix: u32,
}

impl Front {
    pub fn new(
        s3: S3Service,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
        domains: Vec<String>,
    ) -> Front {
        Front {
            s3,
            engine,
            metrics,
            domains,
            next_id: AtomicU64::new(1),
            id_prefix: rand_u32(),
        }
    }

    pub async fn handle(
        self: Arc<Self>,
        req: Request<hyper::body::Incoming>,
    ) -> Result<Response<s3s::Body>, std::convert::Infallible> {
        let start = Instant::now();
        let id = format!(
            "{:08X}{:08X}",
            self.id_prefix,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let api = classify(&req, &self.domains);
        let mut resp = match (api, &method) {
            ("HealthLive", _) => plain(StatusCode::OK, ""),
            ("HealthReady", _) => {
                let engine = self.engine.clone();
                tokio::task::spawn_blocking(move || readiness(&engine))
                    .await
                    .unwrap_or_else(|_| plain(StatusCode::SERVICE_UNAVAILABLE, ""))
            }
            ("Metrics", &Method::GET) => {
                let (engine, metrics) = (self.engine.clone(), self.metrics.clone());
                let text = tokio::task::spawn_blocking(move || metrics.render(&engine))
                    .await
                    .unwrap_or_default();
                let mut r = plain(StatusCode::OK, &text);
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4"),
                );
                r
            }
            _ => {
                let incoming = req
                    .headers()
                    .get("x-amz-decoded-content-length")
                    .or_else(|| req.headers().get(http::header::CONTENT_LENGTH))
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0);
                let expects_continue = req
                    .headers()
                    .get(http::header::EXPECT)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
                let req = crate::s3::edge::before(req.map(s3s::Body::from), &self.domains).await;
                let mut r = match self.s3.call(req).await {
                    Ok(r) => {
                        if r.status().is_success() {
                            self.metrics.bytes_in.fetch_add(incoming, Ordering::Relaxed);
                        }
                        r
                    }
                    Err(e) => {
                        tracing::warn!(request_id = %id, error = ?e, "request failed");
                        plain(StatusCode::INTERNAL_SERVER_ERROR, "")
                    }
                };
                crate::s3::edge::after(&method, &mut r);
                // A client that sent `Expect: 100-continue` and got an early final answer
                // instead of the 100 (bad signature, missing bucket, lost quorum, ...) may
                // never send the body. hyper then cannot tell the unsent body from the next
                // request on the connection and reads that request's first bytes as the body,
                // so the next request fails with 400 (botocore sends the header for every
                // PutObject and reuses connections). Close such connections instead, as
                // RFC 9110 §10.1.1 suggests and Go's net/http does.
                if expects_continue && !r.status().is_success() {
                    r.headers_mut()
                        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
                }
                r
            }
        };
        let ttfb = start.elapsed();
        let status = resp.status();
        self.metrics.record(api, status.as_u16(), ttfb);
        if let Ok(v) = HeaderValue::from_str(&id) {
            resp.headers_mut().insert("x-amz-request-id", v);
        }
        if status.is_server_error() {
            tracing::warn!(request_id = %id, %method, path, api, status = status.as_u16(), ?ttfb, "request");
        } else {
            tracing::debug!(request_id = %id, %method, path, api, status = status.as_u16(), ?ttfb, "request");
        }
        let metrics = self.metrics.clone();
        Ok(resp.map(|b| s3s::Body::http_body_unsync(Counted { inner: b, metrics })))
    }
}

/// 200 while every set can take writes (503 otherwise); drives being rebuilt are listed in the
/// body and counted in `X-Strata-Healing-Drives`, as they serve with reduced redundancy.
fn readiness(engine: &Engine) -> Response<s3s::Body> {
    let rebuilds = engine.stats().rebuilds();
    let healing: Vec<String> = engine
        .drives()
        .into_iter()
        .filter(|d| d.online && d.healing)
        .map(|d| {
            let progress = rebuilds
                .iter()
                .find(|(place, _)| *place == (d.set, d.position))
                .map(|(_, r)| format!(": {} keys checked, {} rebuilt", r.checked, r.healed))
                .unwrap_or_default();
            format!("healing: set {} drive {}{progress}\n", d.set, d.drive_id)
        })
        .collect();
    let (status, mut text) = if engine.write_quorum_ok() {
        (StatusCode::OK, String::new())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "write quorum lost\n".to_string(),
        )
    };
    text.push_str(&healing.concat());
    let mut r = plain(status, &text);
    if let Ok(v) = HeaderValue::from_str(&healing.len().to_string()) {
        r.headers_mut().insert("x-strata-healing-drives", v);
    }
    r
}

fn plain(status: StatusCode, text: &str) -> Response<s3s::Body> {
    let mut r = Response::new(s3s::Body::from(text.to_string()));
    *r.status_mut() = status;
    r
}

fn rand_u32() -> u32 {
    let u = uuid::Uuid::new_v4();
    let b = u.as_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// A response body that adds what it sends to the bytes-out counter.
struct Counted {
    inner: s3s::Body,
    metrics: Arc<Metrics>,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = <s3s::Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.metrics
                    .bytes_out
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The S3 API a request calls, for metrics and logs (path-style, or virtual-hosted when the
/// host is a subdomain of a configured domain).
pub fn classify<B>(req: &Request<B>, domains: &[String]) -> &'static str {
    let path = req.uri().path();
    match path {
        "/minio/health/live" => return "HealthLive",
        "/minio/health/ready" | "/minio/health/cluster" => return "HealthReady",
        "/metrics" | "/minio/v2/metrics/cluster" => return "Metrics",
        _ => {}
    }
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.split(':').next().unwrap_or(h))
        .unwrap_or("");
    let vhost_bucket = domains
        .iter()
        .any(|d| host.len() > d.len() && host.ends_with(&format!(".{d}")));
    let segs: Vec<&str> = path.trim_start_matches('/').splitn(2, '/').collect();
    let (has_bucket, has_key) = if vhost_bucket {
        (true, !path.trim_start_matches('/').is_empty())
    } else {
        (!segs[0].is_empty(), segs.len() == 2 && !segs[1].is_empty())
    };
    let q = req.uri().query().unwrap_or("");
    let has = |k: &str| {
        q.split('&')
            .any(|p| p == k || p.starts_with(&format!("{k}=")))
    };
    let copy = req.headers().contains_key("x-amz-copy-source");
    let m = req.method();
    match (has_bucket, has_key) {
        (false, _) if *m == Method::GET => "ListBuckets",
        (false, _) => "Unknown",
        (true, false) => match *m {
            Method::PUT => "CreateBucket",
            Method::DELETE => "DeleteBucket",
            Method::HEAD => "HeadBucket",
            Method::POST if has("delete") => "DeleteObjects",
            Method::GET if has("location") => "GetBucketLocation",
            Method::GET if has("uploads") => "ListMultipartUploads",
            Method::GET if q.contains("list-type=2") => "ListObjectsV2",
            Method::GET => "ListObjects",
            _ => "Unknown",
        },
        (true, true) => match *m {
            Method::PUT if has("partNumber") && copy => "UploadPartCopy",
            Method::PUT if has("partNumber") => "UploadPart",
            Method::PUT if has("tagging") => "PutObjectTagging",
            Method::PUT if copy => "CopyObject",
            Method::PUT => "PutObject",
            Method::GET if has("tagging") => "GetObjectTagging",
            Method::GET if has("uploadId") => "ListParts",
            Method::GET => "GetObject",
            Method::HEAD => "HeadObject",
            Method::DELETE if has("uploadId") => "AbortMultipartUpload",
            Method::DELETE if has("tagging") => "DeleteObjectTagging",
            Method::DELETE => "DeleteObject",
            Method::POST if has("uploads") => "CreateMultipartUpload",
            Method::POST if has("uploadId") => "CompleteMultipartUpload",
            _ => "Unknown",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(m: Method, uri: &str) -> Request<()> {
        Request::builder().method(m).uri(uri).body(()).unwrap()
    }

    #[test]
    fn classifies_apis() {
        let c = |m, u| classify(&req(m, u), &[]);
        assert_eq!(c(Method::GET, "/"), "ListBuckets");
        assert_eq!(c(Method::GET, "/b?list-type=2&prefix=x"), "ListObjectsV2");
        assert_eq!(c(Method::PUT, "/b/k?partNumber=1&uploadId=x"), "UploadPart");
        assert_eq!(c(Method::POST, "/b/k?uploads"), "CreateMultipartUpload");
        assert_eq!(c(Method::GET, "/b/k"), "GetObject");
        assert_eq!(c(Method::GET, "/minio/health/ready"), "HealthReady");
        let vh = Request::builder()
            .uri("/key")
            .header("host", "bkt.s3.local:9000")
            .body(())
            .unwrap();
        assert_eq!(classify(&vh, &["s3.local".to_string()]), "GetObject");
    }
}
