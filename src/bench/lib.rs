//! `strata bench`: an S3 load generator (like MinIO's warp). It prepares its own bucket and
//! objects, runs one workload for a duration or an operation count at a given concurrency,
//! prints a progress line each second and a summary (throughput, ops/s, latency and TTFB
//! percentiles, errors), optionally as JSON, and cleans up after itself.

mod stats;

/// The S3 client the bench drives servers with lives in `strata-s3client`.
pub use strata_s3client::sigv4;

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use sigv4::Credentials;
use stats::{OpStats, Summary};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_s3client::client::{self, Client};
use strata_util::size::parse_size;

/// One benchmark run; the command line that fills it is the binary's (`strata bench`).
#[derive(Clone)]
pub struct BenchOptions {
    /// put, get, mixed, list, stat, delete or multipart.
    pub workload: String,
    /// S3 endpoint, e.g. http://127.0.0.1:9000 (http only).
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    /// Bucket to use (created if needed, kept); by default a fresh one, removed at the end.
    pub bucket: Option<String>,
    /// Key prefix of the objects the benchmark makes.
    pub prefix: String,
    /// Object size (4KiB, 1MiB, 64MiB, …) or a range MIN..MAX (log-uniform).
    pub size: String,
    /// Concurrent requests (one connection each).
    pub concurrency: usize,
    /// How long to run.
    pub duration: Duration,
    /// Stop after this many operations instead (over all workers).
    pub ops: Option<u64>,
    /// Objects prepared for get/stat/mixed/list/delete.
    pub objects: u64,
    /// Mixed ratios, e.g. get=45,put=15,delete=10,stat=30.
    pub mix: String,
    /// Multipart: part size and parts per upload.
    pub part_size: String,
    pub parts: u32,
    /// Also write the summary as JSON to this file.
    pub json: Option<std::path::PathBuf>,
    /// Leave the objects (and bucket) in place.
    pub no_cleanup: bool,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Put,
    Get,
    Stat,
    Delete,
    List,
    Multipart,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Stat => "stat",
            Op::Delete => "delete",
            Op::List => "list",
            Op::Multipart => "multipart",
        }
    }
}

#[derive(serde::Serialize)]
struct Report {
    workload: String,
    endpoint: String,
    concurrency: usize,
    size: String,
    results: Vec<Summary>,
}

