//! Background work as named workers with one stop signal: the healer (queued keys), the
//! scanner (every object, at a cadence), the drive monitor (drives that leave, return or are
//! replaced) and rebuilds. They end with their engine. Each reports a `WorkerStatus` (state,
//! what it is on, its counters, its last error) that `Workers::list` reads; what they healed,
//! scanned and rebuilt is also counted in `Stats` for the metrics pages.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

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

/// What a worker is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
    /// Waiting for work: an empty queue, the next pass, the next round.
    Idle,
    Busy,
    /// Resting between items to keep to its byte rate (still in the middle of its work).
    Throttled,
    /// Returned: its work is over, or the engine stopped it.
    Stopped,
    /// Panicked (or could not start); `last_error` holds the message.
    Failed,
}

/// A worker as it last reported itself.
#[derive(Clone, Debug)]
pub struct WorkerStatus {
    pub name: String,
    pub state: WorkerState,
    /// What it is on, free text (`pass 3 (deep), key 17: bucket/key`).
    pub doing: String,
    /// Items finished, those that failed included: keys healed, scanned or rebuilt.
    pub done: u64,
    /// Rounds finished: scanner passes, drive checks, drives rebuilt.
    pub rounds: u64,
    pub errors: u64,
    /// Items waiting, for a worker with a queue it can see.
    pub queue: Option<u64>,
    pub last_error: Option<(String, SystemTime)>,
    pub started: SystemTime,
    /// When it last reported anything.
    pub active: SystemTime,
}

impl WorkerStatus {
    fn new(name: &str) -> WorkerStatus {
        let now = SystemTime::now();
        WorkerStatus {
            name: name.to_string(),
            state: WorkerState::Idle,
            doing: String::new(),
            done: 0,
            rounds: 0,
            errors: 0,
            queue: None,
            last_error: None,
            started: now,
            active: now,
        }
    }

    fn error(&mut self, msg: String) {
        self.errors += 1;
        self.last_error = Some((msg, SystemTime::now()));
    }
}

/// What a worker is handed: the stop signal, and its status to report to.
pub struct Ctx {
    stop: Arc<Stop>,
    status: Arc<Mutex<WorkerStatus>>,
}

impl Ctx {
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    /// Changes the status (and stamps it active).
    pub fn set(&self, f: impl FnOnce(&mut WorkerStatus)) {
        let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s);
        s.active = SystemTime::now();
    }

    pub fn status(&self) -> WorkerStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn busy(&self, doing: String) {
        self.set(|s| {
            s.state = WorkerState::Busy;
            s.doing = doing;
        });
    }

    /// Counts an error that did not stop the worker (a key it could not heal).
    pub fn error(&self, msg: String) {
        self.set(|s| s.error(msg));
    }

    /// Waits idle up to `d`; false when stopping.
    pub fn wait(&self, d: Duration) -> bool {
        self.set(|s| s.state = WorkerState::Idle);
        self.stop.sleep(d)
    }

    /// Rests `d` to keep to a rate, throttled meanwhile; false when stopping.
    pub fn rest(&self, d: Duration) -> bool {
        if d.is_zero() {
            return !self.is_stopped();
        }
        self.set(|s| s.state = WorkerState::Throttled);
        let go_on = self.stop.sleep(d);
        self.set(|s| s.state = WorkerState::Busy);
        go_on
    }
}

/// The running workers.
#[derive(Default)]
pub struct Workers {
    pub stop: Arc<Stop>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// Every worker ever spawned, in order: one that ended stays, stopped or failed.
    statuses: Mutex<Vec<Arc<Mutex<WorkerStatus>>>>,
}

