//! The pages: which families each endpoint serves, as MinIO splits them (`cluster`: the
//! deployment, its S3 traffic, healing, usage; `node`: this server's traffic and drives;
//! `bucket`: usage per bucket). Drives are named by their ids, never by host paths.

use super::text::{Kind, Labels, Page, Sample};
use super::usage::Usage;
use super::{process, Metrics, FINE_TTFB, MINIO_TTFB};
use strata_engine::{DriveState, Engine, Stats};

pub struct Context<'a> {
    pub engine: &'a Engine,
    pub metrics: &'a Metrics,
    pub usage: &'a Usage,
    /// The `server` label: this server's host and port.
    pub server: &'a str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Cluster,
    Node,
    Bucket,
}

pub fn page(scope: Scope, cx: &Context) -> String {
    let mut p = Page::new(cx.server);
    match scope {
        Scope::Cluster => {
            let drives = cx.engine.drives();
            capacity(&mut p, cx.engine, &drives);
            cluster_drives(&mut p, &drives);
            erasure_sets(&mut p, cx.engine, &drives);
            cluster_usage(&mut p, cx.usage);
            bucket_usage(&mut p, cx.usage);
            s3(&mut p, cx.metrics);
            healing(&mut p, cx.engine.stats());
            process_figures(&mut p);
            strata_requests(&mut p, cx.metrics);
            strata_background(&mut p, cx.engine.stats(), &drives);
            strata_workers(&mut p, cx.engine);
        }
        Scope::Node => {
            let drives = cx.engine.drives();
            nodes(&mut p);
            node_drives(&mut p, cx.engine, &drives);
            s3(&mut p, cx.metrics);
            process_figures(&mut p);
        }
        Scope::Bucket => bucket_usage(&mut p, cx.usage),
    }
    p.finish()
}

fn n(v: u64) -> f64 {
    v as f64
}

fn drive_labels(d: &DriveState) -> Labels {
    vec![("drive", d.drive_id.clone()), ("set", d.set.to_string())]
}

/// Raw capacity of the drives in service, and the part of it objects can fill (data shards
/// of each set: k of n drives), as MinIO computes usable capacity.
fn capacity(p: &mut Page, engine: &Engine, drives: &[DriveState]) {
    let geometries = engine.set_geometries(false);
    let (mut raw_total, mut raw_free, mut usable_total, mut usable_free) = (0, 0, 0.0, 0.0);
    for d in drives.iter().filter(|d| d.online) {
        let Some(c) = &d.capacity else { continue };
        raw_total += c.total;
        raw_free += c.free;
        if let Some(g) = geometries.get(d.set) {
            let share = g.data as f64 / g.drives() as f64;
            usable_total += c.total as f64 * share;
            usable_free += c.free as f64 * share;
        }
    }
    let gauge = |p: &mut Page, name: &str, help: &str, v: f64| p.single(name, help, Kind::Gauge, v);
    gauge(
        p,
        "minio_cluster_capacity_raw_total_bytes",
        "Total capacity online in the cluster",
        n(raw_total),
    );
    gauge(
        p,
        "minio_cluster_capacity_raw_free_bytes",
        "Total free capacity online in the cluster",
        n(raw_free),
    );
    gauge(
        p,
        "minio_cluster_capacity_usable_total_bytes",
        "Total usable capacity online in the cluster",
        usable_total.floor(),
    );
    gauge(
        p,
        "minio_cluster_capacity_usable_free_bytes",
        "Total free usable capacity online in the cluster",
        usable_free.floor(),
    );
}

fn cluster_drives(p: &mut Page, drives: &[DriveState]) {
    let online = drives.iter().filter(|d| d.online).count() as u64;
    let total = drives.len() as u64;
    p.single(
        "minio_cluster_drive_online_total",
        "Total drives online in this cluster",
        Kind::Gauge,
        n(online),
    );
    p.single(
        "minio_cluster_drive_offline_total",
        "Total drives offline in this cluster",
        Kind::Gauge,
        n(total - online),
    );
    p.single(
        "minio_cluster_drive_total",
        "Total drives in this cluster",
        Kind::Gauge,
        n(total),
    );
    nodes(p);
}

/// One server process serves the whole deployment (no distributed mode yet).
fn nodes(p: &mut Page) {
    p.single(
        "minio_cluster_nodes_online_total",
        "Total number of MinIO nodes online",
        Kind::Gauge,
        1.0,
    );
    p.single(
        "minio_cluster_nodes_offline_total",
        "Total number of MinIO nodes offline",
        Kind::Gauge,
        0.0,
    );
}

