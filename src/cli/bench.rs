//! `strata bench`'s command line.

use std::time::Duration;
use strata_bench::BenchOptions;

/// (No `Debug`: it holds a secret key.)
#[derive(clap::Args, Clone)]
pub struct BenchArgs {
    /// put, get, mixed, list, stat, delete or multipart.
    pub workload: String,
    /// S3 endpoint, e.g. http://127.0.0.1:9000 (http only).
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    pub endpoint: String,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub access_key: String,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub secret_key: String,
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// Bucket to use (created if needed, kept); by default a fresh one, removed at the end.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Key prefix of the objects the benchmark makes.
    #[arg(long, default_value = "bench/")]
    pub prefix: String,
    /// Object size (4KiB, 1MiB, 64MiB, …) or a range MIN..MAX (log-uniform).
    #[arg(long, default_value = "1MiB")]
    pub size: String,
    /// Concurrent requests (one connection each).
    #[arg(long, short = 'c', default_value_t = 8)]
    pub concurrency: usize,
    /// How long to run.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Stop after this many operations instead (over all workers).
    #[arg(long)]
    pub ops: Option<u64>,
    /// Objects prepared for get/stat/mixed/list/delete.
    #[arg(long, default_value_t = 200)]
    pub objects: u64,
    /// Mixed ratios, e.g. get=45,put=15,delete=10,stat=30.
    #[arg(long, default_value = "get=45,put=15,delete=10,stat=30")]
    pub mix: String,
    /// Multipart: part size and parts per upload.
    #[arg(long, default_value = "5MiB")]
    pub part_size: String,
    #[arg(long, default_value_t = 4)]
    pub parts: u32,
    /// Also write the summary as JSON to this file.
    #[arg(long)]
    pub json: Option<std::path::PathBuf>,
    /// Leave the objects (and bucket) in place.
    #[arg(long)]
    pub no_cleanup: bool,
}

impl From<BenchArgs> for BenchOptions {
    fn from(a: BenchArgs) -> BenchOptions {
        BenchOptions {
            workload: a.workload,
            endpoint: a.endpoint,
            access_key: a.access_key,
            secret_key: a.secret_key,
            region: a.region,
            bucket: a.bucket,
            prefix: a.prefix,
            size: a.size,
            concurrency: a.concurrency,
            duration: a.duration,
            ops: a.ops,
            objects: a.objects,
            mix: a.mix,
            part_size: a.part_size,
            parts: a.parts,
            json: a.json,
            no_cleanup: a.no_cleanup,
        }
    }
}
