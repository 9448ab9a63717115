//! What operators see: a request id on every response (also errors, in the error document
//! too), one debug log line per request carrying it, and Prometheus metrics under MinIO's
//! names at `/minio/v2/metrics/{cluster,node,bucket}`, readable only with a bearer token as
//! MinIO's are (or by anyone with `--prometheus-auth public`), counting each request under the
//! operation the protocol layer resolved and the bytes that really arrived. No page or error
//! document names a host path, and no endpoint hides a bucket or key.

use crate::s3_support;

use s3_support::{curl_status, samples, Server};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// Response headers and body of a GET (curl -D -).
fn fetch(url: &str, extra: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--noproxy", "*", "-D", "-"])
        .args(extra)
        .arg(url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (head.to_string(), body.to_string())
}

/// A header's value (names compared without case).
fn header(head: &str, name: &str) -> String {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {name} in:\n{head}"))
}

fn status(head: &str) -> u16 {
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The text of `<name>` in an XML document.
fn element(doc: &str, name: &str) -> Option<String> {
    let from = doc.find(&format!("<{name}>"))? + name.len() + 2;
    let to = doc[from..].find(&format!("</{name}>"))? + from;
    Some(doc[from..to].to_string())
}

fn delta(before: &BTreeMap<String, f64>, after: &BTreeMap<String, f64>, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

/// The ids of the server's drives (`.strata.sys/format.json`).
fn drive_ids(server: &Server) -> Vec<String> {
    server
        .drives
        .iter()
        .map(|d| {
            let f: Value =
                serde_json::from_slice(&std::fs::read(d.join(".strata.sys/format.json")).unwrap())
                    .unwrap();
            f["drive_id"].as_str().unwrap().to_string()
        })
        .collect()
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
    let (anon, doc) = fetch(&format!("{}/obs/small", server.endpoint), &[]); // anonymous: 403
    let a = header(&anon, "x-amz-request-id");
    let (live, _) = fetch(&format!("{}/minio/health/live", server.endpoint), &[]);
    let b = header(&live, "x-amz-request-id");
    assert!(!a.is_empty() && a != b, "{a} {b}");
    assert_eq!(
        element(&doc, "RequestId").as_deref(),
        Some(a.as_str()),
        "{doc}"
    );
    // The same id names the request in the server's log, with its operation and status.
    let want = format!("request_id={a}");
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

    let m = server.metrics("cluster");
    let ttfb = |api: &str| {
        m.get(&format!(
            r#"minio_s3_requests_ttfb_seconds_distribution{{api="{api}",le="+Inf"}}"#
        ))
    };
    assert!(ttfb("putobject").copied().unwrap_or(0.0) >= 1.0, "{m:?}");
    assert!(ttfb("getobject").copied().unwrap_or(0.0) >= 2.0, "{m:?}");
    assert_eq!(m.get("minio_cluster_drive_online_total"), Some(&4.0));
    assert_eq!(m.get("minio_cluster_drive_offline_total"), Some(&0.0));
    let node = server.metrics("node");
    let per_drive: Vec<&String> = node
        .keys()
        .filter(|k| k.starts_with("minio_node_drive_total_bytes{"))
        .collect();
    assert_eq!(per_drive.len(), 4, "{node:?}");
    for id in drive_ids(&server) {
        assert!(
            per_drive
                .iter()
                .any(|k| k.contains(&format!("drive=\"{id}\""))),
            "drive {id} not named in {per_drive:?}"
        );
    }

    // A drive taken away shows as offline, and comes back.
    let away = server.drives[0].with_extension("away");
    std::fs::rename(&server.drives[0], &away).unwrap();
    let m = server.metrics("cluster");
    std::fs::rename(&away, &server.drives[0]).unwrap();
    assert_eq!(m.get("minio_cluster_drive_online_total"), Some(&3.0));
    assert_eq!(m.get("minio_cluster_drive_offline_total"), Some(&1.0));
    let m = server.metrics("cluster");
    assert_eq!(m.get("minio_cluster_drive_offline_total"), Some(&0.0));
}

/// Without a token the pages answer 403 and MinIO's JSON error document; tokens made as `mc
/// admin prometheus generate` makes them (by an independent implementation, and by `strata
/// prometheus generate`) are taken; expired ones, ones signed with another key, for another
/// access key or issuer, unsigned or altered ones are refused. `--prometheus-auth public` makes
/// the pages public.
#[test]
fn metrics_need_a_bearer_token_as_minio_checks_it() {
    let server = Server::start();
    let url = |page: &str| format!("{}/minio/v2/metrics/{page}", server.endpoint);
    for page in ["cluster", "node", "bucket"] {
        let (head, body) = fetch(&url(page), &[]);
        assert_eq!(status(&head), 403, "{page} without a token: {head}{body}");
        assert_eq!(header(&head, "content-type"), "application/json", "{head}");
        let doc: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(doc["Code"], "AccessDenied", "{doc}");
        assert_eq!(
            doc["Resource"],
            format!("/minio/v2/metrics/{page}"),
            "{doc}"
        );
        assert_eq!(doc["RequestId"], header(&head, "x-amz-request-id"), "{doc}");
        assert!(!body.contains("minio_"), "{body}");
    }
    let with = |token: &str, page: &str| {
        let auth = format!("Authorization: Bearer {token}");
        curl_status(&url(page), &["-H", &auth])
    };
    // `strata prometheus generate`: a scrape configuration per page, each with a token.
    for page in ["cluster", "node", "bucket"] {
        let config = server.scrape_config(page);
        assert!(
            config.contains(&format!("metrics_path: /minio/v2/metrics/{page}")),
            "{config}"
        );
        assert!(config.contains("job_name: minio-job"), "{config}");
        let target = server.endpoint.trim_start_matches("http://");
        assert!(
            config.contains(target) && config.contains("scheme: http"),
            "{config}"
        );
        let (code, body) = with(server.scrape_token(), page);
        assert_eq!(code, 200, "{page}: {body}");
    }
    let tokens = server.py_json("observability.py", &["tokens"]);
    for (name, t) in tokens["good"].as_object().unwrap() {
        let (code, body) = with(t.as_str().unwrap(), "cluster");
        assert_eq!(code, 200, "{name}: {body}");
        assert!(
            body.contains("minio_cluster_drive_online_total"),
            "{name}: {body}"
        );
    }
    for (name, t) in tokens["bad"].as_object().unwrap() {
        let (code, body) = with(t.as_str().unwrap(), "cluster");
        assert_eq!(code, 403, "{name} was taken: {body}");
        assert!(body.contains("\"AccessDenied\""), "{name}: {body}");
    }
    // Bearer is the only scheme taken (a signed S3 request is not a scrape token).
    let (code, _) = curl_status(&url("node"), &["-H", "Authorization: Basic YTpi"]);
    assert_eq!(code, 403);

    let mut public = Server::start_with(4, &["--prometheus-auth", "public"]);
    let (code, body) = curl_status(
        &format!("{}/minio/v2/metrics/cluster", public.endpoint),
        &[],
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("minio_cluster_drive_online_total"), "{body}");
    public.kill();
}

/// `strata prometheus generate` refuses what it cannot make a configuration of, in one line and
/// with a non-zero exit: no credentials to sign with, an endpoint that is not a URL, a bad
/// expiry or page.
#[test]
fn prometheus_generate_refuses_bad_input() {
    let run = |args: &[&str], creds: bool| {
        let mut cmd = Command::new(s3_support::bin());
        cmd.arg("prometheus").arg("generate").args(args);
        cmd.env_remove("STRATA_ROOT_USER")
            .env_remove("STRATA_ROOT_PASSWORD");
        if creds {
            cmd.env("STRATA_ROOT_USER", "admin")
                .env("STRATA_ROOT_PASSWORD", "secret-key");
        }
        let out = cmd.output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for (args, creds, says) in [
        (&[][..], false, "STRATA_ROOT_PASSWORD"),
        (&["--endpoint", "localhost"][..], true, "bad --endpoint"),
        (&["--expiry", "forever"][..], true, "bad --expiry"),
        (&["everything"][..], true, "invalid value"),
    ] {
        let (status, stderr) = run(args, creds);
        assert!(!status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // Without a token for a public server.
    let (status, _) = run(&["--public"], false);
    assert!(status.success());
}

/// The pages read as Prometheus reads them (prometheus_client's parser): MinIO's families
/// with MinIO's types and labels (`server` on every sample, lowercase `api` values, `le`
/// written as MinIO writes it, drives by id), Strata's own beside them, no host path anywhere.
#[test]
fn metrics_pages_parse_as_prometheus_with_minios_names() {
    let server = Server::start_with(4, &["--usage-interval", "1s"]);
    server.aws_ok(&["s3", "mb", "s3://pages"]);
    let file = server.work().join("obj");
    std::fs::write(&file, vec![7u8; 5000]).unwrap();
    server.aws_ok(&["s3", "cp", file.to_str().unwrap(), "s3://pages/obj"]);
    server.aws_ok(&["s3", "cp", file.to_str().unwrap(), "s3://pages/obj2"]);
    let out = server.work().join("missing");
    let get = [
        "s3api",
        "get-object",
        "--bucket",
        "pages",
        "--key",
        "missing",
    ];
    let got = server.aws(&[&get[..], &[out.to_str().unwrap()]].concat());
    assert!(String::from_utf8_lossy(&got.stderr).contains("NoSuchKey"));
    // Usage is counted in the background: wait for a count that saw both objects.
    let mut cluster = String::new();
    for _ in 0..100 {
        cluster = server.metrics_page("cluster");
        if samples(&cluster).get(r#"minio_bucket_usage_object_total{bucket="pages"}"#) == Some(&2.0)
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let root = server.tmp.path().to_str().unwrap().to_string();
    let server_label = server.endpoint.trim_start_matches("http://").to_string();
    let mut parsed = BTreeMap::new();
    for page in ["cluster", "node", "bucket"] {
        let text = if page == "cluster" {
            cluster.clone()
        } else {
            server.metrics_page(page)
        };
        assert!(
            !text.contains(&root),
            "{page} names a host path ({root}):\n{text}"
        );
        let path = server.work().join(format!("{page}.prom"));
        std::fs::write(&path, &text).unwrap();
        let families = server.py_json("observability.py", &["parse", path.to_str().unwrap()]);
        for (name, f) in families.as_object().unwrap() {
            for s in f["samples"].as_array().unwrap() {
                assert_eq!(s["labels"]["server"], server_label.as_str(), "{name}: {s}");
            }
        }
        parsed.insert(page, families);
    }
    let family = |page: &str, name: &str| -> Value {
        let f = &parsed[page][name];
        assert!(f.is_object(), "no family {name} on the {page} page");
        f.clone()
    };
    // prometheus_client names counter families without their `_total`.
    let cluster_families = [
        ("minio_cluster_capacity_usable_total_bytes", "gauge"),
        ("minio_cluster_capacity_usable_free_bytes", "gauge"),
        ("minio_cluster_capacity_raw_total_bytes", "gauge"),
        ("minio_bucket_usage_total_bytes", "gauge"),
        ("minio_bucket_usage_object_total", "gauge"),
        ("minio_cluster_usage_total_bytes", "gauge"),
        ("minio_s3_requests", "counter"),
        ("minio_s3_requests_errors", "counter"),
        ("minio_s3_requests_4xx_errors", "counter"),
        ("minio_s3_requests_ttfb_seconds_distribution", "gauge"),
        ("minio_s3_traffic_received_bytes", "counter"),
        ("minio_s3_traffic_sent_bytes", "counter"),
        ("minio_cluster_nodes_online_total", "gauge"),
        ("minio_cluster_drive_online_total", "gauge"),
        ("minio_cluster_drive_offline_total", "gauge"),
        ("minio_cluster_health_status", "gauge"),
        ("minio_cluster_health_erasure_set_online_drives", "gauge"),
        ("minio_heal_objects", "counter"),
        ("minio_heal_objects_errors", "counter"),
        ("minio_heal_objects_heal", "counter"),
        ("minio_node_process_starttime_seconds", "gauge"),
        ("minio_node_process_resident_memory_bytes", "gauge"),
        ("strata_requests", "counter"),
        ("strata_ttfb_seconds", "histogram"),
        ("strata_drives_healing", "gauge"),
        ("strata_scanner_objects_scanned", "counter"),
        ("strata_background_worker_busy", "gauge"),
        ("strata_background_worker_errors", "counter"),
    ];
    for (name, kind) in cluster_families {
        assert_eq!(family("cluster", name)["type"], kind, "{name}");
    }
    for (name, kind) in [
        ("minio_node_drive_total_bytes", "gauge"),
        ("minio_node_drive_free_bytes", "gauge"),
        ("minio_node_drive_used_bytes", "gauge"),
        ("minio_node_drive_online_total", "gauge"),
        ("minio_s3_requests", "counter"),
        ("minio_s3_traffic_received_bytes", "counter"),
    ] {
        assert_eq!(family("node", name)["type"], kind, "{name}");
    }
    assert_eq!(
        family("bucket", "minio_bucket_usage_total_bytes")["type"],
        "gauge"
    );

    let values = |page: &str, name: &str, label: &str| -> Vec<String> {
        family(page, name)["samples"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["labels"][label].as_str().map(str::to_string))
            .collect()
    };
    let apis = values("cluster", "minio_s3_requests", "api");
    for api in ["putbucket", "putobject", "getobject"] {
        assert!(apis.contains(&api.to_string()), "{api} not in {apis:?}");
    }
    let le = values(
        "cluster",
        "minio_s3_requests_ttfb_seconds_distribution",
        "le",
    );
    for bound in ["0.050", "0.100", "1.000", "10.000", "+Inf"] {
        assert!(le.contains(&bound.to_string()), "{bound} not in {le:?}");
    }
    let mut drives = values("node", "minio_node_drive_total_bytes", "drive");
    drives.sort();
    let mut ids = drive_ids(&server);
    ids.sort();
    assert_eq!(drives, ids);
    // Usage: two objects of 5000 bytes in `pages`.
    let usage = samples(&cluster);
    assert_eq!(
        usage.get(r#"minio_bucket_usage_total_bytes{bucket="pages"}"#),
        Some(&10000.0),
        "{cluster}"
    );
    assert_eq!(usage.get("minio_cluster_bucket_total"), Some(&1.0));
    // Usable capacity is the data shards' share (2 of 4 drives) of the raw capacity.
    let raw = usage["minio_cluster_capacity_raw_total_bytes"];
    let usable = usage["minio_cluster_capacity_usable_total_bytes"];
    assert!(
        raw > 0.0 && (usable - raw / 2.0).abs() <= 1.0,
        "{raw} {usable}"
    );
}

/// Requests are counted under the operation the protocol layer resolved, in MinIO's names,
/// implemented or not (enabling versioning is `putbucketversioning`, not a bucket creation);
/// requests that reach no operation are counted too: unknown routes as `notfound`, bad
/// signatures as `rejected` (and in `minio_s3_requests_rejected_auth_total`).
#[test]
fn operations_are_named_by_the_protocol_layer() {
    let server = Server::start();
    let before = server.metrics("cluster");
    let v = server.py_json("observability.py", &["labels"]);
    let after = server.metrics("cluster");
    assert_eq!(v["put_bucket_versioning"], 501, "{v}");
    assert_eq!(
        v["unknown_route"],
        serde_json::json!([501, "NotImplemented"]),
        "{v}"
    );
    assert_eq!(v["bad_signature"], 403, "{v}");
    let d = |k: &str| delta(&before, &after, k);
    assert_eq!(
        d(r#"minio_s3_requests_total{api="putbucket"}"#),
        1.0,
        "{after:?}"
    );
    assert_eq!(
        d(r#"minio_s3_requests_total{api="putbucketversioning"}"#),
        1.0
    );
    assert_eq!(
        d(r#"minio_s3_requests_5xx_errors_total{api="putbucketversioning"}"#),
        1.0
    );
    assert_eq!(
        d(r#"strata_requests_total{api="putbucketversioning",status="501"}"#),
        1.0
    );
    assert_eq!(d(r#"minio_s3_requests_total{api="notfound"}"#), 1.0);
    assert_eq!(d(r#"minio_s3_requests_total{api="rejected"}"#), 1.0);
    assert_eq!(
        d(r#"minio_s3_requests_4xx_errors_total{api="rejected"}"#),
        1.0
    );
    assert_eq!(d("minio_s3_requests_rejected_auth_total"), 1.0);
    assert_eq!(d("minio_s3_requests_rejected_invalid_total"), 0.0);
}

/// `minio_s3_traffic_received_bytes` counts request body bytes as they arrive: an aws-chunked
/// upload counts its framing and trailer (the wire), not its declared decoded length; an
/// upload refused after its body was read counts; a declared body never sent does not.
#[test]
fn received_bytes_are_counted_as_they_arrive() {
    let server = Server::start();
    // The bucket first, so that each case below is one request with a body.
    let _ = server.py_json("observability.py", &["traffic", "early"]);
    for case in ["chunked", "bad_digest", "early"] {
        let before = server.metrics("cluster");
        let v = server.py_json("observability.py", &["traffic", case]);
        let after = server.metrics("cluster");
        let received = delta(&before, &after, "minio_s3_traffic_received_bytes");
        assert_eq!(received, v["sent"].as_f64().unwrap(), "{case}: {v}");
        match case {
            "chunked" => {
                assert_eq!(v["status"], 200);
                assert!(v["sent"].as_u64() > v["payload"].as_u64(), "{v}");
            }
            "bad_digest" => assert_eq!(v["code"], "BadDigest", "{v}"),
            _ => assert_eq!(v["status"], 403, "{v}"),
        }
    }
}

/// Every S3 error document carries `<Resource>` (the path asked for), `<RequestId>` (the
/// `x-amz-request-id` header's value) and `<HostId>` (`x-amz-id-2`), whoever wrote it: the
/// protocol layer (bad path, bad signature, unknown route) or the server (anonymous refusal,
/// missing key); codes sent without a message get S3's; boto3 reads them.
#[test]
fn error_documents_carry_resource_and_request_id() {
    let server = Server::start();
    let v = server.py_json("observability.py", &["errors"]);
    for (name, r) in v["sent"].as_object().unwrap() {
        let (doc, id, host) = (
            r["text"].as_str().unwrap(),
            r["request_id"].as_str().unwrap(),
            r["host_id"].as_str().unwrap(),
        );
        assert!(!id.is_empty() && host.len() == 64, "{name}: {r}");
        if name == "head_no_such_key" {
            assert_eq!(r["status"], 404, "{r}");
            continue; // HEAD answers carry no body
        }
        assert_eq!(
            element(doc, "RequestId").as_deref(),
            Some(id),
            "{name}: {doc}"
        );
        assert_eq!(
            element(doc, "HostId").as_deref(),
            Some(host),
            "{name}: {doc}"
        );
        assert!(element(doc, "Code").is_some(), "{name}: {doc}");
        assert!(
            element(doc, "Message").is_some_and(|m| !m.is_empty()),
            "{name}: {doc}"
        );
        let resource = element(doc, "Resource").unwrap_or_default();
        assert!(resource.starts_with('/'), "{name}: {doc}");
    }
    assert_eq!(
        element(
            v["sent"]["no_such_key"]["text"].as_str().unwrap(),
            "Resource"
        )
        .as_deref(),
        Some("/docs/a/missing &amp; &lt;odd&gt;")
    );
    let b = &v["boto3"];
    assert_eq!(b["invalid_bucket_name"]["code"], "InvalidBucketName", "{b}");
    assert_eq!(
        b["invalid_bucket_name"]["message"], "The specified bucket is not valid.",
        "{b}"
    );
    assert_eq!(b["invalid_bucket_name"]["resource"], "/Invalid_Name", "{b}");
    assert_eq!(
        b["no_such_key"]["resource"], "/docs/a/missing & <odd>",
        "{b}"
    );
    assert_eq!(b["not_implemented"]["status"], 501, "{b}");
    // No error document names a host path (a lost quorum included).
    let root = server.tmp.path().to_str().unwrap().to_string();
    for d in &server.drives[..3] {
        std::fs::rename(d, d.with_extension("away")).unwrap();
    }
    let put = server.aws(&["s3api", "put-object", "--bucket", "docs", "--key", "k"]);
    let get = server.aws(&["s3api", "list-objects-v2", "--bucket", "docs"]);
    for d in &server.drives[..3] {
        std::fs::rename(d.with_extension("away"), d).unwrap();
    }
    for out in [put, get] {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{err}");
        assert!(!err.contains(&root), "an error names a host path: {err}");
    }
    assert!(!server.log_text().is_empty());
}

/// The server's endpoints hide no bucket and no key: a bucket named `metrics` is a bucket, a
/// key `minio/health/live` of a virtual-hosted bucket is an object; the name `minio`, under
/// which the endpoints live, is refused for buckets (as MinIO refuses it).
#[test]
fn the_servers_endpoints_shadow_no_bucket() {
    let server = Server::start_with(4, &["--domain", "s3.test"]);
    let v = server.py_json("observability.py", &["shadow", "s3.test"]);
    assert_eq!(v["metrics_listed"], serde_json::json!(["cpu"]), "{v}");
    assert_eq!(v["metrics_object"], "a bucket named metrics", "{v}");
    assert_eq!(
        v["vhost_key"],
        serde_json::json!([200, "an object, not the endpoint"]),
        "{v}"
    );
    assert_eq!(v["minio_bucket"], "InvalidBucketName", "{v}");
    // Path-style, the endpoints answer.
    assert_eq!(server.http_get("/minio/health/live").0, 200);
    let auth = format!("Authorization: Bearer {}", server.scrape_token());
    let (code, body) = curl_status(
        &format!("{}/minio/v2/metrics/cluster", server.endpoint),
        &["-H", &auth],
    );
    assert_eq!(code, 200, "{body}");
    // The old `/metrics` endpoint is gone: it is the bucket's listing (here refused: unsigned).
    let (code, body) = server.http_get("/metrics");
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
}
