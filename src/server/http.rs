//! The HTTP front: the health and metrics endpoints (path-style requests to `/minio/…`, a name
//! no bucket can take), then the S3 service. Every response carries a request id
//! (`x-amz-request-id`) and the host id (`x-amz-id-2`), every S3 error document both and the
//! path asked for; each S3 request is counted under the operation the protocol layer resolved
//! for it (left by the access hook), with the bytes of its body as they arrive from the
//! network and of its response as they leave. TCP_NODELAY is set on every connection
//! (Nagle's algorithm meeting delayed ACKs costs ~40 ms per small response otherwise).

use super::domains::Domains;
use super::errdoc;
use super::limits::{ConnState, GuardedBody, InFlight, Limits, RequestLimiter};
use super::metrics::api;
use super::metrics::usage::Usage;
use super::metrics::{self as prom, Metrics, Scope};
use super::token::ScrapeAccess;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::{Frame, SizeHint};
use s3s::service::S3Service;
use s3s::{S3Error, S3ErrorCode};
use std::borrow::Cow;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use strata_engine::Engine;
use strata_s3::gate::OperationSlot;
use tokio::sync::OwnedSemaphorePermit;

/// How the front is set up besides the S3 service and the engine.
pub struct FrontConfig {
    pub domains: Domains,
    pub scrape: ScrapeAccess,
    /// This server's host and port (the metrics' `server` label).
    pub server: String,
    /// What one client may cost (`limits`).
    pub limits: Limits,
    pub requests: RequestLimiter,
}

/// The request's id (`x-amz-request-id`), in its extensions for the routes that write it into
/// their documents (STS).
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

pub struct Front {
    s3: S3Service,
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    usage: Arc<Usage>,
    cfg: FrontConfig,
    host_id: String,
    next_id: AtomicU64,
    id_prefix: u32,
}

/// The server's own endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Live,
    Ready,
    Metrics(Scope),
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::Live => "HealthLive",
            Endpoint::Ready => "HealthReady",
            Endpoint::Metrics(_) => "Metrics",
        }
    }
}

impl Front {
    pub fn new(
        s3: S3Service,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
        usage: Arc<Usage>,
        cfg: FrontConfig,
    ) -> Front {
        let host_id = blake3::hash(format!("{}/{}", engine.deployment_id(), cfg.server).as_bytes())
            .to_hex()
            .to_string();
        Front {
            s3,
            engine,
            metrics,
            usage,
            cfg,
            host_id,
            next_id: AtomicU64::new(1),
            id_prefix: rand_u32(),
        }
    }

