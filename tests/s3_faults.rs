//! Drive failures seen through the S3 API (drive folders renamed away while the server runs,
//! then put back), and a graceful stop on SIGTERM while an upload is in flight.

use crate::common;
use crate::s3_support;

use s3_support::{curl_status, data, same_file, write_file, Server, MIB};
use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Renames a drive folder away (the drive "disappears") and back.
struct Pulled {
    drive: PathBuf,
    away: PathBuf,
}

impl Pulled {
    fn pull(drive: &PathBuf) -> Pulled {
        let away = drive.with_extension("pulled");
        fs::rename(drive, &away).unwrap();
        Pulled {
            drive: drive.clone(),
            away,
        }
    }
}

impl Drop for Pulled {
    /// Put back: also when a test fails, so that the drive's folder is cleaned up with the rest.
    fn drop(&mut self) {
        let _ = fs::rename(&self.away, &self.drive);
    }
}

fn ready(s: &Server) -> u16 {
    s.http_get("/minio/health/ready").0
}

/// Waits (briefly) for readiness to become `want`.
#[track_caller]
fn wait_ready(s: &Server, want: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready(s) != want {
        assert!(Instant::now() < deadline, "readiness never became {want}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Uploads `local` to `s3://bucket/key` with the AWS CLI, downloads it again and compares.
#[track_caller]
fn round_trip(s: &Server, bucket: &str, key: &str, local: &str) {
    let url = format!("s3://{bucket}/{key}");
    s.aws_ok(&["s3", "cp", "--only-show-errors", local, &url]);
    read_back(s, bucket, key, local);
}

#[track_caller]
fn read_back(s: &Server, bucket: &str, key: &str, local: &str) {
    let dest = format!("down-{}", key.replace('/', "_"));
    let _ = fs::remove_file(s.work().join(&dest));
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        &format!("s3://{bucket}/{key}"),
        &dest,
    ]);
    assert!(
        same_file(&s.work().join(local), &s.work().join(&dest)),
        "{bucket}/{key} differs"
    );
}

/// A PutObject through boto3 that must be refused: returns (code, status).
fn refused_put(s: &Server, bucket: &str, key: &str) -> (String, u64) {
    let v = s.py_json("fault_probe.py", &["put", bucket, key]);
    assert_eq!(v["ok"], false, "the write succeeded: {v}");
    (
        v["code"].as_str().unwrap_or_default().to_string(),
        v["status"].as_u64().unwrap(),
    )
}

/// The brief's layout: 4 drives, parity 2 (2 data shards). Reads survive losing 2 drives;
/// writes need 3 drives (data + 1, because data == parity: two disjoint halves of the set
/// must never both accept writes), so they survive losing 1 and are refused with 503 after 2.
#[test]
fn four_drives_parity_two_lose_and_regain_drives() {
    let s = Server::start();
    let w = s.work();
    write_file(&w.join("small.txt"), b"written with all drives\n");
    write_file(&w.join("ten.bin"), &data(10 * MIB, 1));
    s.aws_ok(&["s3", "mb", "s3://faults"]);
    round_trip(&s, "faults", "before/small.txt", "small.txt");
    round_trip(&s, "faults", "before/ten.bin", "ten.bin");
    assert_eq!(ready(&s), 200);

    // One drive gone: everything works.
    let p1 = Pulled::pull(&s.drives[0]);
    assert_eq!(ready(&s), 200);
    round_trip(&s, "faults", "one-gone/ten.bin", "ten.bin");
    read_back(&s, "faults", "before/ten.bin", "ten.bin");

    // Two gone (= parity): all data still readable, writes refused with 503.
    let p2 = Pulled::pull(&s.drives[2]);
    assert_eq!(ready(&s), 503);
    read_back(&s, "faults", "before/small.txt", "small.txt");
    read_back(&s, "faults", "before/ten.bin", "ten.bin");
    read_back(&s, "faults", "one-gone/ten.bin", "ten.bin");
    assert_eq!(
        refused_put(&s, "faults", "two-gone"),
        ("ServiceUnavailable".to_string(), 503)
    );

    // Three gone: not ready, writes refused with 503, and the server stays up.
    let p3 = Pulled::pull(&s.drives[1]);
    assert_eq!(ready(&s), 503);
    assert_eq!(
        refused_put(&s, "faults", "three-gone"),
        ("ServiceUnavailable".to_string(), 503)
    );
    assert_eq!(s.http_get("/minio/health/live").0, 200);
    // The missing drive folders were not recreated by the failed writes.
    for d in [&s.drives[0], &s.drives[1], &s.drives[2]] {
        assert!(!d.exists(), "{} was recreated", d.display());
    }

    // Put the drives back: ready again, writes work, everything written before is there.
    drop((p1, p2, p3));
    wait_ready(&s, 200);
    round_trip(&s, "faults", "after/small.txt", "small.txt");
    read_back(&s, "faults", "before/ten.bin", "ten.bin");
    read_back(&s, "faults", "one-gone/ten.bin", "ten.bin");
    let listed = s.aws_ok(&["s3", "ls", "--recursive", "s3://faults"]);
    for k in [
        "before/small.txt",
        "before/ten.bin",
        "one-gone/ten.bin",
        "after/small.txt",
    ] {
        assert!(listed.contains(k), "{k} missing from {listed}");
    }
    assert!(
        !listed.contains("two-gone") && !listed.contains("three-gone"),
        "{listed}"
    );
}

/// 6 drives with parity 2 (4 data shards, write quorum 4): losing m = 2 drives, uploads and
/// downloads (single-part and multipart) still succeed; losing a third, the server is not
/// ready and refuses writes with 503; with the drives back, it is ready again.
#[test]
fn six_drives_parity_two_work_with_two_gone() {
    let s = Server::start_with(6, &["--parity", "2"]);
    let w = s.work();
    write_file(&w.join("small.txt"), b"small\n");
    write_file(&w.join("ten.bin"), &data(10 * MIB, 2));
    s.aws_ok(&["s3", "mb", "s3://faults"]);
    round_trip(&s, "faults", "before/ten.bin", "ten.bin");

    let p1 = Pulled::pull(&s.drives[1]);
    let p2 = Pulled::pull(&s.drives[4]);
    assert_eq!(ready(&s), 200);
    read_back(&s, "faults", "before/ten.bin", "ten.bin");
    round_trip(&s, "faults", "degraded/small.txt", "small.txt");
    round_trip(&s, "faults", "degraded/ten.bin", "ten.bin");
    // boto3 too (CRC32 checksums, multipart).
    let v = s.py_json("fault_probe.py", &["roundtrip", "faults", "degraded/boto"]);
    assert_eq!(v["ok"], true, "{v}");

    let p3 = Pulled::pull(&s.drives[0]);
    assert_eq!(ready(&s), 503);
    assert_eq!(
        refused_put(&s, "faults", "three-gone"),
        ("ServiceUnavailable".to_string(), 503)
    );
    assert_eq!(s.http_get("/minio/health/live").0, 200);

    drop((p1, p2, p3));
    wait_ready(&s, 200);
    read_back(&s, "faults", "before/ten.bin", "ten.bin");
    read_back(&s, "faults", "degraded/ten.bin", "ten.bin");
    read_back(&s, "faults", "degraded/small.txt", "small.txt");
    round_trip(&s, "faults", "after/small.txt", "small.txt");
}

/// SIGTERM while a 64 MiB upload is in flight: the server stops accepting, lets the upload
/// finish, and exits 0. The object is then complete (checked after a restart).
#[test]
fn sigterm_drains_in_flight_upload_and_exits_zero() {
    let mut s = Server::start();
    let w = s.work();
    s.aws_ok(&["s3", "mb", "s3://drain"]);
    let file = w.join("upload.bin");
    write_file(&file, &data(64 * MIB, 3));
    let url = s.py_ok("presign.py", &["put", "drain", "in-flight.bin", "600"]);

    // A slow upload (~3 s) with curl.
    let curl = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--max-time", "120"])
        .args([
            "--limit-rate",
            "20M",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .arg("-T")
        .arg(&file)
        .arg(url.trim())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let curl = ChildGuard(Some(curl));
    // Wait until the upload is under way (its temporary files are on the drives).
    let deadline = Instant::now() + Duration::from_secs(20);
    while !uploading(&s) {
        assert!(Instant::now() < deadline, "the upload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    s.signal(libc::SIGTERM);
    let started = Instant::now();
    // While draining, new connections are refused.
    std::thread::sleep(Duration::from_millis(200));
    let refused = Command::new("curl")
        .args([
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
        ])
        .arg(format!("{}/minio/health/live", s.endpoint))
        .output()
        .unwrap();
    // curl's exit code 7: "failed to connect" (not a timeout in a listen backlog).
    assert_eq!(
        refused.status.code(),
        Some(7),
        "a new connection was not refused during the drain: {}",
        String::from_utf8_lossy(&refused.stderr)
    );

    let status = s.wait_exit(Duration::from_secs(60));
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; log:\n{}",
        s.log_text()
    );
    let out = curl.wait_with_output();
    let code = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        code,
        "200",
        "the in-flight upload did not complete: {code} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() > Duration::from_millis(300),
        "the server exited without waiting for the upload"
    );

    // Restart on the same drives: the object is there, whole.
    s.launch(&[]);
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://drain/in-flight.bin",
        "down.bin",
    ]);
    assert!(same_file(&file, &w.join("down.bin")));
    let (status, _) = curl_status(&format!("{}/minio/health/ready", s.endpoint), &[]);
    assert_eq!(status, 200);
}

/// Whether a PutObject is in progress: its temporary shard files are on the drives.
fn uploading(s: &Server) -> bool {
    s.drives.iter().any(|d| {
        fs::read_dir(d.join(".strata.sys/tmp"))
            .map(|mut r| r.next().is_some())
            .unwrap_or(false)
    })
}

/// A helper process, killed if the test fails before it ends.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    fn wait_with_output(mut self) -> Output {
        self.0.take().unwrap().wait_with_output().unwrap()
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `cmd` and returns its output and how long it took; kills it and fails the test when it
/// takes longer than `limit` (a request hung on a drive fails instead of hanging the test).
#[track_caller]
fn timed(what: &str, mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: no answer within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    (child.wait_with_output().unwrap(), took)
}

/// Thaws a drive when dropped. Declared after the server, so that when the test fails while
/// the drive is frozen it is thawed before the server is stopped (a process blocked on a frozen
/// filesystem cannot exit, and stopping it would wait for ever).
struct ThawFirst<'a>(&'a common::XfsDrive);

