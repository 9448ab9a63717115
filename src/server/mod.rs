//! `strata server`: the S3 API over an erasure-coded deployment of drive folders.

mod domains;
mod ellipsis;
mod errdoc;
mod http;
mod limits;
mod metrics;
pub mod scrape;
pub mod token;

pub use ellipsis::{expand, expand_groups};

use crate::engine::{Config, Engine};
use crate::s3::StrataS3;
use anyhow::{bail, Context, Result};
use hyper_util::rt::TokioIo;
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::S3ServiceBuilder;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Credentials compiled in for `--dev` only.
pub const DEV_USER: &str = "strataadmin";
pub const DEV_PASSWORD: &str = "strataadmin";

#[derive(clap::Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address to listen on (`:9000` is every interface).
    #[arg(long, default_value = ":9000")]
    pub address: String,
    /// Start a small erasure-coded deployment (4 folders, 2 parity) under --data-dir with
    /// development credentials.
    #[arg(long)]
    pub dev: bool,
    /// Where --dev keeps its drive folders.
    #[arg(long, default_value = ".strata-dev")]
    pub data_dir: PathBuf,
    /// Root access key [env: STRATA_ROOT_USER].
    #[arg(long, env = "STRATA_ROOT_USER", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Root secret key [env: STRATA_ROOT_PASSWORD].
    #[arg(long, env = "STRATA_ROOT_PASSWORD", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Domain for virtual-hosted-style requests (`bucket.DOMAIN`); repeatable.
    #[arg(long)]
    pub domain: Vec<String>,
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Drives per erasure set (default: the largest of 16..2 dividing each drive group).
    #[arg(long)]
    pub set_size: Option<usize>,
    /// Parity shards per set (default: 2 for 4-5 drives, 3 for 6-7, 4 for 8-16).
    #[arg(long)]
    pub parity: Option<usize>,
    /// Time between the starts of two scanner passes, which read every shard of every object
    /// (parity included) and heal what is missing, stale or damaged; `off` for none.
    #[arg(long, default_value = "24h")]
    pub scan_interval: String,
    /// Bytes per second the scanner may read (e.g. 64MiB).
    #[arg(long, default_value = "64MiB")]
    pub scan_rate: String,
    /// Bytes per second a drive's rebuild may read (e.g. 200MiB), or `unlimited`.
    #[arg(long, default_value = "unlimited")]
    pub rebuild_rate: String,
    /// How often drives out of service are looked for again (a drive that returns, or an
    /// empty one in a missing drive's place, is put back to work and rebuilt).
    #[arg(long, default_value = "10s")]
    pub drive_check_interval: String,
    /// Longest a request waits for one drive (e.g. 5s): a drive that does not answer in time
    /// (a dying disk, a frozen filesystem) is left out of the request and taken offline until
    /// the drive monitor finds it answering again.
    #[arg(long, default_value = "5s")]
    pub drive_timeout: String,
    /// Time a client has to send a request's headers, from the connection's start or the
    /// request's first byte; slower connections are closed (slowloris).
    #[arg(long, default_value = "30s")]
    pub header_timeout: String,
    /// Time a kept-alive connection may wait for its next request.
    #[arg(long, default_value = "60s")]
    pub idle_timeout: String,
    /// Longest a request body may go without a byte while the server waits for it, and a
    /// response without the client reading; also the grace period of --min-body-rate.
    #[arg(long, default_value = "30s")]
    pub body_timeout: String,
    /// Average rate a request body must keep (once --body-timeout has passed), e.g. 1KiB;
    /// `0` for none. Slower bodies are cut off with RequestTimeout.
    #[arg(long, default_value = "1KiB")]
    pub min_body_rate: String,
    /// Connections served at once; more wait in the listen backlog. Keeps the server below its
    /// file descriptor limit, which it would otherwise reach and then spin on.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// Largest file of a browser POST upload. The protocol layer holds the file in memory
    /// until it is stored, so this bounds what one form can cost.
    #[arg(long, default_value = "64MiB")]
    pub post_max_size: String,
    /// S3 requests served at once (`auto`: from the memory, 256..4096); more wait up to
    /// --requests-deadline for a turn, then get 503 SlowDown.
    #[arg(long, default_value = "auto")]
    pub max_requests: String,
    /// How long a request waits for a turn under --max-requests.
    #[arg(long, default_value = "10s")]
    pub requests_deadline: String,
    /// Who may read /minio/v2/metrics/*: `jwt`, holders of a bearer token signed with the root
    /// credentials (`strata prometheus generate`, `mc admin prometheus generate`), or
    /// `public`, anyone.
    #[arg(
        long,
        env = "STRATA_PROMETHEUS_AUTH_TYPE",
        value_enum,
        default_value = "jwt"
    )]
    pub prometheus_auth: PrometheusAuth,
    /// How often bucket usage (objects and bytes, for the metrics) is counted again by
    /// listing every bucket; `off` for never.
    #[arg(long, default_value = "5m")]
    pub usage_interval: String,
    /// Drive folders or mount points; ellipsis groups like /mnt/disk{1...8} form their own sets.
    pub drives: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrometheusAuth {
    Jwt,
    Public,
}

