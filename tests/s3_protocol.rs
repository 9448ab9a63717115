//! S3 protocol forms that SDKs use but the other tests do not reach: aws-chunked bodies whose
//! chunks are each signed (with and without a signed checksum trailer), and virtual-hosted-style
//! addressing with `--domain`. The requests are made by tests/clients/s3_protocol.py.

use crate::s3_support;

use s3_support::Server;
use serde_json::{json, Value};
use std::fs;

const DOMAIN: &str = "s3.strata.test";

/// Nothing of a refused write is left in the drives' temporary areas.
#[track_caller]
fn assert_no_temp_files(s: &Server) {
    for d in &s.drives {
        let tmp = d.join(".strata.sys/tmp");
        let left: Vec<_> = fs::read_dir(&tmp)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left in {}: {left:?}", tmp.display());
    }
}

#[test]
fn signed_streaming_uploads_are_verified_chunk_by_chunk() {
    let s = Server::start();
    let v = s.py_json("s3_protocol.py", &["streaming"]);
    // 3 x 64 KiB + a short chunk.
    assert_eq!(v["size"], 3 * 65536 + 1234, "{v}");

    // The honest upload is stored byte-exact, with the MD5 ETag of the decoded payload, and
    // aws-chunked (a transfer form) is not kept as the object's Content-Encoding.
    let good = &v["good"];
    assert_eq!(good["status"], 200, "{good}");
    assert_eq!(good["same"], true, "{good}");
    assert_eq!(good["length"], v["size"], "{good}");
    assert_eq!(good["etag_is_md5"], true, "{good}");
    assert_eq!(good["content_encoding"], Value::Null, "{good}");
    assert_eq!(s.copies_on_drives("stream", "good"), 4);

    // Tampered uploads: refused with the code S3 gives, and nothing written.
    let expect = [
        ("data_middle", "SignatureDoesNotMatch", 403),
        ("data_last", "SignatureDoesNotMatch", 403),
        ("sig_first", "SignatureDoesNotMatch", 403),
        ("sig_middle", "SignatureDoesNotMatch", 403),
        ("sig_final_empty", "SignatureDoesNotMatch", 403),
        ("truncated", "IncompleteBody", 400),
        ("claims_more", "IncompleteBody", 400),
        ("claims_less", "IncompleteBody", 400),
    ];
    for (name, code, status) in expect {
        let r = &v["refused"][name];
        assert_eq!(r["code"], code, "{name}: {r}");
        assert_eq!(r["status"], status, "{name}: {r}");
        assert_eq!(r["written"], false, "{name}: {r}");
        assert_eq!(s.copies_on_drives("stream", name), 0, "{name} on a drive");
    }
    // A body that stops after its last data chunk, without the final 0-size chunk: s3s cannot
    // tell it from a complete one. Every byte was signed and the declared length is there, so
    // it may be accepted, but never as anything other than the whole payload.
    let r = &v["refused"]["truncated_before_final"];
    if r["written"] == true {
        assert_eq!(r["status"], 200, "{r}");
        assert_eq!(r["same"], true, "{r}");
    } else {
        assert_eq!(r["code"], "IncompleteBody", "{r}");
    }

    // A refused overwrite keeps the old object.
    assert_eq!(v["overwrite"]["code"], "SignatureDoesNotMatch", "{v}");
    assert_eq!(v["overwrite"]["body"], "original", "{v}");

    // Signed trailer with the CRC32: stored and returned with ChecksumMode=ENABLED.
    let t = &v["trailer_good"];
    assert_eq!(t["status"], 200, "{t}");
    assert_eq!(t["same"], true, "{t}");
    assert_eq!(t["head_crc32"], t["sent_crc32"], "{t}");
    assert_eq!(t["get_crc32"], t["sent_crc32"], "{t}");
    // A wrong CRC32 (correctly signed trailer): BadDigest. A wrong trailer signature:
    // SignatureDoesNotMatch. No trailer at all although announced: IncompleteBody.
    for (name, key, code, status) in [
        ("trailer_bad_crc", "trailer-bad-crc", "BadDigest", 400),
        (
            "trailer_bad_sig",
            "trailer-bad-sig",
            "SignatureDoesNotMatch",
            403,
        ),
        ("trailer_missing", "trailer-missing", "IncompleteBody", 400),
    ] {
        let r = &v[name];
        assert_eq!(r["code"], code, "{name}: {r}");
        assert_eq!(r["status"], status, "{name}: {r}");
        assert_eq!(r["written"], false, "{name}: {r}");
        assert_eq!(s.copies_on_drives("stream", key), 0, "{key} on a drive");
    }

    let mut listed = vec!["good", "keep", "trailer-good"];
    if v["refused"]["truncated_before_final"]["written"] == true {
        listed.push("truncated_before_final");
    }
    assert_eq!(v["listed"], json!(listed));
    assert_no_temp_files(&s);
    assert_eq!(s.http_get("/minio/health/live").0, 200);
}

