//! The one outgoing HTTP request the server makes: a GET of an identity provider's discovery
//! document or key set. Bounded: the whole exchange within `TIMEOUT`, the body at most
//! `MAX_BODY`, only a 200 taken, no redirect followed. Over `http://`, or `https://` checked
//! against the given CA bundle (a Kubernetes API server's `ca.crt`) or else the system's
//! roots, with an optional bearer token read from a file at each fetch (a pod's projected
//! service account token, which the kubelet renews).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};

const TIMEOUT: Duration = Duration::from_secs(5);
/// A key set is a few KiB.
const MAX_BODY: usize = 256 << 10;
/// A bearer token is a JWT of a few KiB.
const MAX_TOKEN: u64 = 64 << 10;

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
    #[error("TLS: {0}")]
    Tls(String),
    #[error("{0}")]
    Setup(String),
}

/// Fetches a document (a trait, so that the key cache can be tested without a network).
#[async_trait::async_trait]
pub trait Fetch: Send + Sync {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError>;
}

/// Over HTTP/1.1, one connection per fetch (fetches are rare).
pub struct HttpFetch {
    tls: Arc<rustls::ClientConfig>,
    /// A file holding the bearer token to send, read at each fetch.
    token_file: Option<PathBuf>,
    /// The only origins (`https://host[:port]`) the token is sent to: it is a credential (a
    /// pod's service account token), never sent in the clear nor to a host a discovery
    /// document names.
    token_origins: Vec<String>,
}

