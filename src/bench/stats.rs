//! Per-operation statistics: counts, errors, bytes, latency and time-to-first-byte percentiles.

use serde::Serialize;
use std::time::Duration;

#[derive(Default, Clone)]
pub struct OpStats {
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    /// Microseconds, one per successful operation.
    pub latencies: Vec<u32>,
    pub ttfb: Vec<u32>,
    /// The first few distinct error messages, so failures are visible, never hidden.
    pub error_samples: Vec<String>,
}

impl OpStats {
    pub fn ok(&mut self, bytes: u64, latency: Duration, ttfb: Option<Duration>) {
        self.ops += 1;
        self.bytes += bytes;
        self.latencies.push(micros(latency));
        if let Some(t) = ttfb {
            self.ttfb.push(micros(t));
        }
    }

    pub fn failed(&mut self, message: String) {
        self.errors += 1;
        if self.error_samples.len() < 5 && !self.error_samples.contains(&message) {
            self.error_samples.push(message);
        }
    }

    pub fn merge(&mut self, other: OpStats) {
        self.ops += other.ops;
        self.errors += other.errors;
        self.bytes += other.bytes;
        self.latencies.extend(other.latencies);
        self.ttfb.extend(other.ttfb);
        for e in other.error_samples {
            if self.error_samples.len() < 5 && !self.error_samples.contains(&e) {
                self.error_samples.push(e);
            }
        }
    }

    pub fn summary(&mut self, op: &str, elapsed: Duration) -> Summary {
        let secs = elapsed.as_secs_f64().max(1e-9);
        Summary {
            op: op.to_string(),
            ops: self.ops,
            errors: self.errors,
            bytes: self.bytes,
            seconds: secs,
            ops_per_sec: self.ops as f64 / secs,
            mib_per_sec: self.bytes as f64 / secs / (1024.0 * 1024.0),
            latency_ms: Percentiles::of(&mut self.latencies),
            ttfb_ms: (!self.ttfb.is_empty()).then(|| Percentiles::of(&mut self.ttfb)),
            error_samples: self.error_samples.clone(),
        }
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

#[derive(Serialize, Debug, Clone)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles in milliseconds.
    pub fn of(samples: &mut [u32]) -> Percentiles {
        samples.sort_unstable();
        let at = |p: f64| {
            if samples.is_empty() {
                return 0.0;
            }
            let rank = ((p * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            samples[rank - 1] as f64 / 1000.0
        };
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct Summary {
    pub op: String,
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub ops_per_sec: f64,
    pub mib_per_sec: f64,
    pub latency_ms: Percentiles,
    pub ttfb_ms: Option<Percentiles>,
    pub error_samples: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let p = Percentiles::of(&mut v);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(Percentiles::of(&mut []).max, 0.0);
    }

    #[test]
    fn summary_rates_and_errors() {
        let mut s = OpStats::default();
        s.ok(1024 * 1024, Duration::from_millis(10), None);
        s.ok(1024 * 1024, Duration::from_millis(20), None);
        s.failed("HTTP 503".into());
        s.failed("HTTP 503".into());
        let sum = s.summary("put", Duration::from_secs(2));
        assert_eq!(sum.ops, 2);
        assert_eq!(sum.errors, 2);
        assert_eq!(sum.error_samples, vec!["HTTP 503"]);
        assert!((sum.mib_per_sec - 1.0).abs() < 1e-9);
    }
}