impl Workers {
    pub fn spawn(&self, name: &str, work: impl FnOnce(Ctx) + Send + 'static) {
        let ctx = self.ctx(name);
        let status = ctx.status.clone();
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(status.clone());
        let thread_status = status.clone();
        let run = move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| work(ctx)));
            ended(&thread_status, outcome.map_err(|p| panic_message(&*p)));
        };
        match std::thread::Builder::new()
            .name(format!("strata-{name}"))
            .spawn(run)
        {
            Ok(h) => self
                .handles
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(h),
            Err(e) => ended(&status, Err(format!("cannot start: {e}"))),
        }
    }

    /// A context for work run on the caller's thread (a scan or rebuild asked for now): it
    /// heeds the stop signal; its status is not listed.
    pub fn ctx(&self, name: &str) -> Ctx {
        Ctx {
            stop: self.stop.clone(),
            status: Arc::new(Mutex::new(WorkerStatus::new(name))),
        }
    }

    /// A snapshot of every worker's status, in the order they were started.
    pub fn list(&self) -> Vec<WorkerStatus> {
        let statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        statuses
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// Signals every worker to stop and waits for them (a worker finishes the key it is on).
    pub fn stop_all(&self) {
        self.stop.stop();
        let handles = std::mem::take(&mut *self.handles.lock().unwrap_or_else(|p| p.into_inner()));
        for h in handles {
            // A panic was caught and recorded by the worker's wrapper.
            let _ = h.join();
        }
    }
}

/// Records how a worker ended: returned (stopped) or panicked (failed, with the message).
fn ended(status: &Mutex<WorkerStatus>, outcome: Result<(), String>) {
    let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
    match outcome {
        Ok(()) => s.state = WorkerState::Stopped,
        Err(msg) => {
            tracing::error!(worker = s.name, msg, "background worker failed");
            s.state = WorkerState::Failed;
            s.error(msg);
        }
    }
    s.active = SystemTime::now();
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panicked".to_string()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state_of(w: &Workers, name: &str) -> Option<WorkerStatus> {
        w.list().into_iter().find(|s| s.name == name)
    }

    /// Polls until the worker `name` is in `state` (or gives up after a few seconds).
    fn wait_state(w: &Workers, name: &str, state: WorkerState) -> WorkerStatus {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let s = state_of(w, name).expect("listed");
            if s.state == state || Instant::now() > deadline {
                return s;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_panicking_worker_shows_failed_with_its_message() {
        let w = Workers::default();
        w.spawn("boom", |ctx| {
            ctx.busy("about to fail".into());
            panic!("kaboom {}", 7);
        });
        let s = wait_state(&w, "boom", WorkerState::Failed);
        assert_eq!(s.state, WorkerState::Failed, "{s:?}");
        assert_eq!(s.errors, 1);
        assert_eq!(s.last_error.map(|e| e.0).as_deref(), Some("kaboom 7"));
        assert_eq!(s.doing, "about to fail");
        w.stop_all();
        let s = state_of(&w, "boom").expect("still listed");
        assert_eq!(
            s.state,
            WorkerState::Failed,
            "stopping does not hide the failure"
        );
    }

    #[test]
    fn states_follow_the_work_and_stop_all_ends_in_stopped() {
        let w = Workers::default();
        w.spawn("pacer", |ctx| {
            ctx.busy("item 1".into());
            ctx.set(|s| s.done += 1);
            if ctx.rest(Duration::from_secs(60)) {
                ctx.wait(Duration::from_secs(60));
            }
        });
        w.spawn("waiter", |ctx| while ctx.wait(Duration::from_secs(60)) {});
        let s = wait_state(&w, "pacer", WorkerState::Throttled);
        assert_eq!(
            (s.state, s.done, s.doing.as_str()),
            (WorkerState::Throttled, 1, "item 1")
        );
        assert_eq!(
            wait_state(&w, "waiter", WorkerState::Idle).state,
            WorkerState::Idle
        );
        w.stop_all();
        for s in w.list() {
            assert_eq!(s.state, WorkerState::Stopped, "{s:?}");
            assert!(s.active >= s.started);
        }
    }
}