    pub async fn handle(
        self: Arc<Self>,
        req: Request<hyper::body::Incoming>,
        conn: Arc<ConnState>,
    ) -> Result<Response<s3s::Body>, std::convert::Infallible> {
        let in_flight = conn.begin_request();
        let start = Instant::now();
        let id = format!(
            "{:08X}{:08X}",
            self.id_prefix,
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let (mut resp, op, turn) = match endpoint(&req, &self.cfg.domains) {
            Some(e) => (
                self.endpoint(e, &req, &id).await,
                Cow::Borrowed(e.name()),
                None,
            ),
            None => match self.cfg.requests.turn().await {
                Some(turn) => {
                    let (r, op) = self.s3(req, conn.peer, &id, start).await;
                    (r, op, Some(turn))
                }
                None => self.slow_down(&req, &id, start),
            },
        };
        let status = resp.status();
        let ttfb = start.elapsed();
        for (name, value) in [("x-amz-request-id", &id), ("x-amz-id-2", &self.host_id)] {
            if let Ok(v) = HeaderValue::from_str(value) {
                resp.headers_mut().insert(name, v);
            }
        }
        let op = op.as_ref();
        if status.is_server_error() {
            tracing::warn!(request_id = %id, %method, path, api = op, status = status.as_u16(), ?ttfb, "request");
        } else {
            tracing::debug!(request_id = %id, %method, path, api = op, status = status.as_u16(), ?ttfb, "request");
        }
        // The request is in flight on its connection, and holds its turn, until the response
        // is sent.
        Ok(resp.map(|b| {
            s3s::Body::http_body_unsync(Holding {
                inner: b,
                _held: (in_flight, turn),
            })
        }))
    }

    /// 503 SlowDown for a request that found every turn taken for the whole wait.
    fn slow_down(
        &self,
        req: &Request<hyper::body::Incoming>,
        id: &str,
        start: Instant,
    ) -> (
        Response<s3s::Body>,
        Cow<'static, str>,
        Option<OwnedSemaphorePermit>,
    ) {
        let mut r = s3_error(S3ErrorCode::SlowDown, "Please reduce your request rate.");
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        self.complete(&mut r, req.uri().path(), id);
        self.metrics.record(
            Cow::Borrowed("slowdown"),
            r.status().as_u16(),
            start.elapsed(),
        );
        (r, Cow::Borrowed("slowdown"), None)
    }

    /// Adds the resource, request and host ids to an error document; returns its code.
    fn complete(&self, r: &mut Response<s3s::Body>, path: &str, id: &str) -> Option<String> {
        let resource = percent_encoding::percent_decode_str(path)
            .decode_utf8_lossy()
            .into_owned();
        let ids = errdoc::Ids {
            resource: &resource,
            request_id: id,
            host_id: &self.host_id,
        };
        complete_error(r, &ids)
    }

    /// An S3 request: the response (its error document completed, its body counted as it is
    /// sent) and the name of its operation.
    async fn s3(
        &self,
        req: Request<hyper::body::Incoming>,
        peer: Option<std::net::SocketAddr>,
        id: &str,
        start: Instant,
    ) -> (Response<s3s::Body>, Cow<'static, str>) {
        let path = req.uri().path().to_string();
        let expects_continue = req
            .headers()
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        let slot = OperationSlot::default();
        let metrics = self.metrics.clone();
        let mut timed_out = Default::default();
        let mut req = req.map(|b| {
            let guarded = GuardedBody::new(b, self.cfg.limits);
            timed_out = guarded.timed_out.clone();
            s3s::Body::http_body(Received {
                inner: guarded,
                metrics,
            })
        });
        req.extensions_mut().insert(slot.clone());
        req.extensions_mut().insert(RequestId(id.to_string()));
        let sts = crate::sts::is_sts_request(req.method(), req.uri(), req.headers());
        if let Some(p) = peer {
            req.extensions_mut().insert(strata_s3::authz::PeerAddr(p));
        }
        let method = req.method().clone();
        let vhost = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| self.cfg.domains.bucket(h));
        let req = strata_s3::edge::before(req, vhost).await;
        let mut r = match self.s3.call(req).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(request_id = %id, error = ?e, "request failed");
                internal_error()
            }
        };
        strata_s3::edge::after(&method, &mut r);
        if timed_out.load(std::sync::atomic::Ordering::SeqCst) {
            r = s3_error(
                S3ErrorCode::RequestTimeout,
                "Your socket connection to the server was not read from or written to within \
                 the timeout period.",
            );
            // The rest of the body will not be read: the connection cannot carry another
            // request.
            r.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        let ttfb = start.elapsed();
        let code = match r.status().is_client_error() || r.status().is_server_error() {
            false => None,
            // STS clients read STS documents, also for what the protocol layer refused.
            true if sts => sts_error(&mut r, id),
            true => self.complete(&mut r, &path, id),
        };
        let (label, op) = match slot.get() {
            Some(op) => (api::for_operation(op), Cow::Owned(op.to_string())),
            None => {
                let (label, why) = api::for_unrouted(code.as_deref());
                if let Some(why) = why {
                    self.metrics.reject(why);
                }
                (Cow::Borrowed(label), Cow::Borrowed(label))
            }
        };
        self.metrics.record(label, r.status().as_u16(), ttfb);
        // A client that sent `Expect: 100-continue` and got an early final answer instead of
        // the 100 (bad signature, missing bucket, lost quorum, ...) may never send the body.
        // hyper then cannot tell the unsent body from the next request on the connection and
        // reads that request's first bytes as the body, so the next request fails with 400
        // (botocore sends the header for every PutObject and reuses connections). Close such
        // connections instead, as RFC 9110 §10.1.1 suggests and Go's net/http does.
        if expects_continue && !r.status().is_success() {
            r.headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        let metrics = self.metrics.clone();
        let r = r.map(|b| s3s::Body::http_body_unsync(Sent { inner: b, metrics }));
        (r, op)
    }

    async fn endpoint(
        &self,
        e: Endpoint,
        req: &Request<hyper::body::Incoming>,
        id: &str,
    ) -> Response<s3s::Body> {
        match e {
            Endpoint::Live => plain(StatusCode::OK, ""),
            Endpoint::Ready => {
                let engine = self.engine.clone();
                tokio::task::spawn_blocking(move || readiness(&engine))
                    .await
                    .unwrap_or_else(|_| plain(StatusCode::SERVICE_UNAVAILABLE, ""))
            }
            Endpoint::Metrics(scope) => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                if let Err(why) = self.cfg.scrape.check(req.headers(), now) {
                    tracing::debug!(request_id = %id, %why, "metrics refused");
                    return self.access_denied(req.uri().path(), id);
                }
                self.metrics_page(scope).await
            }
        }
    }

    async fn metrics_page(&self, scope: Scope) -> Response<s3s::Body> {
        let (engine, metrics, usage) = (
            self.engine.clone(),
            self.metrics.clone(),
            self.usage.clone(),
        );
        let server = self.cfg.server.clone();
        let text = tokio::task::spawn_blocking(move || {
            let cx = prom::Context {
                engine: &engine,
                metrics: &metrics,
                usage: &usage,
                server: &server,
            };
            prom::page(scope, &cx)
        })
        .await;
        let Ok(text) = text else {
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "");
        };
        let mut r = plain(StatusCode::OK, &text);
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        r
    }

    /// MinIO's answer to a scrape without a valid token: 403 and a JSON error document.
    fn access_denied(&self, path: &str, id: &str) -> Response<s3s::Body> {
        let doc = JsonError {
            code: "AccessDenied",
            message: "Access Denied.",
            resource: path,
            request_id: id,
            host_id: &self.host_id,
        };
        let text = serde_json::to_string(&doc).unwrap_or_default();
        let mut r = plain(StatusCode::FORBIDDEN, &text);
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        r
    }
}

