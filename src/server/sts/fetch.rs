//! The one outgoing HTTP request the server makes: a GET of an identity provider's discovery
//! document or key set. Bounded: the whole exchange within `TIMEOUT`, the body at most
//! `MAX_BODY`, only a 200 taken, no redirect followed. Plain `http://` only so far (a
//! provider behind TLS needs a proxy or a `--oidc-jwks-url` the server can reach in the
//! clear; see the README).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(5);
/// A key set is a few KiB.
const MAX_BODY: usize = 256 << 10;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("not a URL the server can fetch: {0}")]
    Url(String),
    #[error("no answer within {}s", TIMEOUT.as_secs())]
    Timeout,
    #[error("{0}")]
    Io(String),
    #[error("HTTP status {0}")]
    Status(u16),
}

/// Fetches a document (a trait, so that the key cache can be tested without a network).
#[async_trait::async_trait]
pub trait Fetch: Send + Sync {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;
}

/// Over HTTP/1.1, one connection per fetch (fetches are rare).
pub struct HttpFetch;

#[async_trait::async_trait]
impl Fetch for HttpFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        tokio::time::timeout(TIMEOUT, get(url))
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

/// Whether the server can fetch `url` (for the command line's checks).
pub fn check_url(url: &str) -> Result<(), FetchError> {
    target(url).map(|_| ())
}

/// Host, port and path of an `http://` URL.
fn target(url: &str) -> Result<(String, u16, http::Uri), FetchError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| FetchError::Url(format!("{url}: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(FetchError::Url(format!(
            "{url}: only http:// is supported (put a TLS-terminating proxy in front, or give \
             a JWKS URL reachable over http)"
        )));
    }
    let host = uri
        .host()
        .ok_or_else(|| FetchError::Url(format!("{url}: no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(80);
    Ok((host, port, uri))
}

async fn get(url: &str) -> Result<Vec<u8>, FetchError> {
    let (host, port, uri) = target(url)?;
    let io = |e: &dyn std::fmt::Display| FetchError::Io(e.to_string());
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| io(&e))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| io(&e))?;
    let conn = tokio::spawn(conn);
    let authority = uri.authority().map(|a| a.as_str()).unwrap_or(&host);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "strata")
        .body(Empty::<Bytes>::new())
        .map_err(|e| io(&e))?;
    let result = async {
        let resp = sender.send_request(req).await.map_err(|e| io(&e))?;
        if resp.status() != http::StatusCode::OK {
            return Err(FetchError::Status(resp.status().as_u16()));
        }
        let body = Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| io(&*e))?;
        Ok(body.to_bytes().to_vec())
    }
    .await;
    conn.abort();
    result
}