impl Drop for ThawFirst<'_> {
    fn drop(&mut self) {
        self.0.thaw();
    }
}

fn offline_drives(s: &Server) -> Option<f64> {
    s.metrics("cluster")
        .get("minio_cluster_drive_offline_total")
        .copied()
}

/// A real server on six XFS loop drives (4 data + 2 parity), one drive's filesystem frozen
/// (`fsfreeze`: every write to it blocks, as on a drive that stops answering): PUT, GET, HEAD
/// and LIST each cost at most the deadline more than they do with every drive answering, the
/// metrics report the drive offline, and after `fsfreeze -u` it comes back by itself. Without
/// deadlines the PUT blocks until the thaw (the test kills it at its limit and fails).
#[test]
fn a_frozen_drive_costs_requests_at_most_the_deadline() {
    const DEADLINE: Duration = Duration::from_secs(2);
    // Declared first, dropped last: the server stops before the drives are thawed, unmounted
    // and detached (also when an assertion fails).
    let xfs: Vec<common::XfsDrive> = (0..6).map(|_| common::XfsDrive::new(300)).collect();
    let paths: Vec<PathBuf> = xfs.iter().map(|d| d.path.clone()).collect();
    let s = Server::start_on(
        paths,
        &[
            "--parity",
            "2",
            "--drive-timeout",
            "2s",
            "--drive-check-interval",
            "500ms",
        ],
    );
    let work = s.work();
    write_file(&work.join("obj"), &data(3 * MIB + 12345, 7));
    let obj = work.join("obj").to_string_lossy().into_owned();
    s.aws_ok(&["s3", "mb", "s3://frozen"]);
    s.aws_ok(&["s3", "cp", "--only-show-errors", &obj, "s3://frozen/before"]);
    let ops: [(&str, Vec<String>); 4] = [
        (
            "PUT",
            [
                "s3api",
                "put-object",
                "--bucket",
                "frozen",
                "--key",
                "KEY",
                "--body",
                obj.as_str(),
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "GET",
            [
                "s3api",
                "get-object",
                "--bucket",
                "frozen",
                "--key",
                "before",
                "got",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "HEAD",
            [
                "s3api",
                "head-object",
                "--bucket",
                "frozen",
                "--key",
                "before",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "LIST",
            ["s3api", "list-objects-v2", "--bucket", "frozen"]
                .map(String::from)
                .to_vec(),
        ),
    ];
    let run_all = |tag: &str| -> Vec<Duration> {
        ops.iter()
            .map(|(what, args)| {
                let key = format!("{tag}-{what}");
                let args: Vec<&str> = args
                    .iter()
                    .map(|a| if a == "KEY" { key.as_str() } else { a.as_str() })
                    .collect();
                let (out, took) = timed(what, s.aws_cmd(&args), Duration::from_secs(60));
                assert!(
                    out.status.success(),
                    "{what} ({tag}) failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                took
            })
            .collect()
    };
    let base = run_all("thawed");
    assert_eq!(offline_drives(&s), Some(0.0));

    let _thaw = ThawFirst(&xfs[3]);
    xfs[3].freeze();
    let frozen = run_all("frozen");
    for (((what, _), b), f) in ops.iter().zip(&base).zip(&frozen) {
        // The client's own start-up and the request with every drive answering, plus the
        // deadline, plus slack for a loaded machine.
        assert!(
            *f < *b + DEADLINE + Duration::from_secs(3),
            "{what}: {f:?} frozen, {b:?} with every drive answering"
        );
    }
    eprintln!("every drive: {base:?}; one frozen: {frozen:?}");
    assert_eq!(offline_drives(&s), Some(1.0));
    // What was written meanwhile reads back whole.
    let back = work.join("back");
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "s3://frozen/frozen-PUT",
        back.to_str().unwrap(),
    ]);
    assert!(same_file(&work.join("obj"), &back));

    xfs[3].thaw();
    let start = Instant::now();
    while offline_drives(&s) != Some(0.0) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the thawed drive never came back:\n{}",
            s.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(s.log_text().contains("drive answers again"));
}

/// Every shard file (`part.N`) under a directory, depth first.
fn part_files(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(part_files(&p));
        } else if p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("part."))
        {
            out.push(p);
        }
    }
    out
}

