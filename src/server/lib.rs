//! The object server (`strata server`): the S3 API over an erasure-coded deployment of drive
//! folders — the HTTP front with its client limits, health and metrics, the engine's background
//! work. Given a checked `ServerConfig`; the command line is the binary's (`src/cli/server.rs`).

mod admin;
mod authorize;
mod body;
mod domains;
mod ellipsis;
mod errdoc;
mod http;
mod iam;
mod jwt;
mod limits;
mod metrics;
mod quota;
mod routes;
mod sts;
pub mod token;

pub use ellipsis::{expand, expand_groups};
pub use limits::{default_max_requests, Limits};
pub use sts::{
    check_url, https_origin, OpenIdConfig, StsConfig, AWS_MIN_DURATION, DEFAULT_CLAIM_NAME,
};
pub use token::ScrapeAccess;

#[cfg(test)]
mod tests;

use anyhow::{Context, Result};
use hyper_util::rt::TokioIo;
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use strata_engine::{Config, Engine};
use strata_s3::access::AccessConfigs;
use strata_s3::StrataS3;
use tokio::net::TcpListener;

/// An access key and its secret; `Debug` never shows the secret (a config may be logged).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

/// What `strata server` serves, checked; the command line that fills it is the binary's.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub address: SocketAddr,
    /// The drives, by group: each group forms its own erasure sets.
    pub drives: Vec<Vec<PathBuf>>,
    pub engine: Config,
    /// The root user's.
    pub root: Credentials,
    /// The root user's before they were changed: stored secrets sealed under them are sealed
    /// again under `root` at start-up.
    pub old_root: Option<Credentials>,
    /// Print the root credentials at start-up (a development deployment's are built in).
    pub show_credentials: bool,
    pub region: String,
    /// Domains for virtual-hosted-style requests (`bucket.DOMAIN`).
    pub domains: Vec<String>,
    /// How often bucket usage is counted again; `None` for never.
    pub usage_interval: Option<Duration>,
    /// Largest file of a browser POST upload (held in memory until stored).
    pub post_max_size: u64,
    /// The time limits of a connection.
    pub limits: Limits,
    /// S3 requests served at once, and how long one waits for a turn.
    pub max_requests: usize,
    pub requests_deadline: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Who may read /minio/v2/metrics/*.
    pub scrape: ScrapeAccess,
    /// What STS (AssumeRole, AssumeRoleWithWebIdentity) accepts.
    pub sts: StsConfig,
}

/// Seals the stored secrets that open only with the old root credentials again under the
/// current ones, and warns of any that open with neither (root credentials changed without
/// the old ones given: those users and service accounts cannot sign in).
fn reseal(iam: &strata_iam::Iam, old_root: Option<&Credentials>) -> Result<()> {
    if let Some(old) = old_root {
        let old = strata_iam::Sealer::from_root(&old.access_key, &old.secret_key)
            .context("the old root credentials")?;
        let done = iam
            .reseal_from(&old)
            .context("sealing the stored secrets under the new root credentials")?;
        tracing::info!(
            moved = done.moved,
            "stored secrets sealed under the current root credentials"
        );
    }
    let stuck = iam.unopenable();
    if stuck > 0 {
        tracing::warn!(
            documents = stuck,
            "stored secrets do not open with these root credentials; if they were changed, \
             start once with STRATA_ROOT_USER_OLD and STRATA_ROOT_PASSWORD_OLD set to the old ones"
        );
    }
    Ok(())
}

/// Removes expired temporary credentials every ten minutes: they stop authenticating at their
/// expiry, and this keeps the store (and each parent's count of live ones) from growing.
fn purge_expired_credentials(iam: Arc<strata_iam::Iam>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(600));
        loop {
            every.tick().await;
            let iam = iam.clone();
            match tokio::task::spawn_blocking(move || iam.purge_expired(iam::now())).await {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => tracing::info!(removed = n, "expired temporary credentials removed"),
                Ok(Err(e)) => tracing::warn!(error = %e, "removing expired temporary credentials"),
                Err(e) => tracing::warn!(error = %e, "the purge of temporary credentials stopped"),
            }
        }
    });
}

pub fn run(cfg: ServerConfig) -> Result<()> {
    let engine =
        Arc::new(Engine::open(&cfg.drives, cfg.engine.clone()).context("opening the drives")?);
    for p in engine.problems() {
        tracing::warn!(problem = ?p, "drive problem");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strata-io")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(engine, cfg))
}

async fn serve(engine: Arc<Engine>, cfg: ServerConfig) -> Result<()> {
    let Credentials {
        access_key: user,
        secret_key: password,
    } = cfg.root.clone();
    let (iam, access) = {
        let engine = engine.clone();
        let (user, password) = (user.clone(), password.clone());
        let old_root = cfg.old_root.clone();
        tokio::task::spawn_blocking(move || -> Result<_> {
            let sealer =
                strata_iam::Sealer::from_root(&user, &password).context("the root credentials")?;
            let backend = Arc::new(iam::EngineBackend::new(engine.clone()));
            let iam = strata_iam::Iam::load(backend, sealer).context("reading the IAM state")?;
            reseal(&iam, old_root.as_ref())?;
            let access = AccessConfigs::load(&engine).context("reading the buckets' policies")?;
            Ok((Arc::new(iam), Arc::new(access)))
        })
        .await??
    };
    let addr = cfg.address;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    let usage = Arc::new(metrics::usage::Usage::default());
    if let Some(every) = cfg.usage_interval {
        usage
            .spawn(engine.clone(), every)
            .context("starting the usage counter")?;
    }
    let quotas = Arc::new(quota::QuotaEnforcer::new(access.clone(), usage.clone()));
    let mut builder = S3ServiceBuilder::new(StrataS3::new(
        engine.clone(),
        cfg.region.clone(),
        access.clone(),
        quotas,
    ));
    builder.set_auth(iam::IamAuth { iam: iam.clone() });
    // Unsigned x-amz-* headers, presigned lifetimes, features that are not there.
    builder.set_access(
        strata_s3::gate::Gate::new(Arc::new(authorize::Authorize::new(
            iam.clone(),
            access.clone(),
        )))
        .with_object_tags(Arc::new(strata_s3::gate::EngineTags(engine.clone()))),
    );
    // The admin API, STS, and the refusals of browser POST forms decided in the front: all
    // answered after the signature is checked.
    purge_expired_credentials(iam.clone());
    let sts = sts::StsRoute::new(iam.clone(), cfg.sts.clone())
        .context("setting up the OpenID provider's fetches")?;
    sts.prefetch();
    builder.set_route(routes::Routes {
        admin: admin::AdminRoute::new(
            iam.clone(),
            engine.clone(),
            access.clone(),
            usage.clone(),
            admin::ServerFacts {
                endpoint: server_name(local),
                region: cfg.region.clone(),
                started: std::time::Instant::now(),
            },
        ),
        sts,
        post: strata_s3::post::PostRoute,
    });
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(
        protocol_limits(&cfg),
    ))));
    if !cfg.domains.is_empty() {
        // Validates the names (valid, not overlapping); the parsing is ours (see `Domains`).
        s3s::host::MultiDomain::new(&cfg.domains).context("bad --domain")?;
        builder.set_host(domains::Domains::new(&cfg.domains));
    }
    let front = Arc::new(http::Front::new(
        builder.build(),
        engine,
        Arc::new(metrics::Metrics::default()),
        usage,
        http::FrontConfig {
            domains: domains::Domains::new(&cfg.domains),
            scrape: cfg.scrape.clone(),
            server: server_name(local),
            limits: cfg.limits,
            requests: limits::RequestLimiter::new(cfg.max_requests, cfg.requests_deadline),
        },
    ));
    let shown = if local.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", local.port())
    } else {
        format!("http://{local}")
    };
    // One line scripts can wait for (tests parse it).
    println!("Strata S3 endpoint: {shown}");
    if cfg.show_credentials {
        println!("Development credentials: access key {user}, secret key {password}");
    }
    let conn_limits = cfg.limits;
    let slots = Arc::new(tokio::sync::Semaphore::new(cfg.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    let mut backoff = AcceptBackoff::default();
    loop {
        let accepted = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => tokio::select! {
                    accepted = listener.accept() => accepted.map(|c| (c, slot)),
                    () = &mut stop => break,
                },
                Err(_) => break, // the semaphore is never closed
            },
            () = &mut stop => break,
        };
        let ((stream, peer), slot) = match accepted {
            Ok(c) => {
                backoff.reset();
                c
            }
            Err(e) => {
                // Out of file descriptors (or memory): wait for connections to end instead of
                // retrying at once, which would spin a core and flood the log.
                backoff.wait(&e).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let front = front.clone();
        let state = limits::ConnState::new(Some(peer));
        let watched = limits::Watched::new(stream, state.clone());
        let service_state = state.clone();
        let service =
            hyper::service::service_fn(move |req| front.clone().handle(req, service_state.clone()));
        // The time limits are the watchdog's (`limits`); hyper's own header timer would also
        // cut kept-alive connections at the header timeout.
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            // A client that shuts down its sending side after the body still gets its answer.
            .half_close(true)
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(None)
            .serve_connection(TokioIo::new(watched), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            tokio::select! {
                done = conn => if let Err(e) = done {
                    tracing::debug!(%e, "connection closed with an error");
                },
                () = limits::watchdog(state, conn_limits) => {
                    tracing::debug!("connection closed: a time limit was reached");
                }
            }
            drop(slot);
        });
    }
    // Stop listening now, so that new connections are refused at once (clients and load
    // balancers move on) instead of waiting in the backlog until the drain is over.
    drop(listener);
    tracing::info!("draining requests");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("all requests finished"),
        () = tokio::time::sleep(Duration::from_secs(30)) => tracing::warn!("requests still running after 30 s; stopping"),
    }
    Ok(())
}

/// The protocol layer's own bounds: request documents as large as the access gate lets in, and
/// POST files (held in memory) up to `post_max_size`.
fn protocol_limits(cfg: &ServerConfig) -> s3s::config::S3Config {
    let mut c = s3s::config::S3Config::default();
    c.xml_max_body_size = strata_s3::gate::MAX_DOCUMENT as usize;
    c.post_object_max_file_size = cfg.post_max_size;
    c
}

/// The metrics' `server` label: the address clients reach, the host's name when listening on
/// every interface (as MinIO names its nodes `host:port`).
fn server_name(local: SocketAddr) -> String {
    if !local.ip().is_unspecified() {
        return local.to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", local.port())
}

/// Pauses after failed accepts: 10 ms doubling to 1 s. Logs the first failure, then one line
/// per second while they go on (a failing accept repeats until connections end).
#[derive(Default)]
struct AcceptBackoff {
    pause: Duration,
}

impl AcceptBackoff {
    async fn wait(&mut self, e: &std::io::Error) {
        self.pause = (self.pause * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
        if self.pause == Duration::from_millis(10) || self.pause >= Duration::from_secs(1) {
            tracing::warn!(%e, "accept failed; retrying in 1 s");
        }
        tokio::time::sleep(self.pause).await;
    }

    fn reset(&mut self) {
        self.pause = Duration::ZERO;
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(mut term), Ok(mut int)) => {
            tokio::select! {
                _ = term.recv() => {},
                _ = int.recv() => {},
            }
        }
        _ => std::future::pending().await,
    }
}
