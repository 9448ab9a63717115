//! Refused requests: each answers the S3 error code and HTTP status a client expects, writes
//! nothing, and leaves the server running. Hostile keys never leave their bucket's folder.
//! Bad start-up input makes `strata server` exit non-zero with a clear message.

use crate::s3_support;

use s3_support::{bin, walk, Server, SECRET, USER};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Asserts the `code` and `status` of a refused request reported by s3_errors.py.
#[track_caller]
fn assert_refused(v: &Value, code: &str, status: u64) {
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["status"], status, "{v}");
}

/// Runs one case of tests/clients/s3_errors.py on a fresh server; checks that the server is
/// still alive afterwards.
fn case(s: &Server, name: &str) -> Value {
    let v = s.py_json("s3_errors.py", &[name]);
    assert_eq!(s.http_get("/minio/health/live").0, 200);
    v
}

/// No write in progress left anything behind in the drives' temporary areas.
#[track_caller]
fn assert_no_temp_files(s: &Server) {
    for d in &s.drives {
        let tmp = d.join(".strata.sys/tmp");
        let left: Vec<_> = fs::read_dir(&tmp)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "left in {}: {left:?}", tmp.display());
    }
}

#[test]
fn wrong_secret_is_signature_does_not_match() {
    let s = Server::start();
    assert_refused(&case(&s, "wrong_secret"), "SignatureDoesNotMatch", 403);
}

#[test]
fn unknown_access_key_is_invalid_access_key_id() {
    let s = Server::start();
    assert_refused(&case(&s, "unknown_access_key"), "InvalidAccessKeyId", 403);
}

#[test]
fn expired_presigned_url_is_access_denied() {
    let s = Server::start();
    let v = case(&s, "expired_presigned_url");
    assert_refused(&v, "AccessDenied", 403);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("Request has expired"),
        "{v}"
    );
    assert_eq!(v["leaked"], false);
    assert_eq!(v["v2"]["code"], "AccessDenied", "SigV2: {v}");
    assert_eq!(v["v2"]["status"], 403);
    assert_eq!(v["v2"]["leaked"], false);
    assert_eq!(v["fresh_status"], 200, "a fresh URL must work: {v}");
}

/// A presigned upload URL with added `x-amz-*` headers (a copy source, metadata, tags, storage
/// class) is refused and writes nothing; the URL as signed works; an Authorization-header
/// request with an unsigned `x-amz-meta-*` is refused too; URLs longer than a week are refused.
#[test]
fn unsigned_headers_never_change_a_request() {
    let s = Server::start();
    let v = case(&s, "unsigned_headers");
    for (name, r) in v["added"].as_object().unwrap() {
        assert_refused(r, "AccessDenied", 403);
        assert_eq!(r["written"], false, "{name}: {v}");
    }
    assert_eq!(v["plain_status"], 200, "{v}");
    assert_eq!(v["plain_body"], "my upload", "{v}");
    assert_eq!(v["header_auth_control"][0], 200, "{v}");
    assert_eq!(v["header_auth_unsigned_meta"][0], 403, "{v}");
    assert_eq!(v["header_auth_unsigned_meta"][1], "AccessDenied", "{v}");
    assert_eq!(v["long"][0], 400, "{v}");
    assert_eq!(v["long"][1], "AuthorizationQueryParametersError", "{v}");
    assert_eq!(v["week"], 200, "{v}");
}

/// Server-side encryption, object lock, ACL grants, canned ACLs not kept and versions are
/// refused (NotImplemented, NoSuchVersion), never accepted and ignored; nothing is written by
/// a refused request.
#[test]
fn features_not_there_are_refused() {
    let s = Server::start();
    let v = case(&s, "features_not_there");
    for (name, r) in v["refusals"].as_object().unwrap() {
        if name.ends_with("_version") {
            assert_refused(r, "NoSuchVersion", 404);
        } else {
            assert_refused(r, "NotImplemented", 501);
        }
    }
    for (key, w) in v["written"].as_object().unwrap() {
        assert_eq!(w, false, "{key} written by a refused request: {v}");
    }
    assert_eq!(v["locked_bucket_exists"], false, "{v}");
    assert_eq!(v["kept_after_versioned_delete"], true, "{v}");
    assert_eq!(v["fine"]["private"], 200, "{v}");
    assert_eq!(v["fine"]["owner_full"], 200, "{v}");
    assert_eq!(v["fine"]["null_version"], "kept", "{v}");
}