/// A GET whose first block cannot be read (three of the four shards of a 2+2 object damaged)
/// answers an S3 error, not a 200 (or 206) whose body breaks off: a GET reads its first block
/// before the status is chosen, whole object or range.
#[test]
fn a_get_that_cannot_read_its_first_block_answers_an_error() {
    let s = Server::start();
    s.aws_ok(&["s3", "mb", "s3://broken"]);
    write_file(&s.work().join("two.bin"), &data(2 * MIB, 3));
    s.aws_ok(&[
        "s3",
        "cp",
        "--only-show-errors",
        "two.bin",
        "s3://broken/two.bin",
    ]);
    let mut damaged = 0;
    for d in &s.drives[..3] {
        for f in part_files(&d.join("broken").join("two.bin")) {
            let mut b = std::fs::read(&f).unwrap();
            b[100] ^= 0x01;
            std::fs::write(&f, b).unwrap();
            damaged += 1;
        }
    }
    assert_eq!(damaged, 3, "one shard file per drive");
    use crate::s3_hostile::{connect, read_response, signed_head};
    use std::io::Write;
    for range in ["", "Range: bytes=100-199\r\n"] {
        let mut c = connect(&s);
        let head = signed_head(&s, "GET", "/broken/two.bin", 0);
        let head = format!("{}\r\n{range}\r\n", head.trim_end_matches("\r\n"));
        c.write_all(head.as_bytes()).unwrap();
        let (status, body) = match read_response(&mut c) {
            Ok(r) => r,
            Err(e) => panic!("{range:?}: the answer broke off: {e}"),
        };
        let body = String::from_utf8_lossy(&body);
        assert!(
            status >= 500 && body.contains("<Code>"),
            "{range:?}: {status}: {body}"
        );
    }
}
