//! Prometheus metrics in the text exposition format: requests by API and status, bytes in and
//! out, time-to-first-byte histograms by API, drives online/offline and capacity.

use crate::engine::Engine;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the TTFB histogram buckets.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    ttfb: Mutex<BTreeMap<&'static str, Histogram>>,
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
}

impl Metrics {
    pub fn record(&self, api: &'static str, status: u16, ttfb: Duration) {
        if let Ok(mut r) = self.requests.lock() {
            *r.entry((api, status)).or_default() += 1;
        }
        if let Ok(mut h) = self.ttfb.lock() {
            let h = h.entry(api).or_default();
            let secs = ttfb.as_secs_f64();
            for (i, le) in BUCKETS.iter().enumerate() {
                if secs <= *le {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += secs;
        }
    }

    pub fn render(&self, engine: &Engine) -> String {
        let mut out = String::new();
        out.push_str("# HELP strata_requests_total S3 requests by API and HTTP status.\n# TYPE strata_requests_total counter\n");
        if let Ok(r) = self.requests.lock() {
            for ((api, status), n) in r.iter() {
                let _ = writeln!(
                    out,
                    "strata_requests_total{{api=\"{api}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP strata_ttfb_seconds Time to first byte of S3 responses.\n# TYPE strata_ttfb_seconds histogram\n");
        if let Ok(h) = self.ttfb.lock() {
            for (api, hist) in h.iter() {
                for (le, n) in BUCKETS.iter().zip(hist.counts) {
                    let _ = writeln!(
                        out,
                        "strata_ttfb_seconds_bucket{{api=\"{api}\",le=\"{le}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "strata_ttfb_seconds_bucket{{api=\"{api}\",le=\"+Inf\"}} {}",
                    hist.count
                );
                let _ = writeln!(out, "strata_ttfb_seconds_sum{{api=\"{api}\"}} {}", hist.sum);
                let _ = writeln!(
                    out,
                    "strata_ttfb_seconds_count{{api=\"{api}\"}} {}",
                    hist.count
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP strata_rx_bytes_total Request body bytes received.\n# TYPE strata_rx_bytes_total counter\nstrata_rx_bytes_total {}",
            self.bytes_in.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP strata_tx_bytes_total Response body bytes sent.\n# TYPE strata_tx_bytes_total counter\nstrata_tx_bytes_total {}",
            self.bytes_out.load(Ordering::Relaxed)
        );
        render_drives(engine, &mut out);
        out
    }
}

fn render_drives(engine: &Engine, out: &mut String) {
    let drives = engine.drives();
    let online = drives.iter().filter(|d| d.online).count();
    let _ = writeln!(
        out,
        "# HELP strata_drives_online Drives in service.\n# TYPE strata_drives_online gauge\nstrata_drives_online {online}\n# HELP strata_drives_offline Drives out of service.\n# TYPE strata_drives_offline gauge\nstrata_drives_offline {}",
        drives.len() - online
    );
    out.push_str("# HELP strata_drive_total_bytes Capacity of each drive.\n# TYPE strata_drive_total_bytes gauge\n# HELP strata_drive_free_bytes Free space of each drive.\n# TYPE strata_drive_free_bytes gauge\n");
    for d in drives.iter().filter(|d| d.online) {
        let Some(path) = &d.path else { continue };
        if let Some((total, free)) = statvfs(path) {
            let labels = format!(
                "set=\"{}\",drive=\"{}\",path=\"{}\"",
                d.set,
                d.drive_id,
                path.display()
            );
            let _ = writeln!(out, "strata_drive_total_bytes{{{labels}}} {total}");
            let _ = writeln!(out, "strata_drive_free_bytes{{{labels}}} {free}");
        }
    }
}

/// (total, available) bytes of the filesystem holding `path`.
pub fn statvfs(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs is plain data, for which all zeros is a valid value.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is a valid NUL-terminated path and s a properly sized out-parameter.
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    let frsize = s.f_frsize as u64;
    Some((s.f_blocks as u64 * frsize, s.f_bavail as u64 * frsize))
}
