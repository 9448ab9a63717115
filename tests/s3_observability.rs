//! What operators see: a request id on every response (also errors), one debug log line per
//! request carrying it, and Prometheus metrics with TTFB histograms and drive health.

mod s3_support;

use s3_support::{curl_status, Server};
use std::process::Command;

/// Response headers of a GET (curl -D -), lowercased names.
fn headers(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "-o", "/dev/null", "-D", "-", url])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
}

fn request_id(h: &str) -> String {
    h.lines()
        .find_map(|l| l.strip_prefix("x-amz-request-id:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no x-amz-request-id in:\n{h}"))
}

fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
}

#[test]
fn request_ids_logs_and_metrics() {
    // Debug lines for this server only (nextest runs each test in its own process).
    std::env::set_var("STRATA_TEST_SERVER_LOG", "strata=debug");
    let server = Server::start();
    let file = server.work().join("small");
    std::fs::write(&file, b"observability").unwrap();
    server.aws_ok(&["s3", "mb", "s3://obs"]);
    server.aws_ok(&["s3", "cp", file.to_str().unwrap(), "s3://obs/small"]);
    server.aws_ok(&[
        "s3",
        "cp",
        "s3://obs/small",
        server.work().join("back").to_str().unwrap(),
    ]);

    // Every response carries a request id, errors included, and ids differ.
    let a = request_id(&headers(&format!("{}/obs/small", server.endpoint))); // anonymous: 403
    let b = request_id(&headers(&format!("{}/minio/health/live", server.endpoint)));
    assert!(!a.is_empty() && a != b, "{a} {b}");
    // The same id names the request in the server's log, with its API and status.
    let want = format!("request_id={}", a.to_ascii_uppercase());
    let mut log = server.log_text();
    for _ in 0..50 {
        if log.contains(&want) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        log = server.log_text();
    }
    let line = log
        .lines()
        .find(|l| l.contains(&want))
        .unwrap_or_else(|| panic!("{want} not in log:\n{log}"));
    assert!(line.contains("GetObject") && line.contains("403"), "{line}");
    assert!(
        log.lines()
            .any(|l| l.contains("PutObject") && l.contains("200")),
        "{log}"
    );

    let (status, m) = server.http_get("/metrics");
    assert_eq!(status, 200);
    assert!(
        metric(&m, r#"strata_ttfb_seconds_count{api="PutObject"}"#).unwrap_or(0.0) >= 1.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            r#"strata_ttfb_seconds_bucket{api="GetObject",le="+Inf"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{m}"
    );
    assert_eq!(metric(&m, "strata_drives_online"), Some(4.0), "{m}");
    assert_eq!(metric(&m, "strata_drives_offline"), Some(0.0), "{m}");
    assert_eq!(m.matches("strata_drive_total_bytes{").count(), 4, "{m}");

    // A drive taken away shows as offline, and comes back.
    let away = server.drives[0].with_extension("away");
    std::fs::rename(&server.drives[0], &away).unwrap();
    let (_, m) = curl_status(&format!("{}/metrics", server.endpoint), &[]);
    std::fs::rename(&away, &server.drives[0]).unwrap();
    assert_eq!(metric(&m, "strata_drives_online"), Some(3.0), "{m}");
    assert_eq!(metric(&m, "strata_drives_offline"), Some(1.0), "{m}");
    let (_, m) = server.http_get("/metrics");
    assert_eq!(metric(&m, "strata_drives_offline"), Some(0.0), "{m}");
}