#[test]
fn virtual_hosted_style_addressing_with_domain() {
    let s = Server::start_with(4, &["--domain", DOMAIN]);
    let v = s.py_json("s3_protocol.py", &["vhost", DOMAIN]);
    let port = s.port;

    // Every virtual-hosted request really named its bucket in the Host header (port included)
    // and never in the path.
    let sent = v["sent"].as_array().unwrap();
    assert!(sent.len() >= 10, "{v}");
    for r in sent {
        let host = r["host"].as_str().unwrap();
        let bucket = host
            .strip_suffix(&format!(".{DOMAIN}:{port}"))
            .unwrap_or_else(|| panic!("not a bucket host: {r}"));
        assert!(
            !r["path"]
                .as_str()
                .unwrap()
                .starts_with(&format!("/{bucket}")),
            "{r}"
        );
    }
    let list_v2 = sent.iter().any(|r| {
        r["host"] == format!("vbucket.{DOMAIN}:{port}")
            && r["path"] == "/"
            && r["query"].as_str().unwrap().contains("list-type=2")
    });
    assert!(list_v2, "no ListObjectsV2 on the bucket host: {v}");

    assert_eq!(v["create"], 200, "{v}");
    assert_eq!(v["put"], 200, "{v}");
    assert_eq!(v["get_same"], true, "{v}");
    assert_eq!(v["head_bucket"], 200, "{v}");
    assert_eq!(v["list"], json!(["dir/obj.bin", "from-path"]), "{v}");
    assert_eq!(v["list_v1_prefix"], json!(["dir/obj.bin"]), "{v}");
    assert_eq!(
        v["missing_bucket"],
        json!({"code": "NoSuchBucket", "status": 404})
    );
    assert_eq!(v["delete"], 204, "{v}");
    assert_eq!(v["after_delete_exists"], false, "{v}");
    assert_eq!(v["list_after_delete"], json!(["from-path"]), "{v}");
    assert_eq!(v["delete_bucket"], 204, "{v}");

    // The same buckets and objects path-style (127.0.0.1, the domain itself, another name).
    assert_eq!(v["path_buckets"], json!(["vbucket"]), "{v}");
    assert_eq!(v["path_get_same"], true, "{v}");
    assert_eq!(v["vhost_get_path_put"], "path-style", "{v}");
    assert_eq!(v["pbucket_via_vhost"], "kept", "{v}");
    for name in ["domain_path", "other_host_path"] {
        let r = &v[name];
        assert_eq!(r["buckets"], json!(["pbucket", "vbucket"]), "{name}: {r}");
        assert_eq!(r["get"], name, "{name}: {r}");
        let mut keys = vec![name, "k"];
        keys.sort();
        assert_eq!(r["list"], json!(keys), "{name}: {r}");
    }
    assert_eq!(v["buckets_after"], json!(["pbucket"]), "{v}");

    // On the drives: the path-style bucket with its object, and nothing under a name made of
    // the host (`vbucket.s3.strata.test:PORT`) or the domain.
    assert_eq!(s.copies_on_drives("pbucket", "k"), 4);
    for d in &s.drives {
        let mut top: Vec<String> = fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert_eq!(top, [".strata.sys", "pbucket"], "{}", d.display());
    }
    assert_eq!(s.http_get("/minio/health/live").0, 200);
}