/// MinIO's JSON error document (its admin and metrics endpoints answer with these).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct JsonError<'a> {
    code: &'a str,
    message: &'a str,
    resource: &'a str,
    request_id: &'a str,
    host_id: &'a str,
}

/// The endpoint a request asks for: GET or HEAD of its path, path-style only (a
/// virtual-hosted request names an object, whatever its key).
fn endpoint<B>(req: &Request<B>, domains: &Domains) -> Option<Endpoint> {
    let get = *req.method() == Method::GET;
    if !get && *req.method() != Method::HEAD {
        return None;
    }
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok());
    if host.is_some_and(|h| domains.bucket(h).is_some()) {
        return None;
    }
    match req.uri().path() {
        "/minio/health/live" => Some(Endpoint::Live),
        "/minio/health/ready" | "/minio/health/cluster" => Some(Endpoint::Ready),
        "/minio/v2/metrics/cluster" if get => Some(Endpoint::Metrics(Scope::Cluster)),
        "/minio/v2/metrics/node" if get => Some(Endpoint::Metrics(Scope::Node)),
        "/minio/v2/metrics/bucket" if get => Some(Endpoint::Metrics(Scope::Bucket)),
        _ => None,
    }
}

/// Adds what an S3 error document lacks (message, resource, request and host ids) to a
/// response that carries one; returns its error code.
fn complete_error(r: &mut Response<s3s::Body>, ids: &errdoc::Ids) -> Option<String> {
    let body = r.body().bytes()?;
    let (doc, code) = errdoc::complete(&body, ids)?;
    if r.headers().contains_key(http::header::CONTENT_LENGTH) {
        r.headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(doc.len()));
    }
    *r.body_mut() = s3s::Body::from(doc);
    Some(code)
}

