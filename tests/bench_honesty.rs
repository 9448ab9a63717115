//! `strata bench` tells the truth: the operations and bytes it reports match what the server
//! itself counted (its Prometheus metrics, scraped with a bearer token as Prometheus does), and
//! failed requests are reported, not hidden.

use crate::s3_support;

use s3_support::{Server, SECRET, USER};
use std::collections::BTreeMap;
use std::process::Command;

/// Every sample of the cluster metrics page, by its name and labels.
fn metrics(server: &Server) -> BTreeMap<String, f64> {
    server.metrics("cluster")
}

fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

fn bench(server: &Server, args: &[&str]) -> serde_json::Value {
    let json = server.tmp.path().join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("bench")
        .args(args)
        .args(["--endpoint", &server.endpoint, "--json"])
        .arg(&json)
        .env("AWS_ACCESS_KEY_ID", USER)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bench failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MiB/s") && text.contains("p99 ms"), "{text}");
    serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap()
}

fn result<'a>(report: &'a serde_json::Value, op: &str) -> &'a serde_json::Value {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["op"] == op)
        .unwrap()
}

#[test]
fn put_and_get_counts_and_bytes_match_the_servers_metrics() {
    let server = Server::start();
    let before = metrics(&server);
    let report = bench(
        &server,
        &["put", "--size", "64KiB", "-c", "4", "--ops", "120"],
    );
    let after = metrics(&server);
    let put = result(&report, "put");
    assert_eq!(put["ops"], 120);
    assert_eq!(put["errors"], 0);
    assert_eq!(put["bytes"], 120 * 65536);
    assert_eq!(
        delta(
            &before,
            &after,
            r#"minio_s3_requests_total{api="putobject"}"#
        ),
        120.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            r#"minio_s3_requests_errors_total{api="putobject"}"#
        ),
        0.0
    );
    assert_eq!(
        delta(&before, &after, "minio_s3_traffic_received_bytes"),
        (120 * 65536) as f64
    );
    // It cleaned up: every object it wrote was deleted, and its bucket removed.
    assert_eq!(
        delta(
            &before,
            &after,
            r#"strata_requests_total{api="deleteobject",status="204"}"#
        ),
        120.0
    );
    assert_eq!(
        delta(
            &before,
            &after,
            r#"strata_requests_total{api="deletebucket",status="204"}"#
        ),
        1.0
    );

    let before = metrics(&server);
    let report = bench(
        &server,
        &[
            "get",
            "--size",
            "100KiB",
            "-c",
            "3",
            "--ops",
            "90",
            "--objects",
            "10",
        ],
    );
    let after = metrics(&server);
    let get = result(&report, "get");
    assert_eq!(get["ops"], 90);
    assert_eq!(get["bytes"], 90 * 102_400);
    assert!(get["ttfb_ms"]["p50"].as_f64().unwrap() > 0.0);
    assert_eq!(
        delta(
            &before,
            &after,
            r#"strata_requests_total{api="getobject",status="200"}"#
        ),
        90.0
    );
    // Bytes out: the objects, plus the few small XML documents of setup and cleanup.
    let sent = delta(&before, &after, "minio_s3_traffic_sent_bytes");
    let objects = (90 * 102_400) as f64;
    assert!(
        sent >= objects && sent < objects + 64.0 * 1024.0,
        "sent {sent}, objects {objects}"
    );
}

#[test]
fn failures_are_counted_and_reported() {
    let server = Server::start();
    // A wrong secret: the bench stops at once and says why instead of reporting speed.
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["bench", "put", "--size", "4KiB", "-c", "2", "--ops", "10"])
        .args(["--endpoint", &server.endpoint])
        .env("AWS_ACCESS_KEY_ID", USER)
        .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SignatureDoesNotMatch"));

    // Drives lost in the middle of a run: the PUTs that fail are counted as errors, exactly as
    // many as the server refused, and the ones that succeeded as operations.
    let before = metrics(&server);
    let json = server.tmp.path().join("faulty.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args([
            "bench",
            "put",
            "--size",
            "16KiB",
            "-c",
            "2",
            "--duration",
            "3s",
            "--bucket",
            "faulty",
            "--no-cleanup",
        ])
        .args(["--endpoint", &server.endpoint, "--json"])
        .arg(&json)
        .env("AWS_ACCESS_KEY_ID", USER)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let moved: Vec<_> = server.drives[..2]
        .iter()
        .map(|d| {
            let away = d.with_extension("away");
            std::fs::rename(d, &away).unwrap();
            (d.clone(), away)
        })
        .collect();
    let status = child.wait().unwrap();
    for (d, away) in &moved {
        std::fs::rename(away, d).unwrap();
    }
    assert!(status.success());
    let after = metrics(&server);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let put = result(&report, "put");
    let (ok, errors) = (
        put["ops"].as_f64().unwrap(),
        put["errors"].as_f64().unwrap(),
    );
    assert!(ok > 0.0 && errors > 0.0, "{put}");
    assert_eq!(
        delta(
            &before,
            &after,
            r#"strata_requests_total{api="putobject",status="200"}"#
        ),
        ok
    );
    assert_eq!(
        delta(
            &before,
            &after,
            r#"strata_requests_total{api="putobject",status="503"}"#
        ),
        errors
    );
    assert_eq!(
        delta(
            &before,
            &after,
            r#"minio_s3_requests_5xx_errors_total{api="putobject"}"#
        ),
        errors
    );
    let samples = put["error_samples"].to_string();
    assert!(samples.contains("503"), "{samples}");
}
