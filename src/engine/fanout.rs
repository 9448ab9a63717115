//! Calls to drives, each drive with its own long-lived workers, under a deadline.
//!
//! Every drive position of a set has a `DriveWorker`: a few threads (started as calls need them, at
//! most `MAX_THREADS`, ending after a while idle) with a queue. A fan-out (`fan_out_all`,
//! `fan_out_after`) hands each drive its call and waits until every call answered, or until the
//! caller's `enough` says the outcome is decided (a quorum), or until the deadline: a call still
//! queued then is cancelled, one still running is abandoned and answers `Timeout`. A drive whose
//! call ran that long is taken as hung and marked timed out: its calls fail at once (`Offline`) and
//! it holds no more threads, until the drive monitor's probe (`DriveWorker::probe`) finds it
//! answering again. Calls own what they use (the caller may be gone when they end); what a call
//! that answered too late made (a staging directory) is handed to its `late` clean-up.
//!
//! Threads per drive rather than one shared pool: a hung drive then holds its own threads and
//! nobody else's. Idle threads sleep on a condition variable (a spinning pool, rayon's, made
//! ten times the context switches of the calls themselves under many small writes).

use super::drive::{DriveError, DriveResult};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Threads of one drive at most: calls beyond wait in its queue.
const MAX_THREADS: usize = 16;
/// A thread idle this long ends (the next call starts one again).
const IDLE_EXIT: Duration = Duration::from_secs(30);

type Job = Box<dyn FnOnce() + Send + 'static>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Where one call is: a call is cancelled before it starts, or abandoned while it runs.
#[derive(Default)]
struct Ticket {
    phase: Mutex<Phase>,
}

#[derive(Default)]
struct Phase {
    started: Option<Instant>,
    done: bool,
    abandoned: bool,
}

struct Queued {
    job: Job,
    ticket: Option<Arc<Ticket>>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Queued>,
    threads: usize,
    idle: usize,
    /// Abandoned calls still running (they hold a thread each).
    stuck: usize,
    shutdown: bool,
}

struct Inner {
    name: String,
    state: Mutex<State>,
    ready: Condvar,
    /// A call ran past its deadline: calls fail at once until a probe succeeds.
    timed_out: AtomicBool,
}

/// The workers of one drive position.
pub struct DriveWorker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for DriveWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriveWorker")
            .field("name", &self.inner.name)
            .field("timed_out", &self.timed_out())
            .finish()
    }
}

impl DriveWorker {
    pub fn new(name: String) -> DriveWorker {
        DriveWorker {
            inner: Arc::new(Inner {
                name,
                state: Mutex::new(State::default()),
                ready: Condvar::new(),
                timed_out: AtomicBool::new(false),
            }),
        }
    }

    /// A call ran past its deadline and no probe has succeeded since.
    pub fn timed_out(&self) -> bool {
        self.inner.timed_out.load(Ordering::SeqCst)
    }

    /// Clears the mark (a probe succeeded, or another drive was put in the place).
    pub fn restore(&self) {
        self.inner.timed_out.store(false, Ordering::SeqCst);
    }

    /// Abandoned calls still running.
    pub fn stuck(&self) -> usize {
        lock(&self.inner.state).stuck
    }

    fn mark_timed_out(&self) {
        if !self.inner.timed_out.swap(true, Ordering::SeqCst) {
            tracing::warn!(drive = %self.inner.name, "drive call past its deadline: drive offline");
        }
    }

    /// Queues `job` whatever the drive's state (clean-up that must happen once it answers);
    /// nobody waits for it.
    pub fn detach(&self, job: impl FnOnce() + Send + 'static) {
        self.inner.push(Queued {
            job: Box::new(job),
            ticket: None,
        });
    }