/// The error document of an STS request as STS writes it; returns its error code.
fn sts_error(r: &mut Response<s3s::Body>, id: &str) -> Option<String> {
    let body = r.body().bytes()?;
    let (doc, code) = crate::sts::xml::reshape(&body, r.status(), id)?;
    if r.headers().contains_key(http::header::CONTENT_LENGTH) {
        r.headers_mut()
            .insert(http::header::CONTENT_LENGTH, HeaderValue::from(doc.len()));
    }
    *r.body_mut() = s3s::Body::from(doc);
    Some(code)
}

/// What the protocol layer failed to answer with: an S3 InternalError document.
fn internal_error() -> Response<s3s::Body> {
    s3_error(
        S3ErrorCode::InternalError,
        "We encountered an internal error. Please try again.",
    )
}

/// An S3 error document.
fn s3_error(code: S3ErrorCode, message: &'static str) -> Response<s3s::Body> {
    match S3Error::with_message(code, message).to_http_response() {
        Ok(r) => r,
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, ""),
    }
}

/// A response body that holds what the request holds until it is sent (its place in flight on
/// the connection, its turn among the requests served).
struct Holding {
    inner: s3s::Body,
    _held: (InFlight, Option<OwnedSemaphorePermit>),
}

impl http_body::Body for Holding {
    type Data = Bytes;
    type Error = <s3s::Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
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

/// A request body that counts its bytes as they are read from the network (whatever becomes
/// of the request: refused uploads were received too).
struct Received<B> {
    inner: B,
    metrics: Arc<Metrics>,
}

impl<B> http_body::Body for Received<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.metrics.add_received(data.len() as u64);
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

/// A response body that counts what it sends.
struct Sent {
    inner: s3s::Body,
    metrics: Arc<Metrics>,
}

impl http_body::Body for Sent {
    type Data = Bytes;
    type Error = <s3s::Body as http_body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            if let Some(data) = frame.data_ref() {
                self.metrics.add_sent(data.len() as u64);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn req(m: Method, uri: &str, host: &str) -> Request<()> {
        Request::builder()
            .method(m)
            .uri(uri)
            .header("host", host)
            .body(())
            .unwrap()
    }

    #[test]
    fn endpoints_are_path_style_gets() {
        let d = Domains::new(&["s3.local".to_string()]);
        let at = |m, uri, host| endpoint(&req(m, uri, host), &d);
        let ip = "127.0.0.1:9000";
        assert_eq!(
            at(Method::GET, "/minio/health/live", ip),
            Some(Endpoint::Live)
        );
        assert_eq!(
            at(Method::HEAD, "/minio/health/ready", ip),
            Some(Endpoint::Ready)
        );
        assert_eq!(
            at(Method::GET, "/minio/v2/metrics/node", ip),
            Some(Endpoint::Metrics(Scope::Node))
        );
        // Objects and buckets: a key under a virtual-hosted bucket, other methods, a bucket
        // named `metrics`.
        assert_eq!(
            at(Method::GET, "/minio/health/live", "b.s3.local:9000"),
            None
        );
        assert_eq!(at(Method::PUT, "/minio/health/live", ip), None);
        assert_eq!(at(Method::HEAD, "/minio/v2/metrics/cluster", ip), None);
        assert_eq!(at(Method::GET, "/metrics", ip), None);
        assert_eq!(
            at(Method::GET, "/minio/health/live", "s3.local"),
            Some(Endpoint::Live)
        );
    }
}