/// Per erasure set: drives online and healing, quorums, and whether it takes writes.
fn erasure_sets(p: &mut Page, engine: &Engine, drives: &[DriveState]) {
    let geometries = engine.set_geometries(false);
    let mut families: [(&str, &str, Vec<Sample>); 5] = [
        (
            "minio_cluster_health_erasure_set_status",
            "Get current health status for this erasure set",
            Vec::new(),
        ),
        (
            "minio_cluster_health_erasure_set_online_drives",
            "Get the count of the online drives in this erasure set",
            Vec::new(),
        ),
        (
            "minio_cluster_health_erasure_set_healing_drives",
            "Get the count of healing drives of this erasure set",
            Vec::new(),
        ),
        (
            "minio_cluster_health_erasure_set_read_quorum",
            "Get the read quorum for this erasure set",
            Vec::new(),
        ),
        (
            "minio_cluster_health_erasure_set_write_quorum",
            "Get the write quorum for this erasure set",
            Vec::new(),
        ),
    ];
    let mut healthy = true;
    for (set, g) in geometries.iter().enumerate() {
        let of_set = drives.iter().filter(|d| d.set == set);
        let online = of_set.clone().filter(|d| d.online).count();
        let healing = of_set.filter(|d| d.online && d.healing).count();
        let ok = online >= g.write_quorum();
        healthy &= ok;
        let labels = || vec![("pool", "0".to_string()), ("set", set.to_string())];
        let values = [
            f64::from(u8::from(ok)),
            online as f64,
            healing as f64,
            g.read_quorum() as f64,
            g.write_quorum() as f64,
        ];
        for (f, v) in families.iter_mut().zip(values) {
            f.2.push(Sample::new(labels(), v));
        }
    }
    p.single(
        "minio_cluster_health_status",
        "Get current cluster health status",
        Kind::Gauge,
        f64::from(u8::from(healthy)),
    );
    let write_quorum = geometries.iter().map(|g| g.write_quorum()).max();
    p.single(
        "minio_cluster_write_quorum",
        "Maximum write quorum across all pools and sets",
        Kind::Gauge,
        write_quorum.unwrap_or(0) as f64,
    );
    for (name, help, samples) in families {
        p.family(name, help, Kind::Gauge, samples);
    }
}

fn node_drives(p: &mut Page, engine: &Engine, drives: &[DriveState]) {
    let with_capacity: Vec<(&DriveState, &strata_engine::drive::Capacity)> = drives
        .iter()
        .filter(|d| d.online)
        .filter_map(|d| Some((d, d.capacity.as_ref()?)))
        .collect();
    let per_drive = |f: fn(&strata_engine::drive::Capacity) -> u64| -> Vec<Sample> {
        with_capacity
            .iter()
            .map(|(d, c)| Sample::new(drive_labels(d), n(f(c))))
            .collect()
    };
    p.family(
        "minio_node_drive_total_bytes",
        "Total storage on a drive",
        Kind::Gauge,
        per_drive(|c| c.total),
    );
    p.family(
        "minio_node_drive_free_bytes",
        "Total storage available on a drive",
        Kind::Gauge,
        per_drive(|c| c.free),
    );
    p.family(
        "minio_node_drive_used_bytes",
        "Total storage used on a drive",
        Kind::Gauge,
        per_drive(|c| c.total.saturating_sub(c.free)),
    );
    let online = drives.iter().filter(|d| d.online).count() as u64;
    let total = drives.len() as u64;
    p.single(
        "minio_node_drive_online_total",
        "Total drives online in this node",
        Kind::Gauge,
        n(online),
    );
    p.single(
        "minio_node_drive_offline_total",
        "Total drives offline in this node",
        Kind::Gauge,
        n(total - online),
    );
    p.single(
        "minio_node_drive_total",
        "Total drives in this node",
        Kind::Gauge,
        n(total),
    );
    let parity = |reduced| engine.set_geometries(reduced).first().map(|g| g.parity);
    if let (Some(standard), Some(rrs)) = (parity(false), parity(true)) {
        p.single(
            "minio_node_storage_class_standard_parity",
            "standard storage class parity",
            Kind::Gauge,
            standard as f64,
        );
        p.single(
            "minio_node_storage_class_rrs_parity",
            "reduced redundancy storage class parity",
            Kind::Gauge,
            rrs as f64,
        );
    }
}

