//! Running one call per drive (or per shard) at once, on long-lived threads: spawning a thread
//! per drive per call cost more than the calls themselves (small GETs ran 8 times slower).
//! The calls block on I/O, so the pool has many more threads than cores. Idle threads sleep on
//! a condition variable: a work-stealing pool whose idle threads spin and yield (rayon's) made
//! ten times the context switches of the calls themselves under many small writes. (Deadlines
//! for a drive that hangs come with per-drive workers; until then a hung call holds its
//! caller.)

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

/// Threads of the pool: every request in flight holds one per drive it waits on.
const THREADS: usize = 64;

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Pool {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

impl Pool {
    fn push(&self, job: Job) {
        lock(&self.jobs).push_back(job);
        self.ready.notify_one();
    }

    fn work(&self) {
        loop {
            let job = {
                let mut jobs = lock(&self.jobs);
                loop {
                    match jobs.pop_front() {
                        Some(job) => break job,
                        None => {
                            jobs = self.ready.wait(jobs).unwrap_or_else(|p| p.into_inner());
                        }
                    }
                }
            };
            job();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pool, started on first use; `None` if no thread could be started (then calls run one
/// after another on the caller's thread).
fn pool() -> Option<&'static Pool> {
    static POOL: OnceLock<Option<Arc<Pool>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool = Arc::new(Pool {
            jobs: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
        });
        let mut started = 0;
        for i in 0..THREADS {
            let p = pool.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("strata-drive-{i}"))
                .spawn(move || p.work());
            match spawned {
                Ok(_) => started += 1,
                Err(e) => {
                    tracing::warn!(%e, started, "drive pool: could not start more threads");
                    break;
                }
            }
        }
        (started > 0).then_some(pool)
    })
    .as_deref()
}

/// Counts the calls of one `each` still running; `each` returns only once it reaches zero.
struct Latch {
    left: Mutex<usize>,
    done: Condvar,
}

impl Latch {
    fn count_down(&self) {
        let mut left = lock(&self.left);
        *left -= 1;
        if *left == 0 {
            self.done.notify_all();
        }
    }

    fn wait(&self) {
        let mut left = lock(&self.left);
        while *left > 0 {
            left = self.done.wait(left).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Counts the latch down when dropped: a call that panics still counts.
struct CountDown<'a>(&'a Latch);

impl Drop for CountDown<'_> {
    fn drop(&mut self) {
        self.0.count_down();
    }
}

/// `f(0)`, …, `f(n - 1)` at once — the last on the caller's thread, the others on the pool —
/// and their results in order; `None` for a call that panicked.
pub fn each<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<Option<T>> {
    let call = |i: usize| std::panic::catch_unwind(AssertUnwindSafe(|| f(i))).ok();
    let slots: Vec<Mutex<Option<T>>> = (0..n).map(|_| Mutex::new(None)).collect();
    match pool() {
        Some(pool) if n > 1 => {
            let latch = Latch {
                left: Mutex::new(n - 1),
                done: Condvar::new(),
            };
            for (i, slot) in slots.iter().enumerate().take(n - 1) {
                let (call, latch) = (&call, &latch);
                let job: Box<dyn FnOnce() + Send + '_> = Box::new(move || {
                    let _count = CountDown(latch);
                    *lock(slot) = call(i);
                });
                // SAFETY: the job borrows `call`, `latch` and `slot`, which live until this
                // function returns; it returns only after `latch.wait()`, and every job counts
                // the latch down when it ends (its `CountDown` is dropped on return and on
                // unwinding), so no job runs or holds a borrow past that point. A job that is
                // never run cannot happen: the pool's threads run every job they are given and
                // never exit.
                let job: Job = unsafe { std::mem::transmute(job) };
                pool.push(job);
            }
            *lock(&slots[n - 1]) = call(n - 1);
            latch.wait();
        }
        _ => {
            for (i, slot) in slots.iter().enumerate() {
                *lock(slot) = call(i);
            }
        }
    }
    slots
        .into_iter()
        .map(|s| s.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn results_in_order_and_panics_are_none() {
        let out = each(5, |i| {
            if i == 3 {
                panic!("injected");
            }
            i * 10
        });
        assert_eq!(out, vec![Some(0), Some(10), Some(20), None, Some(40)]);
        assert!(each(0, |i| i).is_empty());
    }

    #[test]
    fn calls_run_at_once() {
        // Eight calls that each wait 200 ms finish in well under their 1.6 s sum.
        let t = Instant::now();
        let out = each(8, |i| {
            std::thread::sleep(Duration::from_millis(200));
            i
        });
        assert_eq!(out.len(), 8);
        assert!(
            t.elapsed() < Duration::from_millis(1200),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn borrowed_data_is_only_used_while_each_runs() {
        // Many overlapping calls from many threads, each borrowing its own buffer: every result
        // must come from its own caller's data.
        let threads: Vec<_> = (0..16)
            .map(|t| {
                std::thread::spawn(move || {
                    for round in 0..50 {
                        let data: Vec<usize> = (0..6).map(|i| t * 1000 + round * 10 + i).collect();
                        let out = each(6, |i| data[i]);
                        let got: Vec<usize> = out.into_iter().map(Option::unwrap).collect();
                        assert_eq!(got, data);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }
}
