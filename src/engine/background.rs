//! Background work as named workers with one stop signal: the healer (queued keys), the
//! scanner (every object, at a cadence), the drive monitor (drives that leave, return or are
//! replaced) and rebuilds. They end with their engine; their progress is counted in `Stats`
//! for the metrics pages.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The stop signal every worker waits on.
#[derive(Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    cv: Condvar,
}

impl Stop {
    /// Sleeps up to `d`; false when the engine is stopping (return then).
    pub fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        let mut stopped = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        while !*stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            stopped = self
                .cv
                .wait_timeout(stopped, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        false
    }

    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_all();
    }
}

/// The running workers.
#[derive(Default)]
pub struct Workers {
    pub stop: Arc<Stop>,
    handles: Mutex<Vec<(String, JoinHandle<()>)>>,
}

impl Workers {
    pub fn spawn(&self, name: &str, work: impl FnOnce(Arc<Stop>) + Send + 'static) {
        let stop = self.stop.clone();
        match std::thread::Builder::new()
            .name(format!("strata-{name}"))
            .spawn(move || work(stop))
        {
            Ok(h) => self
                .handles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((name.to_string(), h)),
            Err(e) => tracing::warn!(worker = name, %e, "cannot start a background worker"),
        }
    }

    /// Signals every worker to stop and waits for them (a worker finishes the key it is on).
    pub fn stop_all(&self) {
        self.stop.stop();
        let handles = std::mem::take(&mut *self.handles.lock().unwrap_or_else(|p| p.into_inner()));
        for (name, h) in handles {
            if h.join().is_err() {
                tracing::warn!(worker = name, "background worker panicked");
            }
        }
    }
}

/// Counters of background work, for the metrics pages and tests.
#[derive(Default)]
pub struct Stats {
    /// Keys healed by the healer queue (reads and partial commits queue them).
    pub heals_done: AtomicU64,
    pub heals_failed: AtomicU64,
    /// Objects the scanner checked, healed, could not heal; bytes it read; passes finished.
    pub scanned: AtomicU64,
    pub scan_healed: AtomicU64,
    pub scan_failed: AtomicU64,
    pub scan_bytes: AtomicU64,
    pub scan_passes: AtomicU64,
    /// Rebuilds of drives, by (set, position).
    pub rebuilds: Mutex<BTreeMap<(usize, usize), Rebuild>>,
}

/// A drive being (or last) rebuilt.
#[derive(Clone, Debug)]
pub struct Rebuild {
    pub drive_id: String,
    pub started: Instant,
    /// Keys looked at so far, and those rewritten onto it.
    pub checked: u64,
    pub healed: u64,
    pub failed: u64,
    /// Time to full redundancy, once done.
    pub finished: Option<Duration>,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn rebuilds(&self) -> Vec<((usize, usize), Rebuild)> {
        self.rebuilds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    pub fn update_rebuild(&self, place: (usize, usize), f: impl FnOnce(&mut Rebuild)) {
        if let Some(r) = self
            .rebuilds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&place)
        {
            f(r);
        }
    }
}

/// Paces a worker to a byte rate: after work that read `bytes`, how long to rest.
pub struct Pace {
    rate: u64,
    since: Instant,
    bytes: u64,
}

impl Pace {
    pub fn new(bytes_per_sec: u64) -> Pace {
        Pace {
            rate: bytes_per_sec.max(1),
            since: Instant::now(),
            bytes: 0,
        }
    }

    /// Records `bytes` read and returns the rest owed so that the average stays at the rate.
    pub fn took(&mut self, bytes: u64) -> Duration {
        if self.rate == u64::MAX {
            return Duration::ZERO;
        }
        self.bytes += bytes;
        let due = Duration::from_secs_f64(self.bytes as f64 / self.rate as f64);
        let spent = self.since.elapsed();
        if spent > Duration::from_secs(10) {
            // Forget old history so a long idle stretch does not buy a burst.
            self.since = Instant::now();
            self.bytes = 0;
        }
        due.saturating_sub(spent)
    }
}