fn cluster_usage(p: &mut Page, usage: &Usage) {
    let Some(s) = usage.latest() else { return };
    let total = s.total();
    p.single(
        "minio_usage_last_activity_nano_seconds",
        "Time elapsed (in nano seconds) since last scan activity",
        Kind::Gauge,
        s.taken.elapsed().as_nanos() as f64,
    );
    p.single(
        "minio_cluster_usage_total_bytes",
        "Total cluster usage in bytes",
        Kind::Gauge,
        n(total.bytes),
    );
    p.single(
        "minio_cluster_usage_object_total",
        "Total number of objects in a cluster",
        Kind::Gauge,
        n(total.objects),
    );
    p.single(
        "minio_cluster_bucket_total",
        "Total number of buckets in the cluster",
        Kind::Gauge,
        s.buckets.len() as f64,
    );
}

fn bucket_usage(p: &mut Page, usage: &Usage) {
    let Some(s) = usage.latest() else { return };
    let per_bucket = |f: fn(&super::usage::BucketUsage) -> u64| -> Vec<Sample> {
        s.buckets
            .iter()
            .map(|(b, u)| Sample::new(vec![("bucket", b.clone())], n(f(u))))
            .collect()
    };
    p.family(
        "minio_bucket_usage_total_bytes",
        "Total bucket size in bytes",
        Kind::Gauge,
        per_bucket(|u| u.bytes),
    );
    p.family(
        "minio_bucket_usage_object_total",
        "Total number of objects",
        Kind::Gauge,
        per_bucket(|u| u.objects),
    );
}

/// S3 requests by API (MinIO's lowercase names), their errors, times to first byte and
/// the bytes that crossed the network.
fn s3(p: &mut Page, m: &Metrics) {
    let apis = m.apis();
    let by_api = |f: &dyn Fn(&super::ApiStats) -> u64, skip_zero: bool| -> Vec<Sample> {
        apis.iter()
            .map(|(api, s)| (api, f(s)))
            .filter(|(_, v)| !skip_zero || *v > 0)
            .map(|(api, v)| Sample::new(vec![("api", api.to_string())], n(v)))
            .collect()
    };
    p.family(
        "minio_s3_requests_total",
        "Total number of S3 requests",
        Kind::Counter,
        by_api(&|s| s.count, false),
    );
    p.family(
        "minio_s3_requests_errors_total",
        "Total number of S3 requests with (4xx and 5xx) errors",
        Kind::Counter,
        by_api(&|s| s.errors_4xx() + s.errors_5xx(), true),
    );
    p.family(
        "minio_s3_requests_4xx_errors_total",
        "Total number of S3 requests with (4xx) errors",
        Kind::Counter,
        by_api(&|s| s.errors_4xx(), true),
    );
    p.family(
        "minio_s3_requests_5xx_errors_total",
        "Total number of S3 requests with (5xx) errors",
        Kind::Counter,
        by_api(&|s| s.errors_5xx(), true),
    );
    for (name, help, v) in [
        (
            "minio_s3_requests_rejected_auth_total",
            "Total number of S3 requests rejected for auth failure",
            &m.rejected_auth,
        ),
        (
            "minio_s3_requests_rejected_timestamp_total",
            "Total number of S3 requests rejected for invalid timestamp",
            &m.rejected_timestamp,
        ),
        (
            "minio_s3_requests_rejected_invalid_total",
            "Total number of invalid S3 requests",
            &m.rejected_invalid,
        ),
    ] {
        p.single(name, help, Kind::Counter, n(Metrics::load(v)));
    }
    // MinIO writes its distribution as gauges with an `le` label (bounds as %.3f), not as a
    // Prometheus histogram: dashboards query it that way.
    let mut ttfb = Vec::new();
    for (api, s) in &apis {
        let le = MINIO_TTFB.iter().map(|b| format!("{b:.3}"));
        for (le, count) in le
            .chain(["+Inf".into()])
            .zip(s.minio_le.iter().chain([&s.count]))
        {
            ttfb.push(Sample::new(
                vec![("api", api.to_string()), ("le", le)],
                n(*count),
            ));
        }
    }
    p.family(
        "minio_s3_requests_ttfb_seconds_distribution",
        "Distribution of time to first byte across API calls",
        Kind::Gauge,
        ttfb,
    );
    p.single(
        "minio_s3_traffic_received_bytes",
        "Total number of s3 bytes received",
        Kind::Counter,
        n(Metrics::load(&m.received)),
    );
    p.single(
        "minio_s3_traffic_sent_bytes",
        "Total number of s3 bytes sent",
        Kind::Counter,
        n(Metrics::load(&m.sent)),
    );
}

