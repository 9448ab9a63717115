//! `strata`: the object server (`server`), its users and policies (`admin`), its scrape
//! configurations (`prometheus`), the load generator (`bench`), the CSI driver (`csi`); the
//! operator lands with its issue.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "strata",
    version,
    about = "Erasure-coded S3 object storage on local drives"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the S3 API over erasure-coded drives.
    Server(Box<super::server::ServerArgs>),
    /// CSI driver: node plugin and controller on a unix socket.
    Csi(Box<super::csi::CsiArgs>),
    /// Manage a server's users, policies, groups and service accounts (its admin API).
    Admin(Box<super::admin::AdminArgs>),
    /// Kubernetes operator (not implemented yet).
    Operator,
    /// S3 load generator: put, get, mixed, list, stat, delete, multipart workloads.
    Bench(Box<super::bench::BenchArgs>),
    /// Prometheus scrape configurations with bearer tokens for the metrics endpoints.
    Prometheus(super::prometheus::PrometheusArgs),
    /// Print the Kubernetes manifests (deploy/, daemonset/), or write them under DIR.
    Manifests {
        /// Write the files under this directory (the repository root) instead of printing.
        #[arg(long, value_name = "DIR")]
        write: Option<std::path::PathBuf>,
    },
}

pub fn main() -> ExitCode {
    crate::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => args.config().and_then(strata_server::run),
        Command::Admin(args) => super::admin::run(*args),
        Command::Bench(args) => strata_bench::run((*args).into()),
        Command::Prometheus(args) => super::prometheus::run(args),
        Command::Csi(args) => args.config().and_then(strata_csi::run),
        Command::Manifests { write } => strata_kube::manifests::run(write.as_deref()),
        Command::Operator => {
            eprintln!(
                "strata: Operator is not implemented yet (see README.md, \"What is not done yet\")"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strata: {e:#}");
            ExitCode::FAILURE
        }
    }
}