    /// Clean-up that must happen even on a drive that does not answer now: queued whatever its
    /// state; waited for at most `timeout` (not at all when the drive is marked hung).
    pub fn clean_up(&self, timeout: Duration, f: impl FnOnce() + Send + 'static) {
        if self.timed_out() {
            self.detach(f);
            return;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        self.detach(move || {
            f();
            let _ = tx.send(());
        });
        let _ = rx.recv_timeout(timeout);
    }

    /// Runs `f` once no abandoned call is still running (a late write must not land after the
    /// drive is trusted again), bypassing the timed-out mark; true when it answered `Ok` in
    /// time. The drive monitor's way back for a drive that timed out.
    pub fn probe(
        self: &Arc<Self>,
        timeout: Duration,
        f: impl FnOnce() -> DriveResult<()> + Send + 'static,
    ) -> bool {
        if self.stuck() > 0 {
            return false;
        }
        let calls = vec![Some(Call::new(self.clone(), f).forced())];
        matches!(fan_out_all(calls, timeout).pop(), Some(Ok(())))
    }
}

impl Drop for DriveWorker {
    /// Idle threads end; busy ones end once their queue is empty.
    fn drop(&mut self) {
        lock(&self.inner.state).shutdown = true;
        self.inner.ready.notify_all();
    }
}

impl Inner {
    fn push(self: &Arc<Self>, q: Queued) {
        let mut st = lock(&self.state);
        st.queue.push_back(q);
        // More calls waiting than idle threads to take them: one more thread, up to the bound.
        let spawn = st.queue.len() > st.idle && st.threads < MAX_THREADS;
        if spawn {
            st.threads += 1;
        }
        drop(st);
        self.ready.notify_one();
        if !spawn {
            return;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("strata-drive-{}", self.name))
            .spawn(move || me.work());
        if let Err(e) = spawned {
            lock(&self.state).threads -= 1;
            tracing::warn!(drive = %self.name, %e, "cannot start a drive thread");
        }
    }

    fn work(self: Arc<Self>) {
        loop {
            let Some(q) = self.next() else { return };
            let Some(ticket) = q.ticket else {
                run(q.job);
                continue;
            };
            {
                let mut ph = lock(&ticket.phase);
                if ph.abandoned {
                    continue; // cancelled before it started
                }
                ph.started = Some(Instant::now());
            }
            run(q.job);
            let mut ph = lock(&ticket.phase);
            ph.done = true;
            if ph.abandoned {
                lock(&self.state).stuck -= 1;
            }
        }
    }

    /// The next job, or `None` when this thread should end.
    fn next(&self) -> Option<Queued> {
        let mut st = lock(&self.state);
        loop {
            if let Some(q) = st.queue.pop_front() {
                return Some(q);
            }
            if st.shutdown {
                st.threads -= 1;
                return None;
            }
            st.idle += 1;
            let (g, waited) = self
                .ready
                .wait_timeout(st, IDLE_EXIT)
                .unwrap_or_else(|p| p.into_inner());
            st = g;
            st.idle -= 1;
            if waited.timed_out() && st.queue.is_empty() {
                st.threads -= 1;
                return None;
            }
        }
    }
}

fn run(job: Job) {
    // A panicking job must not take the thread with it (the job reports its own failure).
    let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
}

/// One drive's part of a fan-out: the call, owning what it uses.
pub struct Call<T> {
    worker: Arc<DriveWorker>,
    f: Box<dyn FnOnce() -> DriveResult<T> + Send + 'static>,
    late: Option<Box<dyn FnOnce(T) + Send + 'static>>,
    forced: bool,
}

impl<T: Send + 'static> Call<T> {
    pub fn new(
        worker: Arc<DriveWorker>,
        f: impl FnOnce() -> DriveResult<T> + Send + 'static,
    ) -> Call<T> {
        Call {
            worker,
            f: Box::new(f),
            late: None,
            forced: false,
        }
    }

    /// What to do with an answer that came after the caller stopped waiting (undo what it
    /// made: the caller counted the drive out).
    pub fn late(mut self, f: impl FnOnce(T) + Send + 'static) -> Call<T> {
        self.late = Some(Box::new(f));
        self
    }