/// A 304 Not Modified carries the ETag and Last-Modified a 200 would have (RFC 9110 §15.4.5;
/// caches update their entry from them).
#[test]
fn not_modified_carries_the_validators() {
    let s = Server::start();
    let v = case(&s, "not_modified");
    for name in ["get", "get_since"] {
        assert_eq!(v[name]["status"], 304, "{name}: {v}");
        assert_eq!(v[name]["etag"], v["etag"], "{name}: {v}");
        assert_eq!(v[name]["last_modified"], v["last_modified"], "{name}: {v}");
    }
}

/// S3's limits and defaults: user metadata over 2 KB is MetadataTooLarge (PUT, copy, multipart
/// create) and writes nothing; an object stored without a Content-Type is served as
/// `binary/octet-stream`; a LocationConstraint of another region is refused; an empty
/// Delimiter is not echoed in listings.
#[test]
fn metadata_limit_default_type_and_foreign_region() {
    let s = Server::start();
    let v = case(&s, "edge_defaults");
    for name in ["too_much_metadata", "copy_too_much", "mpu_too_much"] {
        assert_refused(&v[name], "MetadataTooLarge", 400);
    }
    assert_eq!(v["big_written"], false, "{v}");
    assert_eq!(v["untyped_status"], 200, "{v}");
    assert_eq!(v["untyped_type"], "binary/octet-stream", "{v}");
    assert_eq!(v["untyped_get_type"], "binary/octet-stream", "{v}");
    assert_refused(&v["foreign_region"], "InvalidLocationConstraint", 400);
    assert_eq!(v["elsewhere_exists"], false, "{v}");
    for (call, echoed) in v["empty_delimiter_echoed"].as_object().unwrap() {
        assert_eq!(echoed, false, "{call}: an empty Delimiter echoed: {v}");
    }
}

#[test]
fn tampered_payload_is_refused_and_not_written() {
    let s = Server::start();
    let v = case(&s, "tampered_payload");
    for r in v["results"].as_array().unwrap() {
        assert_eq!(r["code"], "XAmzContentSHA256Mismatch", "{r}");
        assert_eq!(r["status"], 400, "{r}");
        assert_eq!(r["written"], false, "{r}");
        let key = r["key"].as_str().unwrap();
        assert_eq!(s.copies_on_drives("tamper", key), 0, "{key} on a drive");
    }
    // The control request (same signer, honest body) went through: the check above can fail.
    assert_eq!(v["control_status"], 200, "{v}");
    assert_eq!(v["control_written"], true);
    assert_eq!(s.copies_on_drives("tamper", "control"), 4);
    assert_no_temp_files(&s);
}

#[test]
fn missing_bucket_is_no_such_bucket() {
    let s = Server::start();
    let v = case(&s, "no_such_bucket");
    assert_refused(&v, "NoSuchBucket", 404);
    assert_refused(&v["list"], "NoSuchBucket", 404);
    assert_refused(&v["put"], "NoSuchBucket", 404);
    for d in &s.drives {
        assert!(!d.join("no-such-bucket").exists());
    }
}

#[test]
fn missing_key_is_no_such_key() {
    let s = Server::start();
    let v = case(&s, "no_such_key");
    assert_refused(&v, "NoSuchKey", 404);
    // Deleting a missing key succeeds, as in S3.
    assert_eq!(v["delete_status"], 204);
}

#[test]
fn deleting_a_full_bucket_is_bucket_not_empty() {
    let s = Server::start();
    let v = case(&s, "bucket_not_empty");
    assert_refused(&v, "BucketNotEmpty", 409);
    assert_eq!(v["still_there"], true);
}

#[test]
fn creating_an_existing_bucket_is_bucket_already_owned_by_you() {
    let s = Server::start();
    assert_refused(
        &case(&s, "bucket_already_owned"),
        "BucketAlreadyOwnedByYou",
        409,
    );
}

