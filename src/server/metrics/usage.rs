//! Bucket usage (objects and bytes per bucket), for `minio_bucket_usage_*` and
//! `minio_cluster_usage_*`. Counted by a background crawl of every bucket's listing at an
//! interval, as MinIO counts it with its scanner: a scrape never walks the drives, and the
//! figures are as old as `minio_usage_last_activity_nano_seconds` says.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use strata_engine::{Engine, EngineError, ListQuery};

/// Keys per listing page of the crawl.
const PAGE: usize = 1000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketUsage {
    pub objects: u64,
    pub bytes: u64,
}

#[derive(Debug)]
pub struct Snapshot {
    /// When the crawl that made it finished.
    pub taken: Instant,
    /// The same, in unix seconds (what the admin API reports).
    pub taken_unix: u64,
    pub buckets: BTreeMap<String, BucketUsage>,
}

impl Snapshot {
    pub fn total(&self) -> BucketUsage {
        self.buckets
            .values()
            .fold(BucketUsage::default(), |a, b| BucketUsage {
                objects: a.objects + b.objects,
                bytes: a.bytes + b.bytes,
            })
    }
}

/// The latest complete crawl.
#[derive(Default)]
pub struct Usage {
    latest: Mutex<Option<Arc<Snapshot>>>,
    /// The crawl runs (`spawn` was called).
    running: std::sync::atomic::AtomicBool,
}

impl Usage {
    /// No crawl runs: nothing will ever be counted.
    pub fn disabled(&self) -> bool {
        !self.running.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn latest(&self) -> Option<Arc<Snapshot>> {
        self.latest.lock().ok().and_then(|l| l.clone())
    }

    /// Crawls now and then every `every`, on a thread of its own for the life of the process.
    pub fn spawn(self: &Arc<Self>, engine: Arc<Engine>, every: Duration) -> std::io::Result<()> {
        self.running
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let usage = self.clone();
        std::thread::Builder::new()
            .name("strata-usage".into())
            .spawn(move || loop {
                match crawl(&engine) {
                    Ok(s) => {
                        if let Ok(mut l) = usage.latest.lock() {
                            *l = Some(Arc::new(s));
                        }
                    }
                    // Kept: the last complete figures (a bucket without read quorum cannot be
                    // counted; a partial count would read as lost data).
                    Err(e) => tracing::warn!(%e, "bucket usage not updated"),
                }
                std::thread::sleep(every);
            })
            .map(|_| ())
    }
}

/// Objects and bytes of every bucket, from its listing.
fn crawl(engine: &Engine) -> Result<Snapshot, EngineError> {
    let mut buckets = BTreeMap::new();
    for b in engine.list_buckets()? {
        let mut usage = BucketUsage::default();
        let mut after = None;
        loop {
            let q = ListQuery {
                prefix: String::new(),
                delimiter: None,
                after,
                max_keys: PAGE,
            };
            let page = engine.list_objects(&b.name, &q)?;
            usage.objects += page.objects.len() as u64;
            usage.bytes += page.objects.iter().map(|o| o.size).sum::<u64>();
            if !page.truncated || page.next_after.is_none() {
                break;
            }
            after = page.next_after;
        }
        buckets.insert(b.name, usage);
    }
    Ok(Snapshot {
        taken: Instant::now(),
        taken_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        buckets,
    })
}