    /// Runs even on a drive marked timed out (the monitor's probe).
    fn forced(mut self) -> Call<T> {
        self.forced = true;
        self
    }
}

/// The answers of one fan-out, filled in by the calls as they end.
struct Answers<T> {
    slots: Mutex<Slots<T>>,
    arrived: Condvar,
}

struct Slots<T> {
    answers: Vec<Option<DriveResult<T>>>,
    /// Calls handed out that have not answered yet.
    missing: usize,
    /// The caller wants to see each answer as it comes (its `enough` may hold at any of them);
    /// otherwise it is woken once, by the last one. One wake-up instead of one per drive: a
    /// read of a 4-drive set's metadata otherwise switched to the waiting thread four times.
    wake_each: bool,
    /// The caller stopped waiting: later answers go to their `late` clean-up.
    closed: bool,
}

/// Runs each call on its drive's workers and returns their answers by position (`Offline`
/// for `None` and for drives marked timed out) once every call answered or `timeout` passed;
/// calls that did not answer by then are `Timeout`.
pub fn fan_out_all<T: Send + 'static>(
    calls: Vec<Option<Call<T>>>,
    timeout: Duration,
) -> Vec<DriveResult<T>> {
    start(calls, timeout).wait()
}

/// `fan_out_all`, returning as soon as `enough` holds for the answers so far, asked only once
/// `grace` has passed: while every drive answers within it, every answer counts (a read then
/// sees every drive's copy, damage included); a drive that lags past it is not waited for once
/// the others decided.
pub fn fan_out_after<T: Send + 'static>(
    calls: Vec<Option<Call<T>>>,
    timeout: Duration,
    grace: Duration,
    enough: impl Fn(&[Option<DriveResult<T>>]) -> bool,
) -> Vec<DriveResult<T>> {
    start(calls, timeout).wait_after(grace, enough)
}

/// Whether the answers so far decide a fan-out.
type Enough<'a, T> = dyn Fn(&[Option<DriveResult<T>>]) -> bool + 'a;

/// Calls handed to their drives, answering into one place.
pub struct Pending<T> {
    answers: Arc<Answers<T>>,
    /// Per position: the call's worker and ticket, when it was handed out.
    tickets: Vec<Option<(Arc<DriveWorker>, Arc<Ticket>)>>,
    start: Instant,
    timeout: Duration,
}

/// Hands each call to its drive's workers; `Pending::wait` collects the answers (the caller
/// can do its own work meanwhile). `None`, and drives marked timed out, answer `Offline`.
pub fn start<T: Send + 'static>(calls: Vec<Option<Call<T>>>, timeout: Duration) -> Pending<T> {
    let n = calls.len();
    let answers = Arc::new(Answers {
        slots: Mutex::new(Slots {
            answers: (0..n).map(|_| None).collect(),
            missing: 0,
            wake_each: false,
            closed: false,
        }),
        arrived: Condvar::new(),
    });
    let mut tickets: Vec<Option<(Arc<DriveWorker>, Arc<Ticket>)>> = (0..n).map(|_| None).collect();
    for (i, call) in calls.into_iter().enumerate() {
        let Some(call) = call else {
            lock(&answers.slots).answers[i] = Some(Err(DriveError::Offline));
            continue;
        };
        if call.worker.timed_out() && !call.forced {
            lock(&answers.slots).answers[i] = Some(Err(DriveError::Offline));
            continue;
        }
        let ticket = Arc::new(Ticket::default());
        let a = answers.clone();
        let Call {
            worker, f, late, ..
        } = call;
        let job = move || {
            let r = std::panic::catch_unwind(AssertUnwindSafe(f))
                .unwrap_or_else(|_| Err(DriveError::Io("drive call panicked".into())));
            let mut slots = lock(&a.slots);
            if slots.closed {
                drop(slots);
                if let (Ok(v), Some(late)) = (r, late) {
                    late(v);
                }
                return;
            }
            slots.answers[i] = Some(r);
            slots.missing -= 1;
            let wake = slots.missing == 0 || slots.wake_each;
            drop(slots);
            if wake {
                a.arrived.notify_all();
            }
        };
        lock(&answers.slots).missing += 1;
        worker.inner.push(Queued {
            job: Box::new(job),
            ticket: Some(ticket.clone()),
        });
        tickets[i] = Some((worker, ticket));
    }
    Pending {
        answers,
        tickets,
        start: Instant::now(),
        timeout,
    }
}