#[test]
fn bad_bucket_names_are_invalid_bucket_name() {
    let s = Server::start();
    let v = case(&s, "invalid_bucket_name");
    assert_refused(&v, "InvalidBucketName", 400);
    assert_refused(&v["short"], "InvalidBucketName", 400);
    assert_refused(&v["ip"], "InvalidBucketName", 400);
    assert_eq!(v["buckets"], serde_json::json!([]));
}

#[test]
fn unsatisfiable_range_is_invalid_range() {
    let s = Server::start();
    assert_refused(&case(&s, "invalid_range"), "InvalidRange", 416);
}

#[test]
fn wrong_content_md5_is_bad_digest_and_not_written() {
    let s = Server::start();
    let v = case(&s, "bad_digest");
    assert_refused(&v, "BadDigest", 400);
    assert_eq!(v["new_written"], false);
    assert_eq!(s.copies_on_drives("digest", "new"), 0);
    // A refused overwrite (2 MiB, so not inline) keeps the old object.
    assert_refused(&v["overwrite"], "BadDigest", 400);
    assert_eq!(v["old_body"], "original");
    assert_no_temp_files(&s);
}

#[test]
fn short_non_last_part_is_entity_too_small() {
    let s = Server::start();
    let v = case(&s, "entity_too_small");
    assert_refused(&v, "EntityTooSmall", 400);
    assert_eq!(v["written"], false);
}

#[test]
fn anonymous_requests_are_refused() {
    let s = Server::start();
    let v = case(&s, "anonymous");
    for (name, r) in v["results"].as_object().unwrap() {
        assert_eq!(r["status"], 403, "{name}: {r}");
        assert_eq!(r["code"], "AccessDenied", "{name}: {r}");
        assert_eq!(r["leaked"], false, "{name}: {r}");
    }
    assert_eq!(v["anon_written"], false);
    assert_eq!(v["kept"], true, "anonymous DELETE removed the object");
}

#[test]
fn early_errors_do_not_break_the_next_request_on_the_connection() {
    let s = Server::start();
    let v = case(&s, "early_errors_keep_alive");
    assert_eq!(
        v["bad_secret"],
        serde_json::json!({"SignatureDoesNotMatch 403": 40})
    );
    assert_eq!(v["no_bucket"], serde_json::json!({"NoSuchBucket 404": 40}));
}

