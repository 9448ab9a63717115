//! What one client may cost: time limits on every phase of a connection, and a bound on the
//! requests served at once. A slow or stalled client is disconnected; it never holds a thread
//! (bodies are read asynchronously, see `s3::body`), and beyond the request bound new requests
//! get a clean 503 SlowDown instead of queueing without end.
//!
//! - **Headers**: a request's headers must be complete within `header` of the connection's
//!   start or of the request's first byte (slowloris).
//! - **Idle**: a kept-alive connection may wait `idle` for its next request.
//! - **Bodies**: a request body that the server is waiting for must make progress every
//!   `body` and, once `body` has passed, arrive at `min_body_rate` on average since it started
//!   (a trickle of a byte every few seconds is cut off); a response the client does not read
//!   for `body` is abandoned.
//!
//! The connection-level limits are kept by a watchdog per connection over `Watched` I/O; the
//! body limits by `GuardedBody`, which only counts time the server spends waiting for bytes.

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The time limits of a connection (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub header: Duration,
    pub idle: Duration,
    pub body: Duration,
    /// Bytes per second.
    pub min_body_rate: u64,
}

/// Milliseconds since the process's first use of this clock (0 means "never": the clock
/// starts at 1).
fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    let start = *START.get_or_init(|| Instant::now() - Duration::from_millis(1));
    start.elapsed().as_millis() as u64
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// What the watchdog knows of one connection.
#[derive(Debug)]
pub struct ConnState {
    /// The client's address (policies' `aws:SourceIp`).
    pub peer: Option<std::net::SocketAddr>,
    accepted: u64,
    /// Requests being served (0 or 1 with HTTP/1.1).
    in_flight: AtomicU32,
    /// When the last response was done (0: none yet).
    last_done: AtomicU64,
    /// When the first byte of the next request came, while none was being served (0: none).
    head_started: AtomicU64,
    /// Since when a write to the client has been waiting (0: not waiting).
    write_blocked: AtomicU64,
}

impl ConnState {
    pub fn new(peer: Option<std::net::SocketAddr>) -> Arc<ConnState> {
        Arc::new(ConnState {
            peer,
            accepted: now_ms(),
            in_flight: AtomicU32::new(0),
            last_done: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            write_blocked: AtomicU64::new(0),
        })
    }

    /// A request's headers were read: it is being served until the returned guard is dropped
    /// (with its response body).
    pub fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.head_started.store(0, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// When the connection is to be closed if nothing changes, in ms of `now_ms`.
    fn deadline(&self, l: &Limits) -> u64 {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return match self.write_blocked.load(Ordering::SeqCst) {
                0 => now_ms() + ms(l.body),
                since => since + ms(l.body),
            };
        }
        match (
            self.head_started.load(Ordering::SeqCst),
            self.last_done.load(Ordering::SeqCst),
        ) {
            (0, 0) => self.accepted + ms(l.header),
            (0, done) => done + ms(l.idle),
            (first_byte, _) => first_byte + ms(l.header),
        }
    }
}