impl<T: Send + 'static> Pending<T> {
    /// Every answer, or `Timeout` for calls that gave none by the deadline.
    pub fn wait(self) -> Vec<DriveResult<T>> {
        self.collect(Duration::ZERO, None)
    }

    /// As `fan_out_after`.
    pub fn wait_after(
        self,
        grace: Duration,
        enough: impl Fn(&[Option<DriveResult<T>>]) -> bool,
    ) -> Vec<DriveResult<T>> {
        self.collect(grace, Some(&enough))
    }

    fn collect(self, grace: Duration, enough: Option<&Enough<'_, T>>) -> Vec<DriveResult<T>> {
        let deadline = self.start + self.timeout;
        let mut slots = lock(&self.answers.slots);
        loop {
            let graced = self.start.elapsed() >= grace;
            if slots.missing == 0 {
                break;
            }
            if let (true, Some(enough)) = (graced, enough) {
                if enough(&slots.answers) {
                    break;
                }
                // From now on any answer may decide.
                slots.wake_each = true;
            }
            let mut left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if !graced {
                left = left.min(grace.saturating_sub(self.start.elapsed()));
            }
            slots = self
                .answers
                .arrived
                .wait_timeout(slots, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        slots.closed = true;
        let got = std::mem::take(&mut slots.answers);
        drop(slots);
        got.into_iter()
            .zip(self.tickets)
            .map(|(a, t)| match (a, t) {
                (Some(a), _) => a,
                (None, Some((worker, ticket))) => {
                    abandon(&worker, &ticket, self.timeout);
                    Err(DriveError::Timeout)
                }
                (None, None) => Err(DriveError::Timeout),
            })
            .collect()
    }
}

/// Gives up on a call that did not answer: cancelled when it has not started; when it has
/// run for most of the deadline, its drive is taken as hung.
fn abandon(worker: &DriveWorker, ticket: &Ticket, timeout: Duration) {
    let mut ph = lock(&ticket.phase);
    ph.abandoned = true;
    let Some(started) = ph.started.filter(|_| !ph.done) else {
        return;
    };
    lock(&worker.inner.state).stuck += 1;
    drop(ph);
    // The call had (nearly) the whole deadline to itself: not a queue that was long, a drive
    // that does not answer.
    if started.elapsed() >= timeout * 3 / 4 {
        worker.mark_timed_out();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workers(n: usize) -> Vec<Arc<DriveWorker>> {
        (0..n)
            .map(|i| Arc::new(DriveWorker::new(format!("t{i}"))))
            .collect()
    }

    #[test]
    fn answers_in_order_and_panics_are_errors() {
        let w = workers(5);
        let calls = (0..5)
            .map(|i| {
                Some(Call::new(w[i].clone(), move || {
                    if i == 3 {
                        panic!("injected");
                    }
                    Ok(i * 10)
                }))
            })
            .collect();
        let out = fan_out_all(calls, Duration::from_secs(10));
        assert_eq!(out[..3], [Ok(0), Ok(10), Ok(20)]);
        assert!(matches!(out[3], Err(DriveError::Io(_))));
        assert_eq!(out[4], Ok(40));
        assert!(fan_out_all::<u8>(Vec::new(), Duration::from_secs(1)).is_empty());
    }

    #[test]
    fn calls_run_at_once() {
        // Eight calls that each wait 200 ms finish in well under their 1.6 s sum.
        let w = workers(8);
        let t = Instant::now();
        let calls = (0..8)
            .map(|i| {
                Some(Call::new(w[i].clone(), move || {
                    std::thread::sleep(Duration::from_millis(200));
                    Ok(i)
                }))
            })
            .collect();
        let out = fan_out_all(calls, Duration::from_secs(10));
        assert_eq!(out.len(), 8);
        assert!(
            t.elapsed() < Duration::from_millis(1200),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn a_hung_call_costs_the_deadline_then_fails_fast_until_a_probe() {
        let w = workers(3);
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        let hang = |r: Arc<(Mutex<bool>, Condvar)>| {
            move || {
                let mut g = lock(&r.0);
                while !*g {
                    g = r.1.wait(g).unwrap_or_else(|p| p.into_inner());
                }
                Ok(7)
            }
        };
        let calls = vec![
            Some(Call::new(w[0].clone(), || Ok(1))),
            Some(Call::new(w[1].clone(), hang(release.clone()))),
            Some(Call::new(w[2].clone(), || Ok(3))),
        ];
        let t = Instant::now();
        let out = fan_out_all(calls, Duration::from_millis(300));
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert_eq!(out, vec![Ok(1), Err(DriveError::Timeout), Ok(3)]);
        assert!(w[1].timed_out());
        assert_eq!(w[1].stuck(), 1);
        // Marked: no call reaches it, and the probe waits for the stuck call to end.
        let out = fan_out_all(
            vec![Some(Call::new(w[1].clone(), || Ok(2)))],
            Duration::from_secs(5),
        );
        assert_eq!(out, vec![Err(DriveError::Offline)]);
        assert!(!w[1].probe(Duration::from_secs(1), || Ok(())));
        *lock(&release.0) = true;
        release.1.notify_all();
        let t = Instant::now();
        while w[1].stuck() > 0 {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "stuck call never ended"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(w[1].probe(Duration::from_secs(5), || Ok(())));
        w[1].restore();
        let out = fan_out_all(
            vec![Some(Call::new(w[1].clone(), || Ok(2)))],
            Duration::from_secs(5),
        );
        assert_eq!(out, vec![Ok(2)]);
    }

    #[test]
    fn returns_once_enough_and_late_answers_are_cleaned_up() {
        let w = workers(3);
        let cleaned = Arc::new(Mutex::new(Vec::new()));
        // The slow call is running when the others decide (a call still queued then is
        // cancelled and makes nothing to clean up: a loaded machine once got there first).
        let slow_started = Arc::new(AtomicBool::new(false));
        let calls = (0..3)
            .map(|i| {
                let c = cleaned.clone();
                let started = slow_started.clone();
                Some(
                    Call::new(w[i].clone(), move || {
                        if i == 2 {
                            started.store(true, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(300));
                        } else {
                            let t = Instant::now();
                            while !started.load(Ordering::SeqCst) && t.elapsed().as_secs() < 5 {
                                std::thread::sleep(Duration::from_millis(1));
                            }
                        }
                        Ok(i)
                    })
                    .late(move |v| lock(&c).push(v)),
                )
            })
            .collect();
        let t = Instant::now();
        let out = fan_out_after(calls, Duration::from_secs(10), Duration::ZERO, |a| {
            a.iter().filter(|x| matches!(x, Some(Ok(_)))).count() >= 2
        });
        assert!(
            t.elapsed() < Duration::from_millis(250),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(out[..2], [Ok(0), Ok(1)]);
        assert_eq!(out[2], Err(DriveError::Timeout));
        // Not hung (it had not run for most of the deadline): not marked.
        assert!(!w[2].timed_out());
        let t = Instant::now();
        while lock(&cleaned).is_empty() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "late answer not cleaned up"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(*lock(&cleaned), vec![2]);
    }
}