pub fn run(args: BenchOptions) -> Result<()> {
    let plan = Plan::new(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(plan.execute())?;
    print_report(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let failed: u64 = report.results.iter().map(|r| r.errors).sum();
    if failed > 0 {
        eprintln!("strata bench: {failed} request(s) failed (see the summary)");
    }
    Ok(())
}

/// Everything decided before the first request.
struct Plan {
    args: BenchOptions,
    host: String,
    creds: Arc<Credentials>,
    bucket: String,
    own_bucket: bool,
    sizes: Sizes,
    mix: Vec<(Op, u32)>,
    part_size: u64,
    data: Bytes,
}

impl Plan {
    fn new(args: &BenchOptions) -> Result<Plan> {
        let host = args
            .endpoint
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("--endpoint must be an http:// URL"))?
            .trim_end_matches('/')
            .to_string();
        if args.concurrency == 0 {
            bail!("--concurrency must be at least 1");
        }
        let mix = match args.workload.as_str() {
            "put" => vec![(Op::Put, 1)],
            "get" => vec![(Op::Get, 1)],
            "stat" => vec![(Op::Stat, 1)],
            "delete" => vec![(Op::Delete, 1)],
            "list" => vec![(Op::List, 1)],
            "multipart" => vec![(Op::Multipart, 1)],
            "mixed" => parse_mix(&args.mix)?,
            other => bail!(
                "unknown workload {other:?}: put, get, mixed, list, stat, delete or multipart"
            ),
        };
        let sizes = Sizes::parse(&args.size)?;
        let part_size = parse_size(&args.part_size)?;
        let largest = sizes.max.max(part_size) as usize;
        let (bucket, own_bucket) = match &args.bucket {
            Some(b) => (b.clone(), false),
            None => (
                format!(
                    "strata-bench-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                ),
                true,
            ),
        };
        Ok(Plan {
            args: args.clone(),
            host,
            creds: Arc::new(Credentials {
                access_key: args.access_key.clone(),
                secret_key: args.secret_key.clone(),
                region: args.region.clone(),
            }),
            bucket,
            own_bucket,
            sizes,
            mix,
            part_size,
            // Random bytes, sliced at random offsets per object: no per-op generation cost,
            // and no two objects alike enough for a deduplicating peer to cheat.
            data: random_bytes(largest + (1 << 20)),
        })
    }

    fn client(&self) -> Client {
        Client::new(self.creds.clone(), self.host.clone())
    }

    fn body(&self, rng: &mut u64) -> Bytes {
        let size = self.sizes.pick(rng) as usize;
        let off = (next(rng) as usize) % (self.data.len() - size + 1);
        self.data.slice(off..off + size)
    }

    async fn execute(self) -> Result<Report> {
        let mut setup = self.client();
        setup
            .create_bucket(&self.bucket)
            .await
            .context("creating the benchmark bucket")?;
        let needs_pool = self
            .mix
            .iter()
            .any(|(op, _)| matches!(op, Op::Get | Op::Stat | Op::Delete | Op::List));
        let pool = Pools::default();
        if needs_pool {
            eprintln!(
                "preparing {} objects of {} ...",
                self.args.objects, self.args.size
            );
            let keys = self.prepare(self.args.objects).await?;
            if let Ok(mut p) = pool.prepared.lock() {
                *p = keys;
            }
        }
        let this = Arc::new(self);
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicU64::new(0));
        let progress = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let mut workers = Vec::new();
        for w in 0..this.args.concurrency {
            let (this, stop, issued, progress, pool) = (
                this.clone(),
                stop.clone(),
                issued.clone(),
                progress.clone(),
                pool.clone(),
            );
            workers.push(tokio::spawn(async move {
                this.worker(w, stop, issued, progress, pool).await
            }));
        }
        let ticker = {
            let (stop, progress, name) =
                (stop.clone(), progress.clone(), this.args.workload.clone());
            tokio::spawn(async move {
                let mut last = 0;
                while !stop.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    let now = progress.load(Ordering::Relaxed);
                    eprintln!(
                        "[{:>5.1}s] {name}: {now} ops ({} ops/s)",
                        start.elapsed().as_secs_f64(),
                        now - last
                    );
                    last = now;
                }
            })
        };
        if this.args.ops.is_none() {
            tokio::time::sleep(this.args.duration).await;
            stop.store(true, Ordering::Relaxed);
        }
        let mut per_op: BTreeMap<&'static str, OpStats> = BTreeMap::new();
        for w in workers {
            for (op, s) in w.await? {
                per_op.entry(op).or_default().merge(s);
            }
        }
        stop.store(true, Ordering::Relaxed);
        ticker.abort();
        let elapsed = start.elapsed();
        let results = per_op
            .iter_mut()
            .map(|(op, s)| s.summary(op, elapsed))
            .collect();
        if !this.args.no_cleanup {
            this.cleanup().await;
        }
        Ok(Report {
            workload: this.args.workload.clone(),
            endpoint: this.args.endpoint.clone(),
            concurrency: this.args.concurrency,
            size: this.args.size.clone(),
            results,
        })
    }

    async fn worker(
        &self,
        id: usize,
        stop: Arc<AtomicBool>,
        issued: Arc<AtomicU64>,
        progress: Arc<AtomicU64>,
        pool: Pools,
    ) -> Vec<(&'static str, OpStats)> {
        let mut client = self.client();
        let mut rng =
            0x9E37_79B9_7F4A_7C15u64 ^ (id as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut stats: BTreeMap<&'static str, OpStats> = BTreeMap::new();
        let total_weight: u32 = self.mix.iter().map(|(_, w)| w).sum();
        let mut seq = 0u64;
        loop {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            if let Some(limit) = self.args.ops {
                if issued.fetch_add(1, Ordering::Relaxed) >= limit {
                    break;
                }
            }
            let mut pick = (next(&mut rng) % total_weight as u64) as u32;
            let mut op = self
                .mix
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .map(|(op, _)| *op)
                .unwrap_or(Op::Put);
            // Mixed runs delete only what they wrote themselves (never an object another
            // worker may be reading); with nothing of their own to delete, they write.
            let mixed = self.mix.len() > 1;
            let victim = match op {
                Op::Delete if mixed => take_key(&pool.fresh, &mut rng),
                Op::Delete => take_key(&pool.prepared, &mut rng),
                _ => None,
            };
            if op == Op::Delete && victim.is_none() {
                if !mixed {
                    break; // nothing left to delete
                }
                op = Op::Put;
            }
            seq += 1;
            let started = Instant::now();
            let result = match op {
                Op::Put => {
                    let key = format!("{}w{id}-{seq}", self.args.prefix);
                    let r = client.put(&self.bucket, &key, self.body(&mut rng)).await;
                    if r.is_ok() && mixed {
                        if let Ok(mut p) = pool.fresh.lock() {
                            p.push(key);
                        }
                    }
                    r
                }
                Op::Get | Op::Stat => match random_key(&pool.prepared, &mut rng) {
                    Some(k) if op == Op::Get => client.get(&self.bucket, &k).await,
                    Some(k) => client.stat(&self.bucket, &k).await,
                    None => break,
                },
                Op::Delete => match victim {
                    Some(k) => client.delete(&self.bucket, &k).await,
                    None => break,
                },
                Op::List => client
                    .list_all(&self.bucket, &self.args.prefix)
                    .await
                    .map(|(n, _)| client::Outcome {
                        bytes: n,
                        ttfb: None,
                    }),
                Op::Multipart => {
                    let key = format!("{}mp-w{id}-{seq}", self.args.prefix);
                    let part = self.data.slice(0..self.part_size as usize);
                    client
                        .multipart(&self.bucket, &key, part, self.args.parts)
                        .await
                }
            };
            let s = stats.entry(op.name()).or_default();
            match result {
                Ok(o) => {
                    // A LIST moves keys, not bytes: its `bytes` counts the keys listed.
                    s.ok(
                        if op == Op::List { 0 } else { o.bytes },
                        started.elapsed(),
                        o.ttfb,
                    );
                    progress.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => s.failed(e.to_string()),
            }
        }
        stats.into_iter().collect()
    }

    /// Uploads `n` objects with the benchmark's concurrency; returns their keys.
    async fn prepare(&self, n: u64) -> Result<Vec<String>> {
        let next_index = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        let plan = Arc::new(self.clone_light());
        for w in 0..self.args.concurrency.min(32) {
            let (plan, next_index) = (plan.clone(), next_index.clone());
            tasks.push(tokio::spawn(async move {
                let mut client = plan.client();
                let mut rng = 0xA5A5_5A5A_1234_5678u64 ^ (w as u64 + 7);
                let mut keys = Vec::new();
                loop {
                    let i = next_index.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok::<_, client::ClientError>(keys);
                    }
                    let key = format!("{}obj-{i:08}", plan.args.prefix);
                    client.put(&plan.bucket, &key, plan.body(&mut rng)).await?;
                    keys.push(key);
                }
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?.context("preparing objects")?);
        }
        Ok(all)
    }

    fn clone_light(&self) -> Plan {
        Plan {
            args: self.args.clone(),
            host: self.host.clone(),
            creds: self.creds.clone(),
            bucket: self.bucket.clone(),
            own_bucket: self.own_bucket,
            sizes: self.sizes,
            mix: self.mix.clone(),
            part_size: self.part_size,
            data: self.data.clone(),
        }
    }

    /// Deletes every object under the prefix (and the bucket, when the benchmark made it).
    async fn cleanup(&self) {
        let mut c = self.client();
        let keys = match c.list_all(&self.bucket, &self.args.prefix).await {
            Ok((_, keys)) => keys,
            Err(e) => {
                eprintln!("strata bench: cleanup could not list objects: {e}");
                return;
            }
        };
        let keys = Arc::new(Mutex::new(keys));
        let mut tasks = Vec::new();
        for _ in 0..self.args.concurrency.clamp(1, 16) {
            let (keys, mut client) = (keys.clone(), self.client());
            let bucket = self.bucket.clone();
            tasks.push(tokio::spawn(async move {
                while let Some(k) = keys.lock().ok().and_then(|mut k| k.pop()) {
                    if let Err(e) = client.delete(&bucket, &k).await {
                        eprintln!("strata bench: cleanup of {k} failed: {e}");
                    }
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
        if self.own_bucket {
            if let Err(e) = c
                .request(
                    "DELETE",
                    &format!("/{}", self.bucket),
                    &[],
                    Bytes::new(),
                    false,
                )
                .await
            {
                eprintln!(
                    "strata bench: cleanup could not remove bucket {}: {e}",
                    self.bucket
                );
            }
        }
    }
}

/// Objects the run reads (prepared, never deleted in mixed runs) and objects mixed runs wrote.
#[derive(Clone, Default)]
struct Pools {
    prepared: Arc<Mutex<Vec<String>>>,
    fresh: Arc<Mutex<Vec<String>>>,
}

fn random_key(pool: &Mutex<Vec<String>>, rng: &mut u64) -> Option<String> {
    let p = pool.lock().ok()?;
    (!p.is_empty()).then(|| p[(next(rng) as usize) % p.len()].clone())
}

fn take_key(pool: &Mutex<Vec<String>>, rng: &mut u64) -> Option<String> {
    let mut p = pool.lock().ok()?;
    if p.is_empty() {
        return None;
    }
    let i = (next(rng) as usize) % p.len();
    Some(p.swap_remove(i))
}

/// xorshift64*: fast and good enough to pick keys, sizes and offsets.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

fn random_bytes(len: usize) -> Bytes {
    let mut s = 0x1234_5678_9ABC_DEF1u64;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        v.extend_from_slice(&next(&mut s).to_le_bytes());
    }
    v.truncate(len);
    Bytes::from(v)
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Sizes {
    min: u64,
    max: u64,
}

impl Sizes {
    fn parse(s: &str) -> Result<Sizes> {
        match s.split_once("..") {
            Some((a, b)) => {
                let (min, max) = (parse_size(a)?, parse_size(b)?);
                if min > max || min == 0 {
                    bail!("bad size range {s:?}: need 0 < MIN <= MAX");
                }
                Ok(Sizes { min, max })
            }
            None => {
                let v = parse_size(s)?;
                Ok(Sizes { min: v, max: v })
            }
        }
    }

    /// Log-uniform in [min, max]: as many small objects per decade as large ones.
    fn pick(&self, rng: &mut u64) -> u64 {
        if self.min == self.max {
            return self.min;
        }
        let u = (next(rng) >> 11) as f64 / (1u64 << 53) as f64;
        let (lo, hi) = ((self.min as f64).ln(), (self.max as f64).ln());
        ((lo + u * (hi - lo)).exp() as u64).clamp(self.min, self.max)
    }
}

fn parse_mix(s: &str) -> Result<Vec<(Op, u32)>> {
    let mut out = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (name, w) = part
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("bad --mix entry {part:?} (use op=weight)"))?;
        let op = match name.trim() {
            "get" => Op::Get,
            "put" => Op::Put,
            "delete" => Op::Delete,
            "stat" => Op::Stat,
            other => bail!("--mix supports get, put, delete and stat, not {other:?}"),
        };
        let w: u32 = w
            .trim()
            .parse()
            .with_context(|| format!("bad weight in {part:?}"))?;
        if w > 0 {
            out.push((op, w));
        }
    }
    if out.is_empty() {
        bail!("--mix needs at least one positive weight");
    }
    Ok(out)
}

fn print_report(r: &Report) {
    println!(
        "workload {} against {} (concurrency {}, size {})",
        r.workload, r.endpoint, r.concurrency, r.size
    );
    println!(
        "{:<10} {:>9} {:>7} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "op", "ops", "errors", "MiB/s", "ops/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "ttfb p50"
    );
    for s in &r.results {
        println!(
            "{:<10} {:>9} {:>7} {:>10.1} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10}",
            s.op,
            s.ops,
            s.errors,
            s.mib_per_sec,
            s.ops_per_sec,
            s.latency_ms.p50,
            s.latency_ms.p90,
            s.latency_ms.p99,
            s.latency_ms.max,
            s.ttfb_ms
                .as_ref()
                .map(|t| format!("{:.2}", t.p50))
                .unwrap_or_else(|| "-".into())
        );
        for e in &s.error_samples {
            println!("  error: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_ranges() {
        assert_eq!(parse_size("4KiB").unwrap(), 4096);
        assert_eq!(parse_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_size("10KB").unwrap(), 10_000);
        assert!(parse_size("5 parsecs").is_err());
        let r = Sizes::parse("1KiB..1MiB").unwrap();
        let mut rng = 42;
        for _ in 0..1000 {
            let v = r.pick(&mut rng);
            assert!((1024..=1 << 20).contains(&v));
        }
        assert!(Sizes::parse("2MiB..1MiB").is_err());
    }

    #[test]
    fn mix_parsing() {
        let m = parse_mix("get=50,put=50").unwrap();
        assert_eq!(m, vec![(Op::Get, 50), (Op::Put, 50)]);
        assert!(parse_mix("list=1").is_err());
        assert!(parse_mix("get=0").is_err());
    }
}
