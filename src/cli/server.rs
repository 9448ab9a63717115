//! `strata server`'s command line: flags and environment into a checked `ServerConfig`. Bad
//! flags are refused here, before a drive is touched.

use anyhow::{bail, Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use strata_engine::Config;
use strata_server::{
    expand_groups, Credentials, Limits, OpenIdConfig, ScrapeAccess, ServerConfig, StsConfig,
};
use strata_util::size::parse_size;

/// Credentials compiled in for `--dev` only.
pub const DEV_USER: &str = "strataadmin";
pub const DEV_PASSWORD: &str = "strataadmin";

/// (No `Debug`: it holds the root secret.)
#[derive(clap::Args, Clone)]
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
    /// The previous root access key, after the root credentials were changed: the stored
    /// users' and service accounts' secrets are sealed again under the new ones at start-up
    /// [env: STRATA_ROOT_USER_OLD].
    #[arg(long, env = "STRATA_ROOT_USER_OLD", hide_env_values = true)]
    pub old_access_key: Option<String>,
    /// The previous root secret key [env: STRATA_ROOT_PASSWORD_OLD].
    #[arg(long, env = "STRATA_ROOT_PASSWORD_OLD", hide_env_values = true)]
    pub old_secret_key: Option<String>,
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
    /// Shortest lifetime STS credentials may be asked for (DurationSeconds): AWS's 15 minutes.
    /// Lower it (down to 1s) only for tests and short-lived jobs that want credentials to run
    /// out quickly.
    #[arg(long, default_value = "15m")]
    pub sts_min_duration: String,
    /// OpenID issuer whose tokens AssumeRoleWithWebIdentity accepts, exactly as the tokens'
    /// `iss` (a Kubernetes cluster's service account issuer, e.g.
    /// https://kubernetes.default.svc.cluster.local); unset: no web identity logins.
    #[arg(long, env = "STRATA_IDENTITY_OPENID_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// Where the issuer's key set (JWKS) is (http:// or https://); default: the `jwks_uri` of
    /// <issuer>/.well-known/openid-configuration.
    #[arg(long, env = "STRATA_IDENTITY_OPENID_JWKS_URL")]
    pub oidc_jwks_url: Option<String>,
    /// The audience the tokens must be for (their `aud`); required with --oidc-issuer.
    #[arg(long, env = "STRATA_IDENTITY_OPENID_AUDIENCE")]
    pub oidc_audience: Option<String>,
    /// The token claim naming the policies the credentials get (comma-separated or a list).
    #[arg(long, env = "STRATA_IDENTITY_OPENID_CLAIM_NAME", default_value = strata_server::DEFAULT_CLAIM_NAME)]
    pub oidc_claim_name: String,
    /// CA bundle (PEM) trusted when fetching the issuer's documents over https (in a pod:
    /// /var/run/secrets/kubernetes.io/serviceaccount/ca.crt); default: the system's roots.
    #[arg(long, env = "STRATA_IDENTITY_OPENID_CA_FILE")]
    pub oidc_ca_file: Option<PathBuf>,
    /// File whose content is sent as a bearer token with those fetches, read at each (in a
    /// pod: /var/run/secrets/kubernetes.io/serviceaccount/token; the API server serves its
    /// key set to service accounts).
    #[arg(long, env = "STRATA_IDENTITY_OPENID_TOKEN_FILE")]
    pub oidc_token_file: Option<PathBuf>,
    /// Policies every token of the issuer gets, comma-separated, instead of a claim's (the way
    /// for Kubernetes service account tokens, which name none).
    #[arg(long, env = "STRATA_IDENTITY_OPENID_ROLE_POLICY")]
    pub oidc_role_policy: Option<String>,
    /// Drive folders or mount points; ellipsis groups like /mnt/disk{1...8} form their own sets.
    pub drives: Vec<String>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrometheusAuth {
    Jwt,
    Public,
}

impl ServerArgs {
    pub fn config(self) -> Result<ServerConfig> {
        let (drives, engine) = deployment(&self)?;
        let root = credentials(&self)?;
        let old_root = old_credentials(&self)?;
        let (limits, max_requests, requests_deadline) = client_limits(&self)?;
        let scrape = match self.prometheus_auth {
            PrometheusAuth::Public => ScrapeAccess::Public,
            PrometheusAuth::Jwt => ScrapeAccess::Token {
                access_key: root.access_key.clone(),
                secret_key: root.secret_key.clone(),
            },
        };
        Ok(ServerConfig {
            address: parse_address(&self.address)?,
            drives,
            engine,
            root,
            old_root,
            show_credentials: self.dev,
            usage_interval: usage_interval(&self)?,
            post_max_size: parse_size(&self.post_max_size)
                .context("--post-max-size (e.g. 64MiB)")?,
            limits,
            max_requests,
            requests_deadline,
            max_connections: self.max_connections,
            scrape,
            sts: sts(&self)?,
            region: self.region,
            domains: self.domain,
        })
    }
}

/// `--sts-min-duration` and the `--oidc-*` flags.
fn sts(args: &ServerArgs) -> Result<StsConfig> {
    let min_duration = humantime::parse_duration(&args.sts_min_duration)
        .context("--sts-min-duration (e.g. 15m, 1s)")?;
    if min_duration < Duration::from_secs(1) || min_duration > strata_server::AWS_MIN_DURATION {
        bail!("--sts-min-duration must be from 1s to 15m (it can only lower AWS's minimum)");
    }
    let role_policy: Vec<String> = args
        .oidc_role_policy
        .iter()
        .flat_map(|p| p.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let Some(issuer) = args.oidc_issuer.clone().filter(|i| !i.is_empty()) else {
        if args.oidc_jwks_url.is_some()
            || args.oidc_audience.is_some()
            || !role_policy.is_empty()
            || args.oidc_ca_file.is_some()
            || args.oidc_token_file.is_some()
        {
            bail!("--oidc-jwks-url, --oidc-audience, --oidc-role-policy, --oidc-ca-file and --oidc-token-file need --oidc-issuer");
        }
        return Ok(StsConfig {
            min_duration,
            openid: None,
        });
    };
    let audience = args
        .oidc_audience
        .clone()
        .filter(|a| !a.is_empty())
        .context("--oidc-issuer needs --oidc-audience (the `aud` its tokens are for)")?;
    if !role_policy.is_empty() && args.oidc_claim_name != strata_server::DEFAULT_CLAIM_NAME {
        // MinIO refuses the combination too: which one would decide?
        bail!("--oidc-role-policy and --oidc-claim-name cannot both be set");
    }
    if args.oidc_claim_name.is_empty() {
        bail!("--oidc-claim-name must not be empty");
    }
    if !issuer.starts_with("https://") && !issuer.starts_with("http://") {
        bail!("--oidc-issuer must be an http(s) URL, as the tokens' `iss` is");
    }
    // A bearer token is a credential: sent over https only.
    let fetched_from = args.oidc_jwks_url.as_deref().unwrap_or(&issuer);
    if args.oidc_token_file.is_some() && strata_server::https_origin(fetched_from).is_none() {
        bail!("--oidc-token-file needs an https key set URL (--oidc-jwks-url or the issuer): the token is never sent in the clear");
    }
    match &args.oidc_jwks_url {
        Some(url) => strata_server::check_url(url).context("--oidc-jwks-url")?,
        None => strata_server::check_url(&issuer).context(
            "--oidc-issuer: its discovery document cannot be fetched; give --oidc-jwks-url",
        )?,
    }
    Ok(StsConfig {
        min_duration,
        openid: Some(OpenIdConfig {
            issuer,
            jwks_url: args.oidc_jwks_url.clone(),
            audience,
            claim_name: args.oidc_claim_name.clone(),
            role_policy,
            ca_file: args.oidc_ca_file.clone(),
            token_file: args.oidc_token_file.clone(),
        }),
    })
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
        scan_bytes_per_sec: parse_size(&args.scan_rate).context("--scan-rate")?,
        rebuild_bytes_per_sec: match args.rebuild_rate.as_str() {
            "unlimited" => u64::MAX,
            r => parse_size(r).context("--rebuild-rate")?,
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

/// The root credentials before a change, if given (both or neither).
fn old_credentials(args: &ServerArgs) -> Result<Option<Credentials>> {
    match (&args.old_access_key, &args.old_secret_key) {
        (Some(u), Some(p)) => Ok(Some(Credentials {
            access_key: u.clone(),
            secret_key: p.clone(),
        })),
        (None, None) => Ok(None),
        _ => bail!("STRATA_ROOT_USER_OLD and STRATA_ROOT_PASSWORD_OLD must be given together"),
    }
}

fn credentials(args: &ServerArgs) -> Result<Credentials> {
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
    Ok(Credentials {
        access_key: user,
        secret_key: password,
    })
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

/// The time limits of a connection and the request bound (requests at once, the wait for a
/// turn), from the flags.
fn client_limits(args: &ServerArgs) -> Result<(Limits, usize, Duration)> {
    let duration = |v: &str, flag: &str| {
        humantime::parse_duration(v).with_context(|| format!("{flag} (e.g. 30s)"))
    };
    let min_body_rate = match args.min_body_rate.as_str() {
        "0" | "off" => 0,
        r => parse_size(r).context("--min-body-rate (e.g. 1KiB)")?,
    };
    let limits = Limits {
        header: duration(&args.header_timeout, "--header-timeout")?,
        idle: duration(&args.idle_timeout, "--idle-timeout")?,
        body: duration(&args.body_timeout, "--body-timeout")?,
        min_body_rate,
    };
    let max = match args.max_requests.as_str() {
        "auto" => strata_server::default_max_requests(),
        n => n
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .context("--max-requests must be `auto` or a number above 0")?,
    };
    let deadline = duration(&args.requests_deadline, "--requests-deadline")?;
    Ok((limits, max, deadline))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::path::Path;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    fn sts_of(flags: &[&str]) -> Result<StsConfig> {
        let cli = Cli::try_parse_from(std::iter::once("strata").chain(flags.iter().copied()))?;
        sts(&cli.server)
    }

    #[test]
    fn sts_flags_are_checked() {
        let c = sts_of(&[]).unwrap();
        assert_eq!(c.min_duration, Duration::from_secs(900));
        assert!(c.openid.is_none());
        let c = sts_of(&["--sts-min-duration", "1s"]).unwrap();
        assert_eq!(c.min_duration, Duration::from_secs(1));
        for bad in ["0s", "16m", "soon"] {
            assert!(sts_of(&["--sts-min-duration", bad]).is_err(), "{bad}");
        }
        let issuer = [
            "--oidc-issuer",
            "http://idp:8080",
            "--oidc-audience",
            "strata",
        ];
        let c = sts_of(&issuer).unwrap().openid.unwrap();
        assert_eq!(
            (
                c.issuer.as_str(),
                c.audience.as_str(),
                c.claim_name.as_str()
            ),
            ("http://idp:8080", "strata", "policy")
        );
        assert!(c.jwks_url.is_none() && c.role_policy.is_empty());
        let with = |extra: &[&str]| sts_of(&[&issuer[..], extra].concat());
        let c = with(&["--oidc-role-policy", "a, b,,c"])
            .unwrap()
            .openid
            .unwrap();
        assert_eq!(c.role_policy, ["a", "b", "c"]);
        // Refused: no audience, provider flags without an issuer, both ways of naming
        // policies, an issuer that is no URL, a JWKS URL that is not http(s).
        assert!(sts_of(&["--oidc-issuer", "http://idp"]).is_err());
        assert!(sts_of(&["--oidc-audience", "strata"]).is_err());
        assert!(sts_of(&["--oidc-role-policy", "a"]).is_err());
        assert!(sts_of(&["--oidc-ca-file", "/ca.crt"]).is_err());
        assert!(sts_of(&["--oidc-token-file", "/token"]).is_err());
        // The token is never sent in the clear.
        let token_over_http = ["--oidc-token-file", "/token"];
        assert!(with(&token_over_http).is_err());
        assert!(with(&["--oidc-role-policy", "a", "--oidc-claim-name", "groups"]).is_err());
        assert!(with(&["--oidc-claim-name", ""]).is_err());
        assert!(with(&["--oidc-jwks-url", "ftp://idp/keys"]).is_err());
        // An https issuer (a Kubernetes API server's), with its CA and a token to fetch with.
        let https = ["--oidc-issuer", "https://k8s", "--oidc-audience", "strata"];
        let c = sts_of(
            &[
                &https[..],
                &["--oidc-ca-file", "/ca.crt", "--oidc-token-file", "/token"],
            ]
            .concat(),
        )
        .unwrap()
        .openid
        .unwrap();
        assert_eq!(c.ca_file.as_deref(), Some(Path::new("/ca.crt")));
        assert_eq!(c.token_file.as_deref(), Some(Path::new("/token")));
        let c = sts_of(
            &[
                &https[..],
                &["--oidc-jwks-url", "http://127.0.0.1:8001/keys"],
            ]
            .concat(),
        );
        assert_eq!(
            c.unwrap().openid.unwrap().jwks_url.as_deref(),
            Some("http://127.0.0.1:8001/keys")
        );
        assert!(sts_of(&["--oidc-issuer", "idp", "--oidc-audience", "a"]).is_err());
    }
}
