//! `strata`: the object server (`server`) and the load generator (`bench`); the CSI driver
//! and operator land with their issues.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "strata",
    version,
    about = "Erasure-coded S3 object storage on local drives"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the S3 API over erasure-coded drives.
    Server(Box<crate::server::ServerArgs>),
    /// CSI driver (not implemented yet).
    Csi,
    /// Kubernetes operator (not implemented yet).
    Operator,
    /// S3 load generator: put, get, mixed, list, stat, delete, multipart workloads.
    Bench(Box<crate::bench::BenchArgs>),
}

pub fn main() -> ExitCode {
    crate::logging::init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Server(args) => crate::server::run(*args),
        Command::Bench(args) => crate::bench::run(*args),
        other => {
            eprintln!("strata: {other:?} is not implemented yet (see README.md, \"What is not done yet\")");
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