#[test]
fn hostile_keys_never_escape_their_bucket() {
    let s = Server::start();
    let tag = format!("{}-{}", std::process::id(), s.port);
    let v = s.py_json("keys.py", &["keys-bucket", &tag]);
    assert_eq!(v["keys"], v["listed"], "{v}");
    for (name, r) in v["too_long"].as_object().unwrap() {
        assert_eq!(r["code"], "KeyTooLongError", "{name}: {r}");
        assert_eq!(r["status"], 400, "{name}: {r}");
    }
    for (req, status) in v["raw_status"].as_object().unwrap() {
        let status = status.as_u64().unwrap();
        if req.starts_with("PUT") {
            // Taken literally as a key in the bucket (listed above), or refused.
            assert!(status == 200 || status == 400, "{req}: {status}");
        } else {
            assert!([400, 403, 404].contains(&status), "{req}: {status}");
        }
    }
    // The server is alive.
    assert_eq!(s.http_get("/minio/health/live").0, 200);
    assert_eq!(s.http_get("/minio/health/ready").0, 200);

    // On every drive, everything is below <drive>/keys-bucket/ or <drive>/.strata.sys/.
    for d in &s.drives {
        for p in walk(d) {
            let rel = p.strip_prefix(d).unwrap();
            let top = rel.components().next().unwrap().as_os_str();
            assert!(
                top == "keys-bucket" || top == ".strata.sys",
                "{} is outside the bucket",
                p.display()
            );
        }
        assert!(d.join("keys-bucket").is_dir());
    }
    // Nothing appeared beside the drives, nor where the keys pointed.
    let mut top: Vec<String> = fs::read_dir(s.tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["drives", "server.log", "work"]);
    let mut drives: Vec<String> = fs::read_dir(s.tmp.path().join("drives"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    drives.sort();
    assert_eq!(drives, ["d1", "d2", "d3", "d4"]);
    for name in [
        "strata-escape",
        "strata-escape2",
        "strata-escape3",
        "strata-raw-escape",
    ] {
        let p = Path::new("/tmp").join(format!("{name}-{tag}"));
        assert!(!p.exists(), "{} exists", p.display());
    }
}

// ---- start-up input ----

/// Runs `strata server ARGS` with the given credentials; it must exit (non-zero) on its own
/// within 10 s. Returns (exit code, stderr).
fn startup(args: &[&str], user: Option<&str>, secret: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(bin());
    cmd.arg("server");
    if !args.contains(&"--address") {
        cmd.args(["--address", "127.0.0.1:0"]);
    }
    cmd.args(args)
        .env_remove("STRATA_ROOT_USER")
        .env_remove("STRATA_ROOT_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(u) = user {
        cmd.env("STRATA_ROOT_USER", u);
    }
    if let Some(p) = secret {
        cmd.env("STRATA_ROOT_PASSWORD", p);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("strata server {args:?} kept running: it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Strata S3 endpoint"),
        "{args:?} started serving"
    );
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn server_refuses_bad_startup_input() {
    let tmp = tempfile::tempdir().unwrap();
    let drives: Vec<String> = (1..=4)
        .map(|i| {
            let d = tmp.path().join(format!("d{i}"));
            fs::create_dir(&d).unwrap();
            d.to_str().unwrap().to_string()
        })
        .collect();
    let drives: Vec<&str> = drives.iter().map(String::as_str).collect();
    let file = tmp.path().join("a-file");
    fs::write(&file, b"not a drive").unwrap();
    let file = file.to_str().unwrap();
    let missing = tmp.path().join("nowhere");
    let missing = missing.to_str().unwrap();
    let bad_range = format!("{}/d{{4...1}}", tmp.path().display());
    let not_a_range = format!("{}/d{{a...c}}", tmp.path().display());
    let (u, p) = (Some(USER), Some(SECRET));

    let check =
        |what: &str, args: &[&str], user: Option<&str>, secret: Option<&str>, expect: &str| {
            let (code, stderr) = startup(args, user, secret);
            assert_ne!(code, 0, "{what}: exit code 0");
            assert!(
                stderr.contains(expect),
                "{what}: stderr should say {expect:?}, got: {stderr}"
            );
            // One clear line, not a panic or a backtrace.
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
        };
    check("no drives", &[], u, p, "give the drives");
    let with_file = [drives[0], drives[1], drives[2], file];
    check("a file as drive", &with_file, u, p, "is not a directory");
    let with_missing = [drives[0], drives[1], drives[2], missing];
    check("a missing drive", &with_missing, u, p, "does not exist");
    check("bad ellipsis", &[&bad_range], u, p, "bad ellipsis range");
    check(
        "ellipsis of letters",
        &[&not_a_range],
        u,
        p,
        "bad ellipsis range",
    );
    let dev = Some("strataadmin");
    check(
        "dev credentials without --dev",
        &drives,
        dev,
        dev,
        "only allowed with --dev",
    );
    check("missing secret", &drives, u, None, "must be given together");
    check(
        "no credentials",
        &drives,
        None,
        None,
        "STRATA_ROOT_PASSWORD",
    );
    check("short secret", &drives, u, Some("short"), "at least 8");
    check("short access key", &drives, Some("ab"), p, "at least 3");
    let bad_address = [&["--address", "nonsense"][..], &drives[..]].concat();
    check("bad address", &bad_address, u, p, "bad --address");
    let bad_usage = [&["--usage-interval", "soon"][..], &drives[..]].concat();
    check("bad usage interval", &bad_usage, u, p, "--usage-interval");
    let bad_auth = [&["--prometheus-auth", "none"][..], &drives[..]].concat();
    check("bad metrics auth", &bad_auth, u, p, "--prometheus-auth");
    // Nothing was formatted: refused start-ups leave the drive folders empty.
    for d in &drives {
        assert_eq!(fs::read_dir(d).unwrap().count(), 0, "{d} was written to");
    }
}
