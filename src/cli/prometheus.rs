//! `strata prometheus generate`: a Prometheus scrape configuration for a server, with a bearer
//! token signed by its root credentials, as `mc admin prometheus generate` prints one (same
//! token, same layout), so that no `mc` is needed to scrape Strata.

use anyhow::{bail, Context, Result};
use std::time::{SystemTime, UNIX_EPOCH};
use strata_server::token;

#[derive(clap::Args, Clone)]
pub struct PrometheusArgs {
    #[command(subcommand)]
    pub command: PrometheusCommand,
}

#[derive(clap::Subcommand, Clone)]
pub enum PrometheusCommand {
    /// Print a scrape configuration (YAML) with a bearer token for the metrics endpoint.
    Generate(GenerateArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    /// /minio/v2/metrics/cluster: the deployment, S3 traffic, healing, usage.
    Cluster,
    /// /minio/v2/metrics/node: this server's traffic and drives.
    Node,
    /// /minio/v2/metrics/bucket: usage per bucket.
    Bucket,
}

impl MetricType {
    pub fn path(self) -> &'static str {
        match self {
            MetricType::Cluster => "/minio/v2/metrics/cluster",
            MetricType::Node => "/minio/v2/metrics/node",
            MetricType::Bucket => "/minio/v2/metrics/bucket",
        }
    }
}

/// (No `Debug`: it holds the root secret.)
#[derive(clap::Args, Clone)]
pub struct GenerateArgs {
    /// Which metrics page to scrape.
    #[arg(value_enum, default_value = "cluster")]
    pub metric_type: MetricType,
    /// The server's S3 endpoint.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,
    /// Root access key [env: STRATA_ROOT_USER].
    #[arg(long, env = "STRATA_ROOT_USER", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Root secret key [env: STRATA_ROOT_PASSWORD].
    #[arg(long, env = "STRATA_ROOT_PASSWORD", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// How long the token stays valid (mc's tokens: a century).
    #[arg(long, default_value = "100y")]
    pub expiry: String,
    /// The job's name in the configuration.
    #[arg(long, default_value = "minio-job")]
    pub job_name: String,
    /// No token: for a server started with `--prometheus-auth public`.
    #[arg(long)]
    pub public: bool,
}

#[derive(serde::Serialize)]
struct Config {
    scrape_configs: Vec<Job>,
}

#[derive(serde::Serialize)]
struct Job {
    job_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    bearer_token: Option<String>,
    metrics_path: &'static str,
    scheme: String,
    static_configs: Vec<Targets>,
}

#[derive(serde::Serialize)]
struct Targets {
    targets: Vec<String>,
}

pub fn run(args: PrometheusArgs) -> Result<()> {
    match args.command {
        PrometheusCommand::Generate(g) => {
            print!("{}", generate(&g)?);
            Ok(())
        }
    }
}

/// The configuration as text.
pub fn generate(args: &GenerateArgs) -> Result<String> {
    let uri: http::Uri = args
        .endpoint
        .parse()
        .with_context(|| format!("bad --endpoint {:?}", args.endpoint))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        bail!(
            "bad --endpoint {:?}: give a URL such as http://127.0.0.1:9000",
            args.endpoint
        );
    };
    let bearer_token = if args.public {
        None
    } else {
        Some(token_for(args)?)
    };
    let config = Config {
        scrape_configs: vec![Job {
            job_name: args.job_name.clone(),
            bearer_token,
            metrics_path: args.metric_type.path(),
            scheme: scheme.to_string(),
            static_configs: vec![Targets {
                targets: vec![authority.to_string()],
            }],
        }],
    };
    serde_yaml::to_string(&config).context("writing the configuration")
}

fn token_for(args: &GenerateArgs) -> Result<String> {
    let (Some(user), Some(password)) = (&args.access_key, &args.secret_key) else {
        bail!("set STRATA_ROOT_USER and STRATA_ROOT_PASSWORD (or --access-key/--secret-key): the token is signed with the server's root credentials");
    };
    let expiry = humantime::parse_duration(&args.expiry)
        .with_context(|| format!("bad --expiry {:?} (e.g. 100y, 30d)", args.expiry))?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the clock is before 1970")?;
    Ok(token::issue(user, password, (now + expiry).as_secs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(endpoint: &str) -> GenerateArgs {
        GenerateArgs {
            metric_type: MetricType::Node,
            endpoint: endpoint.into(),
            access_key: Some("admin".into()),
            secret_key: Some("secret-key".into()),
            expiry: "1h".into(),
            job_name: "minio-job".into(),
            public: false,
        }
    }

    #[test]
    fn the_config_names_the_target_and_carries_a_valid_token() {
        let text = generate(&args("https://s3.example.com:9000")).unwrap();
        let v: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        let job = &v["scrape_configs"][0];
        assert_eq!(job["metrics_path"], "/minio/v2/metrics/node");
        assert_eq!(job["scheme"], "https");
        assert_eq!(
            job["static_configs"][0]["targets"][0],
            "s3.example.com:9000"
        );
        let t = job["bearer_token"].as_str().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(token::verify(t, "admin", "secret-key", now), Ok(()));
        assert!(generate(&args("not a url")).is_err());
        let mut public = args("http://h:1");
        public.public = true;
        assert!(!generate(&public).unwrap().contains("bearer_token"));
    }
}