/// A request being served; dropped with its response, after the last byte went out (or when the
/// connection ended).
#[derive(Debug)]
pub struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_done.store(now_ms(), Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves when the connection has broken one of its limits (the caller then drops it). The
/// state changes without telling the watchdog, so it looks again at least once per shortest
/// limit: any deadline is then seen on time.
pub async fn watchdog(state: Arc<ConnState>, limits: Limits) {
    let look_again = ms(limits.header.min(limits.idle).min(limits.body)).max(1);
    loop {
        let deadline = state.deadline(&limits);
        let now = now_ms();
        if deadline <= now {
            return;
        }
        let wait = (deadline - now).min(look_again);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// A connection's socket, telling its `ConnState` when a request's first byte arrives and when
/// writes to the client wait.
pub struct Watched<T> {
    inner: T,
    state: Arc<ConnState>,
}

impl<T> Watched<T> {
    pub fn new(inner: T, state: Arc<ConnState>) -> Watched<T> {
        Watched { inner, state }
    }

    /// A write that waits marks the connection blocked (from the first such write on); one
    /// that goes through clears it.
    fn wrote(&self, polled: &Poll<io::Result<usize>>) {
        let blocked = &self.state.write_blocked;
        match polled {
            Poll::Pending => {
                let _ = blocked.compare_exchange(0, now_ms(), Ordering::SeqCst, Ordering::SeqCst);
            }
            Poll::Ready(_) => {
                if blocked.load(Ordering::Relaxed) != 0 {
                    blocked.store(0, Ordering::SeqCst);
                }
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        let s = &self.state;
        if buf.filled().len() > before && s.in_flight.load(Ordering::SeqCst) == 0 {
            let _ =
                s.head_started
                    .compare_exchange(0, now_ms(), Ordering::SeqCst, Ordering::SeqCst);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Not a sign of progress: a socket's flush is ready at once, bytes written or not.
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Why a request body was cut off.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body timed out: no bytes for {0:?}")]
    Stalled(Duration),
    #[error("the request body is too slow: {received} bytes in {elapsed:?}, under {rate} bytes/s")]
    TooSlow {
        received: u64,
        elapsed: Duration,
        rate: u64,
    },
    #[error(transparent)]
    Http(#[from] hyper::Error),
}

/// A request body held to the body limits; `timed_out` is set when it was cut off, so that the
/// front can answer RequestTimeout whatever the operation made of the error.
pub struct GuardedBody<B> {
    inner: B,
    limits: Limits,
    started: Option<Instant>,
    last: Instant,
    received: u64,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    pub timed_out: Arc<AtomicBool>,
}

impl<B> GuardedBody<B> {
    pub fn new(inner: B, limits: Limits) -> GuardedBody<B> {
        GuardedBody {
            inner,
            limits,
            started: None,
            last: Instant::now(),
            received: 0,
            sleep: None,
            timed_out: Arc::new(AtomicBool::new(false)),
        }
    }

    /// When the body breaks a limit if no more bytes come.
    fn deadline(&self, started: Instant) -> Instant {
        let stall = self.last + self.limits.body;
        if self.limits.min_body_rate == 0 {
            return stall;
        }
        // The average since the start falls under the rate once received / rate seconds have
        // passed; not judged before the grace period (`body`) is over.
        let at_rate =
            Duration::from_secs_f64(self.received as f64 / self.limits.min_body_rate as f64);
        stall.min(started + at_rate.max(self.limits.body))
    }

    fn failure(&self, now: Instant, started: Instant) -> BodyError {
        if now >= self.last + self.limits.body {
            BodyError::Stalled(self.limits.body)
        } else {
            BodyError::TooSlow {
                received: self.received,
                elapsed: now - started,
                rate: self.limits.min_body_rate,
            }
        }
    }
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes, Error = hyper::Error> + Unpin,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let now = Instant::now();
        let started = *self.started.get_or_insert(now);
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    self.received += n;
                    if n > 0 {
                        self.last = now;
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(other) => Poll::Ready(other.map(|r| r.map_err(BodyError::from))),
            Poll::Pending => {
                let deadline = self.deadline(started);
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
                if sleep.deadline() != deadline.into() {
                    sleep.as_mut().reset(deadline.into());
                }
                if now < deadline && sleep.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                self.timed_out.store(true, Ordering::SeqCst);
                Poll::Ready(Some(Err(self.failure(Instant::now(), started))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// At most `max` requests served at once; a request waits up to `deadline` for its turn, then
/// is answered 503 SlowDown.
pub struct RequestLimiter {
    slots: Arc<Semaphore>,
    deadline: Duration,
}

impl RequestLimiter {
    pub fn new(max: usize, deadline: Duration) -> RequestLimiter {
        RequestLimiter {
            slots: Arc::new(Semaphore::new(max.max(1))),
            deadline,
        }
    }

    /// A turn, or `None` when none came within the deadline.
    pub async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        // Most requests find a free slot: no timer for them.
        if let Ok(turn) = self.slots.clone().try_acquire_owned() {
            return Some(turn);
        }
        tokio::time::timeout(self.deadline, self.slots.clone().acquire_owned())
            .await
            .ok()?
            .ok()
    }
}

/// The default request bound: a request in flight may hold a few blocks (1 MiB each) of the
/// body and their shards; allow half the memory for them, within 256..4096.
pub fn default_max_requests() -> usize {
    // SAFETY: sysconf only reads system configuration values.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let memory = (pages.max(0) as u64).saturating_mul(page.max(0) as u64);
    ((memory / 2 / (4 << 20)) as usize).clamp(256, 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            header: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            body: Duration::from_secs(30),
            min_body_rate: 1024,
        }
    }

    #[test]
    fn a_connection_is_judged_by_what_it_is_doing() {
        let l = limits();
        let s = ConnState::new(None);
        // New: its first request's headers within `header`.
        assert_eq!(s.deadline(&l), s.accepted + 10_000);
        // Serving a request: not judged while the client is not being waited on.
        let req = s.begin_request();
        assert!(s.deadline(&l) >= now_ms() + 29_000);
        s.write_blocked.store(5, Ordering::SeqCst);
        assert_eq!(s.deadline(&l), 5 + 30_000);
        s.write_blocked.store(0, Ordering::SeqCst);
        drop(req);
        // Kept alive: the next request within `idle`, then its headers within `header`.
        let done = s.last_done.load(Ordering::SeqCst);
        assert_eq!(s.deadline(&l), done + 60_000);
        s.head_started.store(done + 7, Ordering::SeqCst);
        assert_eq!(s.deadline(&l), done + 7 + 10_000);
    }

    #[test]
    fn a_body_must_keep_moving_and_keep_up_the_rate() {
        let mut b = GuardedBody::new((), limits());
        let t0 = Instant::now();
        b.last = t0;
        // Nothing yet: judged at the grace period's end.
        assert_eq!(b.deadline(t0), t0 + Duration::from_secs(30));
        // 100 KiB keeps it until 100 s at 1 KiB/s, unless it stalls first.
        b.received = 100 * 1024;
        b.last = t0 + Duration::from_secs(20);
        assert_eq!(b.deadline(t0), t0 + Duration::from_secs(50));
        b.last = t0 + Duration::from_secs(90);
        assert_eq!(b.deadline(t0), t0 + Duration::from_secs(100));
        assert!(matches!(
            b.failure(t0 + Duration::from_secs(100), t0),
            BodyError::TooSlow { .. }
        ));
        assert!(matches!(
            b.failure(t0 + Duration::from_secs(121), t0),
            BodyError::Stalled(_)
        ));
    }
}