/// Heals of objects (queued by reads and commits, and found by the scanner), and the
/// scanner's visits.
fn healing(p: &mut Page, s: &Stats) {
    let object = || vec![("type", "object".to_string())];
    let scanned = Stats::get(&s.scanned);
    // The heal queue counts every key it took, healed or not.
    let healed = Stats::get(&s.heals_done).saturating_sub(Stats::get(&s.heals_failed))
        + Stats::get(&s.scan_healed);
    let failed = Stats::get(&s.heals_failed) + Stats::get(&s.scan_failed);
    p.family(
        "minio_heal_objects_total",
        "Objects scanned since server uptime",
        Kind::Counter,
        vec![Sample::new(object(), n(scanned))],
    );
    p.family(
        "minio_heal_objects_heal_total",
        "Objects healed since server uptime",
        Kind::Counter,
        vec![Sample::new(object(), n(healed))],
    );
    p.family(
        "minio_heal_objects_errors_total",
        "Objects with healing failed since server uptime",
        Kind::Counter,
        vec![Sample::new(object(), n(failed))],
    );
    p.single(
        "minio_node_scanner_objects_scanned",
        "Total number of unique objects scanned since server uptime",
        Kind::Counter,
        n(scanned),
    );
}

fn process_figures(p: &mut Page) {
    let Some(pr) = process::read() else { return };
    let gauges = [
        (
            "minio_node_process_starttime_seconds",
            "Start time for MinIO process per node, time in seconds since Unix epoc",
            pr.start_time,
        ),
        (
            "minio_node_process_uptime_seconds",
            "Uptime for MinIO process per node in seconds",
            pr.uptime,
        ),
        (
            "minio_node_process_resident_memory_bytes",
            "Resident memory size in bytes",
            n(pr.resident_bytes),
        ),
        (
            "minio_node_process_virtual_memory_bytes",
            "Virtual memory size in bytes",
            n(pr.virtual_bytes),
        ),
        (
            "minio_node_file_descriptor_open_total",
            "Total number of open file descriptors by the MinIO Server process",
            n(pr.open_fds),
        ),
    ];
    for (name, help, v) in gauges {
        p.single(name, help, Kind::Gauge, v);
    }
    if let Some(limit) = pr.fd_limit {
        p.single(
            "minio_node_file_descriptor_limit_total",
            "Limit on total number of open file descriptors for the MinIO Server process",
            Kind::Gauge,
            n(limit),
        );
    }
    p.single(
        "minio_node_process_cpu_total_seconds",
        "Total user and system CPU time spent in seconds",
        Kind::Counter,
        pr.cpu_seconds,
    );
}

/// Requests by API and HTTP status, and a finer time-to-first-byte histogram.
fn strata_requests(p: &mut Page, m: &Metrics) {
    let apis = m.apis();
    let mut by_status = Vec::new();
    let mut ttfb = Vec::new();
    for (api, s) in &apis {
        for (status, count) in &s.statuses {
            by_status.push(Sample::new(
                vec![("api", api.to_string()), ("status", status.to_string())],
                n(*count),
            ));
        }
        let le = FINE_TTFB.iter().map(|b| b.to_string());
        for (le, count) in le
            .chain(["+Inf".into()])
            .zip(s.fine_le.iter().chain([&s.count]))
        {
            ttfb.push(Sample::with_suffix(
                "_bucket",
                vec![("api", api.to_string()), ("le", le)],
                n(*count),
            ));
        }
        let api = || vec![("api", api.to_string())];
        ttfb.push(Sample::with_suffix("_sum", api(), s.ttfb_sum));
        ttfb.push(Sample::with_suffix("_count", api(), n(s.count)));
    }
    p.family(
        "strata_requests_total",
        "S3 requests by API and HTTP status.",
        Kind::Counter,
        by_status,
    );
    p.family(
        "strata_ttfb_seconds",
        "Time to first byte of S3 responses.",
        Kind::Histogram,
        ttfb,
    );
}

