//! The server's background work seen from outside: the scanner heals a damaged parity shard no
//! client reads, an emptied drive is rebuilt by the server itself while readiness shows it
//! healing and the metrics count the rebuild and its time to full redundancy (and list the
//! scanner among the workers); and racing create-only PUTs of one key have exactly one winner.

use crate::s3_support;

use s3_support::{data, write_file, Server};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use strata::engine::meta::MetaFile;

/// The value of an unlabelled metric (or the first line starting with `name{`).
fn metric(s: &Server, name: &str) -> Option<f64> {
    let text = s.metrics_page("cluster");
    text.lines()
        .find(|l| l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[track_caller]
fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The drive (index) holding shard `index` of a plain key, and that shard's file.
fn shard_file(drives: &[PathBuf], bucket: &str, key: &str, index: u8) -> (usize, PathBuf) {
    for (i, d) in drives.iter().enumerate() {
        let dir = d.join(bucket).join(key);
        let m = MetaFile::decode(&std::fs::read(dir.join("%meta")).unwrap()).unwrap();
        if m.versions[0].shard == index {
            let data_dir = m.versions[0].version.data_dir().unwrap().to_string();
            return (i, dir.join(format!("%d{data_dir}")).join("part.1"));
        }
    }
    panic!("no drive holds shard {index}");
}

/// Flips one bit in place (one byte rewritten: a reader never sees the file truncated).
fn flip(path: &Path, at: u64) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x01], at).unwrap();
}

#[test]
fn the_scanner_heals_a_damaged_parity_shard_no_client_reads() {
    let s = Server::start_with(4, &["--scan-interval", "1s"]);
    s.aws_ok(&["s3", "mb", "s3://scan"]);
    write_file(&s.work().join("obj"), &data(3 << 20, 7));
    s.aws_ok(&["s3", "cp", "--only-show-errors", "obj", "s3://scan/obj"]);
    // 2+2: shard 3 is parity, never read while the data shards are sound.
    let (_, parity) = shard_file(&s.drives, "scan", "obj", 3);
    let good = std::fs::read(&parity).unwrap();
    // Counted before the flip: a pass may heal it before the test looks again.
    let before = metric(&s, "strata_scanner_objects_healed_total").unwrap();
    flip(&parity, 100_000);
    wait_for("the scanner to heal it", Duration::from_secs(60), || {
        metric(&s, "strata_scanner_objects_healed_total").unwrap() > before
    });
    assert_eq!(
        std::fs::read(&parity).unwrap(),
        good,
        "healed byte for byte"
    );
    assert!(metric(&s, "strata_scanner_objects_scanned_total").unwrap() >= 1.0);
    assert!(metric(&s, "strata_scanner_bytes_read_total").unwrap() > 0.0);
    let reads = s
        .metrics_page("cluster")
        .lines()
        .filter(|l| l.starts_with("strata_requests_total{api=\"getobject\""))
        .count();
    assert_eq!(reads, 0, "no client read the object");
    // The scanner is listed among the workers, alive, with the keys it went through.
    let workers = s.metrics("cluster");
    let scanner = |name: &str| {
        workers
            .get(&format!("{name}{{worker=\"scanner\"}}"))
            .copied()
    };
    assert!(
        matches!(scanner("strata_background_worker_busy"), Some(v) if v == 0.0 || v == 1.0),
        "{workers:?}"
    );
    assert_eq!(scanner("strata_background_worker_failed"), Some(0.0));
    assert!(scanner("strata_background_worker_items_total").is_some_and(|v| v >= 1.0));
}

#[test]
fn an_emptied_drive_is_rebuilt_by_the_server_with_progress_shown() {
    // 4+2, the rebuild slowed down so that readiness can be seen while it runs.
    let slow = ["--rebuild-rate", "2MiB", "--drive-check-interval", "1s"];
    let mut s = Server::start_with(6, &slow);
    s.aws_ok(&["s3", "mb", "s3://rebuild"]);
    let mut files = Vec::new();
    for i in 0..8 {
        let name = format!("f{i}");
        write_file(&s.work().join(&name), &data(1 << 20, i));
        s.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            &name,
            &format!("s3://rebuild/{name}"),
        ]);
        files.push(name);
    }
    s.kill();
    let victim = s.drives[2].clone();
    std::fs::remove_dir_all(&victim).unwrap();
    std::fs::create_dir(&victim).unwrap();
    s.launch(&slow);
    let (status, body) = s.http_get("/minio/health/ready");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("healing: set 0 drive "), "{body}");
    assert_eq!(metric(&s, "strata_drives_healing"), Some(1.0));
    assert!(s.log_text().contains("rebuilding drive"));
    wait_for("the rebuild", Duration::from_secs(120), || {
        metric(&s, "strata_drive_rebuild_complete") == Some(1.0)
    });
    assert_eq!(metric(&s, "strata_drives_healing"), Some(0.0));
    assert!(metric(&s, "strata_drive_rebuild_seconds").unwrap() > 0.0);
    assert!(metric(&s, "strata_drive_rebuild_keys_checked").unwrap() >= 8.0);
    assert!(!s.http_get("/minio/health/ready").1.contains("healing"));
    assert!(s.log_text().contains("drive rebuilt: full redundancy"));
    // Every object has its shard on the rebuilt drive again.
    for f in &files {
        assert!(
            victim.join("rebuild").join(f).join("%meta").is_file(),
            "{f}"
        );
    }
    // With two other drives pulled, the rebuilt drive's shards are needed: everything reads.
    for d in [&s.drives[4], &s.drives[5]] {
        std::fs::rename(d, d.with_extension("away")).unwrap();
    }
    wait_for("two drives out of service", Duration::from_secs(10), || {
        metric(&s, "minio_cluster_drive_offline_total") == Some(2.0)
    });
    for f in &files {
        let out = format!("back-{f}");
        s.aws_ok(&[
            "s3",
            "cp",
            "--only-show-errors",
            &format!("s3://rebuild/{f}"),
            &out,
        ]);
        assert!(
            s3_support::same_file(&s.work().join(f), &s.work().join(&out)),
            "{f}"
        );
    }
    s.kill();
    for d in [&s.drives[4], &s.drives[5]] {
        std::fs::rename(d.with_extension("away"), d).unwrap();
    }
}

#[test]
fn racing_create_only_puts_have_exactly_one_winner() {
    let s = Server::start_with(6, &[]);
    s.aws_ok(&["s3", "mb", "s3://cond"]);
    for round in 0..3 {
        let key = format!("k{round}");
        let v = s.py_json("cond_race.py", &["cond", &key, "16"]);
        assert_eq!(v["ok"].as_array().unwrap().len(), 1, "round {round}: {v}");
        assert_eq!(v["failed"]["PreconditionFailed"], 15, "round {round}: {v}");
        assert_eq!(v["winner_holds"], true, "round {round}: {v}");
    }
}
