//! Running one call per drive (or per shard) at once, on long-lived threads: spawning a thread
//! per drive per call cost more than the calls themselves (small GETs ran 8 times slower).
//! The calls block on I/O, so the pool has many more threads than cores. (Deadlines for a
//! drive that hangs come with per-drive workers; until then a hung call holds its caller.)

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

/// Threads of the pool: every request in flight holds one per drive it waits on.
const THREADS: usize = 64;

/// The pool, started on first use; `None` if no thread could be started (then calls run one
/// after another on the caller's thread).
fn pool() -> Option<&'static rayon_core::ThreadPool> {
    static POOL: OnceLock<Option<rayon_core::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .thread_name(|i| format!("strata-drive-{i}"))
            .build()
            .map_err(|e| tracing::warn!(%e, "no drive thread pool: drive calls run in turn"))
            .ok()
    })
    .as_ref()
}

/// `f(0)`, …, `f(n - 1)` at once — the last on the caller's thread, the others on the pool —
/// and their results in order; `None` for a call that panicked.
pub fn each<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<Option<T>> {
    let call = |i: usize| std::panic::catch_unwind(AssertUnwindSafe(|| f(i))).ok();
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    match pool() {
        Some(pool) if n > 1 => pool.in_place_scope(|s| {
            let call = &call;
            let mut slots = out.iter_mut().enumerate();
            let last = slots.next_back();
            for (i, slot) in slots {
                s.spawn(move |_| *slot = call(i));
            }
            if let Some((i, slot)) = last {
                *slot = call(i);
            }
        }),
        _ => {
            for (i, slot) in out.iter_mut().enumerate() {
                *slot = call(i);
            }
        }
    }
    out
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
}