/// The background workers: heals queued by reads and commits, scanner passes, rebuilds.
fn strata_background(p: &mut Page, s: &Stats, drives: &[DriveState]) {
    let healing = drives.iter().filter(|d| d.online && d.healing).count();
    p.single(
        "strata_drives_healing",
        "Drives in service being rebuilt (reduced redundancy until done).",
        Kind::Gauge,
        healing as f64,
    );
    let counters = [
        (
            "strata_heal_objects_total",
            "Keys healed from the heal queue (reads that met damage, commits that missed a drive).",
            &s.heals_done,
        ),
        (
            "strata_heal_objects_failed_total",
            "Queued heals that could not complete.",
            &s.heals_failed,
        ),
        (
            "strata_scanner_objects_scanned_total",
            "Keys the scanner checked (every shard read, parity included).",
            &s.scanned,
        ),
        (
            "strata_scanner_objects_healed_total",
            "Keys the scanner found missing, stale or damaged on some drive and healed.",
            &s.scan_healed,
        ),
        (
            "strata_scanner_objects_failed_total",
            "Keys the scanner could not heal.",
            &s.scan_failed,
        ),
        (
            "strata_scanner_bytes_read_total",
            "Shard bytes the scanner read.",
            &s.scan_bytes,
        ),
        (
            "strata_scanner_passes_total",
            "Full scanner passes finished.",
            &s.scan_passes,
        ),
    ];
    for (name, help, v) in counters {
        p.single(name, help, Kind::Counter, n(Stats::get(v)));
    }
    let rebuilds = s.rebuilds();
    let per_rebuild = |f: &dyn Fn(&strata_engine::Rebuild) -> f64| -> Vec<Sample> {
        rebuilds
            .iter()
            .map(|((set, _), r)| {
                let labels = vec![("drive", r.drive_id.clone()), ("set", set.to_string())];
                Sample::new(labels, f(r))
            })
            .collect()
    };
    p.family(
        "strata_drive_rebuild_keys_checked",
        "Keys of its set looked at by a drive's rebuild.",
        Kind::Gauge,
        per_rebuild(&|r| n(r.checked)),
    );
    p.family(
        "strata_drive_rebuild_keys_healed",
        "Keys rewritten onto the drive by its rebuild.",
        Kind::Gauge,
        per_rebuild(&|r| n(r.healed)),
    );
    p.family(
        "strata_drive_rebuild_seconds",
        "Time the rebuild has run, or took to full redundancy once complete.",
        Kind::Gauge,
        per_rebuild(&|r| {
            r.finished
                .unwrap_or_else(|| r.started.elapsed())
                .as_secs_f64()
        }),
    );
    p.family(
        "strata_drive_rebuild_complete",
        "Whether the drive's rebuild reached full redundancy.",
        Kind::Gauge,
        per_rebuild(&|r| f64::from(u8::from(r.finished.is_some()))),
    );
}

/// Each background worker (healer, scanner, drive-monitor, rebuild), labelled by its name.
fn strata_workers(p: &mut Page, engine: &Engine) {
    use strata_engine::WorkerState;
    let workers = engine.workers();
    let each = |f: &dyn Fn(&strata_engine::WorkerStatus) -> Option<f64>| -> Vec<Sample> {
        workers
            .iter()
            .filter_map(|w| Some(Sample::new(vec![("worker", w.name.clone())], f(w)?)))
            .collect()
    };
    let is = |w: &strata_engine::WorkerStatus, states: &[WorkerState]| {
        Some(f64::from(u8::from(states.contains(&w.state))))
    };
    p.family(
        "strata_background_worker_busy",
        "Whether the worker is in the middle of its work (pausing to keep to its rate included).",
        Kind::Gauge,
        each(&|w| is(w, &[WorkerState::Busy, WorkerState::Throttled])),
    );
    p.family(
        "strata_background_worker_failed",
        "Whether the worker died of a panic (the log has its message); it does no more work.",
        Kind::Gauge,
        each(&|w| is(w, &[WorkerState::Failed])),
    );
    p.family(
        "strata_background_worker_items_total",
        "Items the worker finished: keys healed, scanned or rebuilt.",
        Kind::Counter,
        each(&|w| Some(n(w.done))),
    );
    p.family(
        "strata_background_worker_errors_total",
        "Items the worker could not finish (keys it could not heal), and its panic if any.",
        Kind::Counter,
        each(&|w| Some(n(w.errors))),
    );
    p.family(
        "strata_background_worker_queue_length",
        "Items waiting for the worker, for workers with a queue (the healer).",
        Kind::Gauge,
        each(&|w| w.queue.map(n)),
    );
}
