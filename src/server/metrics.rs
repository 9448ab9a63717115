//! Prometheus metrics in the text exposition format: requests by API and status, bytes in and
//! out, time-to-first-byte histograms by API, drives online/offline/healing and capacity, and
//! the background workers (heals, scanner, rebuilds with their time to full redundancy).

use crate::engine::{Engine, Stats};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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
    /// Request body bytes read from the network (counted by `limits::GuardedBody`).
    pub bytes_in: Arc<AtomicU64>,
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
        render_background(engine, &mut out);
        out
    }
}

fn render_drives(engine: &Engine, out: &mut String) {
    let drives = engine.drives();
    let online = drives.iter().filter(|d| d.online).count();
    let healing = drives.iter().filter(|d| d.online && d.healing).count();
    let _ = writeln!(
        out,
        "# HELP strata_drives_online Drives in service.\n# TYPE strata_drives_online gauge\nstrata_drives_online {online}\n# HELP strata_drives_offline Drives out of service.\n# TYPE strata_drives_offline gauge\nstrata_drives_offline {}\n# HELP strata_drives_healing Drives in service being rebuilt (reduced redundancy until done).\n# TYPE strata_drives_healing gauge\nstrata_drives_healing {healing}",
        drives.len() - online
    );
    out.push_str("# HELP strata_drive_total_bytes Capacity of each drive.\n# TYPE strata_drive_total_bytes gauge\n# HELP strata_drive_free_bytes Free space of each drive.\n# TYPE strata_drive_free_bytes gauge\n");
    for d in drives.iter().filter(|d| d.online) {
        let (Some(path), Some(c)) = (&d.path, &d.capacity) else {
            continue;
        };
        let labels = format!(
            "set=\"{}\",drive=\"{}\",path=\"{}\"",
            d.set,
            d.drive_id,
            path.display()
        );
        let _ = writeln!(out, "strata_drive_total_bytes{{{labels}}} {}", c.total);
        let _ = writeln!(out, "strata_drive_free_bytes{{{labels}}} {}", c.free);
    }
}

/// The background workers: heals queued by reads and commits, scanner passes, rebuilds.
fn render_background(engine: &Engine, out: &mut String) {
    let s = engine.stats();
    let counters = [
        (
            "strata_heal_objects_total",
            "Keys healed from the heal queue (reads that met damage, commits that missed a drive).",
            Stats::get(&s.heals_done),
        ),
        (
            "strata_heal_objects_failed_total",
            "Queued heals that could not complete.",
            Stats::get(&s.heals_failed),
        ),
        (
            "strata_scanner_objects_scanned_total",
            "Keys the scanner checked (every shard read, parity included).",
            Stats::get(&s.scanned),
        ),
        (
            "strata_scanner_objects_healed_total",
            "Keys the scanner found missing, stale or damaged on some drive and healed.",
            Stats::get(&s.scan_healed),
        ),
        (
            "strata_scanner_objects_failed_total",
            "Keys the scanner could not heal.",
            Stats::get(&s.scan_failed),
        ),
        (
            "strata_scanner_bytes_read_total",
            "Shard bytes the scanner read.",
            Stats::get(&s.scan_bytes),
        ),
        (
            "strata_scanner_passes_total",
            "Full scanner passes finished.",
            Stats::get(&s.scan_passes),
        ),
    ];
    for (name, help, v) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    }
    out.push_str("# HELP strata_drive_rebuild_keys_checked Keys of its set looked at by a drive's rebuild.\n# TYPE strata_drive_rebuild_keys_checked gauge\n# HELP strata_drive_rebuild_keys_healed Keys rewritten onto the drive by its rebuild.\n# TYPE strata_drive_rebuild_keys_healed gauge\n# HELP strata_drive_rebuild_seconds Time the rebuild has run, or took to full redundancy once complete.\n# TYPE strata_drive_rebuild_seconds gauge\n# HELP strata_drive_rebuild_complete Whether the drive's rebuild reached full redundancy.\n# TYPE strata_drive_rebuild_complete gauge\n");
    for ((set, _), r) in s.rebuilds() {
        let labels = format!("set=\"{set}\",drive=\"{}\"", r.drive_id);
        let secs = r
            .finished
            .unwrap_or_else(|| r.started.elapsed())
            .as_secs_f64();
        let _ = writeln!(
            out,
            "strata_drive_rebuild_keys_checked{{{labels}}} {}",
            r.checked
        );
        let _ = writeln!(
            out,
            "strata_drive_rebuild_keys_healed{{{labels}}} {}",
            r.healed
        );
        let _ = writeln!(out, "strata_drive_rebuild_seconds{{{labels}}} {secs}");
        let _ = writeln!(
            out,
            "strata_drive_rebuild_complete{{{labels}}} {}",
            u8::from(r.finished.is_some())
        );
    }
}