impl HttpFetch {
    /// Trusting the certificates of `ca_file` (PEM) for https, or the system's roots without
    /// one.
    pub fn new(
        ca_file: Option<&Path>,
        token_file: Option<PathBuf>,
        token_urls: &[&str],
    ) -> Result<HttpFetch, FetchError> {
        let roots = match ca_file {
            Some(f) => roots_from(f)?,
            None => system_roots(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| FetchError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(HttpFetch {
            tls: Arc::new(tls),
            token_file,
            token_origins: token_urls.iter().filter_map(|u| https_origin(u)).collect(),
        })
    }

    /// The file of the bearer token for a fetch of `url`: only to an https origin it is
    /// meant for.
    fn token_file_for(&self, url: &str) -> Option<PathBuf> {
        let f = self.token_file.as_ref()?;
        https_origin(url)
            .is_some_and(|o| self.token_origins.contains(&o))
            .then(|| f.clone())
    }
}

/// The bearer token in `file` (a few KiB; read at each fetch, as the kubelet renews it).
fn read_token(file: &Path) -> Result<String, FetchError> {
    let setup = |e: &dyn std::fmt::Display| FetchError::Setup(format!("{}: {e}", file.display()));
    let len = std::fs::metadata(file).map_err(|e| setup(&e))?.len();
    if len > MAX_TOKEN {
        return Err(setup(&format!("more than {MAX_TOKEN} bytes")));
    }
    let token = std::fs::read_to_string(file).map_err(|e| setup(&e))?;
    Ok(token.trim().to_string())
}

/// The certificates of a PEM bundle (at least one).
fn roots_from(file: &Path) -> Result<rustls::RootCertStore, FetchError> {
    let setup = |e: &dyn std::fmt::Display| FetchError::Setup(format!("{}: {e}", file.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(file).map_err(|e| setup(&e))? {
        roots
            .add(cert.map_err(|e| setup(&e))?)
            .map_err(|e| setup(&e))?;
    }
    if roots.is_empty() {
        return Err(setup(&"no certificate in it"));
    }
    Ok(roots)
}

/// The system's trusted roots (none if it has none: https fetches then fail, saying so).
fn system_roots() -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(error = %e, "reading the system's trusted certificates");
    }
    let (added, _) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, "system certificates trusted for OpenID fetches");
    roots
}

#[async_trait::async_trait]
impl Fetch for HttpFetch {
    async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let bearer = match self.token_file_for(url) {
            Some(f) => Some(
                tokio::task::spawn_blocking(move || read_token(&f))
                    .await
                    .map_err(|e| FetchError::Setup(e.to_string()))??,
            ),
            None => None,
        };
        tokio::time::timeout(TIMEOUT, get(url, &self.tls, bearer.as_deref()))
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}

/// `https://host[:port]` of an https URL (the port as written: one origin, one spelling).
pub fn https_origin(url: &str) -> Option<String> {
    let uri: http::Uri = url.parse().ok()?;
    if uri.scheme_str() != Some("https") {
        return None;
    }
    uri.authority()
        .map(|a| format!("https://{}", a.as_str().to_ascii_lowercase()))
}

/// Whether the server can fetch `url` (for the command line's checks).
pub fn check_url(url: &str) -> Result<(), FetchError> {
    target(url).map(|_| ())
}

/// Whether a fetch is over TLS, host, port and the URL.
fn target(url: &str) -> Result<(bool, String, u16, http::Uri), FetchError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|e| FetchError::Url(format!("{url}: {e}")))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => {
            return Err(FetchError::Url(format!(
                "{url}: only http:// and https:// URLs can be fetched"
            )))
        }
    };
    let host = uri
        .host()
        .ok_or_else(|| FetchError::Url(format!("{url}: no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    Ok((tls, host, port, uri))
}

async fn get(
    url: &str,
    tls: &Arc<rustls::ClientConfig>,
    bearer: Option<&str>,
) -> Result<Vec<u8>, FetchError> {
    let (over_tls, host, port, uri) = target(url)?;
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| io(&e))?;
    let authority = uri.authority().map_or(host.as_str(), |a| a.as_str());
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut req = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json")
        .header(http::header::USER_AGENT, "strata");
    if let Some(token) = bearer {
        req = req.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let req = req.body(Empty::<Bytes>::new()).map_err(|e| io(&e))?;
    if !over_tls {
        return exchange(stream, req).await;
    }
    let name =
        ServerName::try_from(host.clone()).map_err(|e| FetchError::Url(format!("{url}: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(tls.clone())
        .connect(name, stream)
        .await
        .map_err(|e| FetchError::Tls(e.to_string()))?;
    exchange(stream, req).await
}

fn io(e: &dyn std::fmt::Display) -> FetchError {
    FetchError::Io(e.to_string())
}

/// One request on a fresh connection; its body if the answer is a 200.
async fn exchange<S>(stream: S, req: http::Request<Empty<Bytes>>) -> Result<Vec<u8>, FetchError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| io(&e))?;
    // Aborted whatever happens next (an answer, an error, or the caller's timeout dropping
    // this future), so a slow provider holds no connection after the fetch gave up.
    let conn = AbortOnDrop(tokio::spawn(conn));
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
    drop(conn);
    result
}

/// A spawned task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bearer token (a credential) goes to the configured https origins only: not in the
    /// clear, not to a host a discovery document names.
    #[test]
    fn the_token_goes_to_the_configured_https_origins_only() {
        let f = HttpFetch::new(
            None,
            Some(PathBuf::from("/token")),
            &["https://K8s.local:6443/openid/v1/jwks", "http://idp.local"],
        )
        .unwrap();
        let to = |url: &str| f.token_file_for(url).is_some();
        assert!(to("https://k8s.local:6443/openid/v1/jwks"));
        assert!(to(
            "https://k8s.local:6443/.well-known/openid-configuration"
        ));
        for not in [
            "http://k8s.local:6443/openid/v1/jwks",
            "https://k8s.local/openid/v1/jwks",
            "https://elsewhere.example/keys",
            "http://idp.local/keys",
            "https://idp.local/keys",
        ] {
            assert!(!to(not), "{not}");
        }
        let none = HttpFetch::new(None, None, &["https://k8s.local:6443"]).unwrap();
        assert!(none.token_file_for("https://k8s.local:6443/x").is_none());
    }
}