pub fn run(args: ServerArgs) -> Result<()> {
    let (groups, cfg) = deployment(&args)?;
    let (user, password) = credentials(&args)?;
    let addr = parse_address(&args.address)?;
    // Bad flags are refused before the drives are touched.
    usage_interval(&args)?;
    protocol_limits(&args)?;
    let client = client_limits(&args)?;
    let engine = Arc::new(Engine::open(&groups, cfg).context("opening the drives")?);
    for p in engine.problems() {
        tracing::warn!(problem = ?p, "drive problem");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("strata-io")
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(engine, addr, args, (user, password), client))
}

/// `--drive-timeout`: a positive duration.
fn drive_timeout(arg: &str) -> Result<std::time::Duration> {
    let d = humantime::parse_duration(arg).context("--drive-timeout")?;
    if d.is_zero() {
        bail!("--drive-timeout must be more than zero");
    }
    Ok(d)
}

fn deployment(args: &ServerArgs) -> Result<(Vec<Vec<PathBuf>>, Config)> {
    let scan_interval = match args.scan_interval.as_str() {
        "off" | "0" => None,
        d => Some(humantime::parse_duration(d).context("--scan-interval")?),
    };
    let mut cfg = Config {
        set_size: args.set_size,
        parity: args.parity,
        scan_interval,
        scan_bytes_per_sec: crate::bench::parse_size(&args.scan_rate).context("--scan-rate")?,
        rebuild_bytes_per_sec: match args.rebuild_rate.as_str() {
            "unlimited" => u64::MAX,
            r => crate::bench::parse_size(r).context("--rebuild-rate")?,
        },
        drive_check_interval: humantime::parse_duration(&args.drive_check_interval)
            .context("--drive-check-interval")?,
        drive_timeout: drive_timeout(&args.drive_timeout)?,
        ..Config::default()
    };
    if args.dev {
        if !args.drives.is_empty() {
            bail!("--dev makes its own drives under --data-dir; give either --dev or DRIVES");
        }
        let drives: Vec<PathBuf> = (1..=4)
            .map(|i| args.data_dir.join(format!("drive{i}")))
            .collect();
        for d in &drives {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
        cfg.parity = Some(args.parity.unwrap_or(2));
        return Ok((vec![drives], cfg));
    }
    if args.drives.is_empty() {
        bail!("give the drives to serve (e.g. /mnt/disk{{1...4}}), or --dev for a local development deployment");
    }
    let groups = expand_groups(&args.drives)?;
    for d in groups.iter().flatten() {
        // A mistyped path is the likeliest start-up error: say so rather than "not a
        // directory".
        if !d.exists() {
            bail!("drive {} does not exist", d.display());
        }
        if !d.is_dir() {
            bail!("drive {} is not a directory", d.display());
        }
    }
    Ok((groups, cfg))
}

/// `--usage-interval`: `None` for `off`.
fn usage_interval(args: &ServerArgs) -> Result<Option<Duration>> {
    match args.usage_interval.as_str() {
        "off" => Ok(None),
        d => Ok(Some(
            humantime::parse_duration(d).context("--usage-interval (e.g. 5m, off)")?,
        )),
    }
}

fn credentials(args: &ServerArgs) -> Result<(String, String)> {
    let (user, password) = match (&args.access_key, &args.secret_key) {
        (Some(u), Some(p)) => (u.clone(), p.clone()),
        (None, None) if args.dev => (DEV_USER.to_string(), DEV_PASSWORD.to_string()),
        (None, None) => {
            bail!("set STRATA_ROOT_USER and STRATA_ROOT_PASSWORD (or --access-key/--secret-key)")
        }
        _ => bail!("the access key and the secret key must be given together"),
    };
    if !args.dev && (user == DEV_USER || password == DEV_PASSWORD) {
        bail!("the built-in development credentials are only allowed with --dev; choose your own");
    }
    if user.len() < 3 || password.len() < 8 {
        bail!("the access key needs at least 3 characters and the secret key at least 8");
    }
    Ok((user, password))
}

/// `:9000` → every interface; `host:port` as given.
pub fn parse_address(a: &str) -> Result<SocketAddr> {
    let full = if a.starts_with(':') {
        format!("0.0.0.0{a}")
    } else {
        a.to_string()
    };
    full.parse()
        .with_context(|| format!("bad --address {a:?} (expected :PORT or HOST:PORT)"))
}

async fn serve(
    engine: Arc<Engine>,
    addr: SocketAddr,
    args: ServerArgs,
    (user, password): (String, String),
    (limits, requests): (limits::Limits, limits::RequestLimiter),
) -> Result<()> {
    let mut builder = S3ServiceBuilder::new(StrataS3::new(engine.clone(), args.region.clone()));
    builder.set_auth(RootAuth {
        access_key: user.clone(),
        secret_key: SecretKey::from(password.clone()),
    });
    // Unsigned x-amz-* headers, presigned lifetimes, features that are not there.
    builder.set_access(crate::s3::gate::Gate);
    // Refusals of browser POST forms decided in the front, answered after the signature.
    builder.set_route(crate::s3::post::PostRoute);
    builder.set_config(Arc::new(s3s::config::StaticConfigProvider::new(Arc::new(
        protocol_limits(&args)?,
    ))));
    if !args.domain.is_empty() {
        // Validates the names (valid, not overlapping); the parsing is ours (see `Domains`).
        s3s::host::MultiDomain::new(&args.domain).context("bad --domain")?;
        builder.set_host(domains::Domains::new(&args.domain));
    }
    let usage_interval = usage_interval(&args)?;
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    let usage = Arc::new(metrics::usage::Usage::default());
    if let Some(every) = usage_interval {
        usage
            .spawn(engine.clone(), every)
            .context("starting the usage counter")?;
    }
    let scrape = match args.prometheus_auth {
        PrometheusAuth::Public => token::ScrapeAccess::Public,
        PrometheusAuth::Jwt => token::ScrapeAccess::Token {
            access_key: user.clone(),
            secret_key: password.clone(),
        },
    };
    let front = Arc::new(http::Front::new(
        builder.build(),
        engine,
        Arc::new(metrics::Metrics::default()),
        usage,
        http::FrontConfig {
            domains: domains::Domains::new(&args.domain),
            scrape,
            server: server_name(local),
            limits,
            requests,
        },
    ));
    let shown = if local.ip().is_unspecified() {
        format!("http://127.0.0.1:{}", local.port())
    } else {
        format!("http://{local}")
    };
    // One line scripts can wait for (tests parse it).
    println!("Strata S3 endpoint: {shown}");
    if args.dev {
        println!("Development credentials: access key {user}, secret key {password}");
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(args.max_connections.max(1)));
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
        let ((stream, _), slot) = match accepted {
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
        let state = limits::ConnState::new();
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
                () = limits::watchdog(state, limits) => {
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
/// POST files (held in memory) up to --post-max-size.
fn protocol_limits(args: &ServerArgs) -> Result<s3s::config::S3Config> {
    let mut c = s3s::config::S3Config::default();
    c.xml_max_body_size = crate::s3::gate::MAX_DOCUMENT as usize;
    c.post_object_max_file_size =
        crate::bench::parse_size(&args.post_max_size).context("--post-max-size (e.g. 64MiB)")?;
    Ok(c)
}

/// The time limits of a connection and the request bound, from the flags.
fn client_limits(args: &ServerArgs) -> Result<(limits::Limits, limits::RequestLimiter)> {
    let duration = |v: &str, flag: &str| {
        humantime::parse_duration(v).with_context(|| format!("{flag} (e.g. 30s)"))
    };
    let min_body_rate = match args.min_body_rate.as_str() {
        "0" | "off" => 0,
        r => crate::bench::parse_size(r).context("--min-body-rate (e.g. 1KiB)")?,
    };
    let limits = limits::Limits {
        header: duration(&args.header_timeout, "--header-timeout")?,
        idle: duration(&args.idle_timeout, "--idle-timeout")?,
        body: duration(&args.body_timeout, "--body-timeout")?,
        min_body_rate,
    };
    let max = match args.max_requests.as_str() {
        "auto" => limits::default_max_requests(),
        n => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .context("--max-requests must be `auto` or a number above 0")?,
    };
    let deadline = duration(&args.requests_deadline, "--requests-deadline")?;
    Ok((limits, limits::RequestLimiter::new(max, deadline)))
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

/// The root credentials. (s3s's `SimpleAuth` answers an unknown access key with its own
/// `NotSignedUp`; S3 answers `InvalidAccessKeyId`, 403, which clients such as the AWS CLI
/// explain to their users.)
struct RootAuth {
    access_key: String,
    secret_key: SecretKey,
}

#[async_trait::async_trait]
impl S3Auth for RootAuth {
    async fn get_secret_key(&self, access_key: &str) -> s3s::S3Result<SecretKey> {
        if access_key == self.access_key {
            Ok(self.secret_key.clone())
        } else {
            Err(s3s::s3_error!(
                InvalidAccessKeyId,
                "The Access Key Id you provided does not exist in our records."
            ))
        }
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
