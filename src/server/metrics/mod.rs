//! What the server counts about its S3 traffic, and the Prometheus pages it serves at
//! `/minio/v2/metrics/{cluster,node,bucket}` under MinIO's names, labels and types (so that
//! MinIO's Grafana dashboards, alerts and scrape configs work unchanged), with Strata's own
//! figures that MinIO has no name for (per-status counts, rebuilds, the scanner) beside them
//! as `strata_*`.

pub mod api;
mod process;
mod render;
mod text;
pub mod usage;

pub use render::{page, Context, Scope};

use api::Rejection;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of MinIO's time-to-first-byte distribution
/// (`minio_s3_requests_ttfb_seconds_distribution`).
const MINIO_TTFB: [f64; 8] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Upper bounds (seconds) of `strata_ttfb_seconds`: MinIO's first bucket (50 ms) holds nearly
/// every request of a local deployment, these tell them apart.
const FINE_TTFB: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// One API's requests: by HTTP status, and their times to first byte.
#[derive(Clone, Debug, Default)]
pub struct ApiStats {
    pub statuses: BTreeMap<u16, u64>,
    pub count: u64,
    pub minio_le: [u64; MINIO_TTFB.len()],
    pub fine_le: [u64; FINE_TTFB.len()],
    pub ttfb_sum: f64,
}

impl ApiStats {
    fn errors(&self, range: std::ops::Range<u16>) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| range.contains(s))
            .map(|(_, n)| n)
            .sum()
    }

    pub fn errors_4xx(&self) -> u64 {
        self.errors(400..500)
    }

    pub fn errors_5xx(&self) -> u64 {
        self.errors(500..600)
    }
}

#[derive(Default)]
pub struct Metrics {
    apis: Mutex<BTreeMap<Cow<'static, str>, ApiStats>>,
    rejected_auth: AtomicU64,
    rejected_timestamp: AtomicU64,
    rejected_invalid: AtomicU64,
    /// Request body bytes as they were read from the network, and response body bytes sent.
    received: AtomicU64,
    sent: AtomicU64,
}

impl Metrics {
    /// One S3 request answered with `status` after `ttfb`, under its API label.
    pub fn record(&self, api: Cow<'static, str>, status: u16, ttfb: Duration) {
        let secs = ttfb.as_secs_f64();
        let Ok(mut apis) = self.apis.lock() else {
            return;
        };
        let s = apis.entry(api).or_default();
        *s.statuses.entry(status).or_default() += 1;
        s.count += 1;
        s.ttfb_sum += secs;
        for (n, le) in s.minio_le.iter_mut().zip(MINIO_TTFB) {
            *n += u64::from(secs <= le);
        }
        for (n, le) in s.fine_le.iter_mut().zip(FINE_TTFB) {
            *n += u64::from(secs <= le);
        }
    }

    pub fn reject(&self, why: Rejection) {
        let counter = match why {
            Rejection::Auth => &self.rejected_auth,
            Rejection::Timestamp => &self.rejected_timestamp,
            Rejection::Invalid => &self.rejected_invalid,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn add_received(&self, bytes: u64) {
        self.received.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn add_sent(&self, bytes: u64) {
        self.sent.fetch_add(bytes, Ordering::Relaxed);
    }

    fn apis(&self) -> BTreeMap<Cow<'static, str>, ApiStats> {
        self.apis.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn load(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_status_and_ttfb_bucket() {
        let m = Metrics::default();
        m.record("getobject".into(), 200, Duration::from_millis(3));
        m.record("getobject".into(), 404, Duration::from_millis(70));
        m.record("getobject".into(), 503, Duration::from_secs(20));
        let apis = m.apis();
        let g = &apis["getobject"];
        assert_eq!((g.count, g.errors_4xx(), g.errors_5xx()), (3, 1, 1));
        assert_eq!(g.minio_le, [1, 2, 2, 2, 2, 2, 2, 2]);
        assert_eq!(g.fine_le[0], 0);
        assert_eq!(g.fine_le[1], 1);
    }
}
