//! Every failed RPC logged once, with its method and gRPC code, in one place: a tower layer
//! around all the CSI services (as the AWS EBS CSI driver's logging interceptor). Unary
//! answers that fail are "trailers-only": the status is in the response headers.

use futures_util::future::BoxFuture;
use std::task::{Context, Poll};
use tonic::{Code, Status};
use tower::{Layer, Service};
use tracing::{error, warn};

/// Wraps a service so that its failed calls are logged.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogFailuresLayer;

impl<S> Layer<S> for LogFailuresLayer {
    type Service = LogFailures<S>;

    fn layer(&self, inner: S) -> LogFailures<S> {
        LogFailures { inner }
    }
}

#[derive(Debug, Clone)]
pub struct LogFailures<S> {
    inner: S,
}

impl<S, B, R> Service<http::Request<B>> for LogFailures<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_string();
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            if let Some(status) = failure(response.headers()) {
                log_failure(&method, &status);
            }
            Ok(response)
        })
    }
}

/// The status of a failed answer, from its headers.
fn failure(headers: &http::HeaderMap) -> Option<Status> {
    Status::from_header_map(headers).filter(|s| s.code() != Code::Ok)
}

/// The plugin's own faults at error level; what the caller asked wrongly, or a state that
/// a retry may change (NotFound, FailedPrecondition, Aborted, …), at warn.
fn log_failure(method: &str, status: &Status) {
    let code = status.code();
    let message = status.message();
    match code {
        Code::Internal | Code::Unknown | Code::DataLoss | Code::Unavailable => {
            error!(grpc.method = method, grpc.code = ?code, "RPC failed: {message}")
        }
        _ => warn!(grpc.method = method, grpc.code = ?code, "RPC failed: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    /// A log that the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Answers `/csi.v1.Node/Fail` with NotFound and everything else with success.
    async fn answer(request: http::Request<()>) -> Result<http::Response<()>, Infallible> {
        if request.uri().path().ends_with("/Fail") {
            Ok(Status::not_found("volume v does not exist").into_http())
        } else {
            Ok(http::Response::new(()))
        }
    }

    fn call(path: &str, log: &Captured) {
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let mut service = LogFailuresLayer.layer(tower::service_fn(answer));
        let request = http::Request::builder().uri(path).body(()).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(service.call(request)).unwrap();
    }

    #[test]
    fn failed_calls_are_logged_with_method_and_code_and_successes_are_not() {
        let log = Captured::default();
        call("/csi.v1.Node/Fail", &log);
        let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("WARN"), "{text}");
        assert!(text.contains("/csi.v1.Node/Fail"), "{text}");
        assert!(text.contains("NotFound"), "{text}");
        assert!(text.contains("volume v does not exist"), "{text}");

        let log = Captured::default();
        call("/csi.v1.Node/NodeGetInfo", &log);
        assert!(log.0.lock().unwrap().is_empty());
    }
}
