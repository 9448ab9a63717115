//! S3 behaviour real clients rely on, each point checked with boto3 (tests/clients/
//! conformance.py) against a real `strata server`: what S3 answers, not what a test list says.

use crate::s3_support;

use s3_support::Server;
use serde_json::{json, Value};

/// Runs one case of tests/clients/conformance.py; checks that the server is still alive.
fn case(s: &Server, name: &str) -> Value {
    let v = s.py_json("conformance.py", &[name]);
    assert_eq!(s.http_get("/minio/health/live").0, 200);
    v
}

/// `Content-Encoding: deflate, gzip` is stored and served as written, also when the body came
/// aws-chunked (only the transfer coding `aws-chunked` is removed).
#[test]
fn content_encoding_comes_back_as_sent() {
    let s = Server::start();
    let v = case(&s, "content_encoding");
    assert_eq!(
        v["chunked_sent_as"]
            .as_str()
            .map(|e| e.contains("aws-chunked")),
        Some(true),
        "{v}"
    );
    let want = json!({"head": "deflate, gzip", "get": "deflate, gzip"});
    assert_eq!(v["plain"], want, "{v}");
    assert_eq!(v["chunked"], want, "{v}");
}

/// HEAD carries `x-amz-tagging-count` as GET does; an untagged object has none.
#[test]
fn head_tells_the_tag_count() {
    let s = Server::start();
    let v = case(&s, "tagging_count");
    assert_eq!(v["two"], json!({"head": "2", "get": "2"}), "{v}");
    assert_eq!(v["later"], json!({"head": "3", "get": "3"}), "{v}");
    assert_eq!(v["none"], json!({"head": null, "get": null}), "{v}");
}

/// An empty `Content-MD5` is InvalidDigest (400) and nothing is written: not the object, not
/// the part, and the DeleteObjects document is not acted on.
#[test]
fn empty_content_md5_is_invalid_digest() {
    let s = Server::start();
    let v = case(&s, "empty_content_md5");
    let refused = json!({"status": 400, "code": "InvalidDigest"});
    for op in ["put", "part", "delete"] {
        assert_eq!(v[op], refused, "{op}: {v}");
    }
    assert_eq!(v["parts_listed"], 0, "{v}");
    assert_eq!(v["keys"], json!(["keep"]), "{v}");
}

/// ListBuckets honours `max-buckets` (pages with continuation tokens), `prefix` (echoed),
/// `bucket-region` (the region named on each bucket; another region has none of them) and
/// refuses a max-buckets outside 1..=10000 and a forged token.
#[test]
fn list_buckets_pages_and_filters() {
    let s = Server::start();
    let v = case(&s, "list_buckets");
    let all = json!(["lb-a1", "lb-a2", "lb-b1", "lb-c1"]);
    assert_eq!(v["plain"]["names"], all, "{v}");
    assert_eq!(v["plain"]["token"], Value::Null, "{v}");
    assert_eq!(
        v["plain"]["regions"],
        json!([null, null, null, null]),
        "{v}"
    );
    assert_eq!(
        v["pages_of_1"],
        json!([["lb-a1"], ["lb-a2"], ["lb-b1"], ["lb-c1"]]),
        "{v}"
    );
    assert_eq!(
        v["pages_of_3"],
        json!([["lb-a1", "lb-a2", "lb-b1"], ["lb-c1"]]),
        "{v}"
    );
    assert_eq!(v["prefix_pages"], json!([["lb-a1"], ["lb-a2"]]), "{v}");
    assert_eq!(
        v["prefix"],
        json!({"names": ["lb-a1", "lb-a2"], "echo": "lb-a", "token": null}),
        "{v}"
    );
    assert_eq!(
        v["here"],
        json!({"names": all, "regions": ["us-east-1"]}),
        "{v}"
    );
    assert_eq!(v["elsewhere"], json!([]), "{v}");
    assert_eq!(
        v["paginator"],
        json!([["lb-a1", "lb-a2"], ["lb-b1", "lb-c1"]]),
        "{v}"
    );
    for bad in ["max_0", "max_10001", "bad_token"] {
        assert_eq!(v[bad]["code"], "InvalidArgument", "{bad}: {v}");
        assert_eq!(v[bad]["status"], 400, "{bad}: {v}");
    }
}

/// A DeleteObjects entry naming a version other than `null` is NoSuchVersion in the result and
/// its object stays; `null` and no version delete as usual.
#[test]
fn delete_objects_of_another_version_deletes_nothing() {
    let s = Server::start();
    let v = case(&s, "delete_versions");
    assert_eq!(
        v["errors"],
        json!([["a", "NoSuchVersion", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"]]),
        "{v}"
    );
    assert_eq!(v["deleted"], json!([["b", "null"], ["c", null]]), "{v}");
    assert_eq!(v["left"], json!(["a"]), "{v}");
    assert_eq!(v["a"], "a", "{v}");
}

/// ListObjectVersions on an unversioned bucket lists every object as its `null` version, the
/// latest, with S3's paging markers (`NextVersionIdMarker` `null` after an object, none after
/// a common prefix), prefix, delimiter and `encoding-type=url`; GetBucketVersioning answers the
/// configuration of a bucket versioning was never enabled on; enabling it is NotImplemented.
#[test]
fn unversioned_buckets_list_their_objects_as_null_versions() {
    let s = Server::start();
    let v = case(&s, "list_versions");
    let etag = |k: &str| {
        let d = <md5::Md5 as md5::Digest>::digest(k.as_bytes());
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    };
    let all: Vec<Value> = ["a", "dir/b", "dir/c", "e", "sp ace+x"]
        .iter()
        .map(|k| json!([k, "null", true, k.len(), etag(k), "STANDARD", true]))
        .collect();
    assert_eq!(v["all"], json!(all), "{v}");
    assert_eq!(
        v["all_meta"],
        json!({"truncated": false, "delete_markers": [], "name": "versions"}),
        "{v}"
    );
    assert_eq!(
        v["pages"],
        json!([
            {"keys": ["a", "dir/b"], "truncated": true, "next": ["dir/b", "null"]},
            {"keys": ["dir/c", "e"], "truncated": true, "next": ["e", "null"]},
            {"keys": ["sp ace+x"], "truncated": false, "next": [null, null]},
        ]),
        "{v}"
    );
    assert_eq!(
        v["delimited"],
        json!({"keys": ["e"], "prefixes": ["dir/"], "next": ["e", "null"], "delimiter": "/"}),
        "{v}"
    );
    assert_eq!(
        v["prefixed"],
        json!({"keys": ["dir/b", "dir/c"], "prefix": "dir/"}),
        "{v}"
    );
    assert_eq!(
        v["url_encoded"],
        json!({"status": 200, "key": "sp%20ace%2Bx"}),
        "{v}"
    );
    assert_eq!(
        v["paginator"],
        json!([["a", "dir/b", "dir/c"], ["e", "sp ace+x"]]),
        "{v}"
    );
    for bad in ["marker_without_key", "other_version_marker"] {
        assert_eq!(v[bad]["code"], "InvalidArgument", "{bad}: {v}");
        assert_eq!(v[bad]["status"], 400, "{bad}: {v}");
    }
    assert_eq!(v["missing_bucket"]["code"], "NoSuchBucket", "{v}");
    assert_eq!(
        v["versioning"],
        json!({"Status": null, "MFADelete": null}),
        "{v}"
    );
    assert_eq!(v["versioning_missing"]["code"], "NoSuchBucket", "{v}");
    assert_eq!(v["enable"]["code"], "NotImplemented", "{v}");
    assert_eq!(v["enable"]["status"], 501, "{v}");
}

/// The storage class is the one asked for whatever `--parity` the server runs with (it was
/// decided by comparing an object's parity with the default): plain objects are STANDARD
/// (no header on HEAD/GET), REDUCED_REDUNDANCY objects and uploads say so, in listings too.
#[test]
fn storage_class_is_what_was_asked_for_with_any_parity() {
    for (drives, parity) in [(4, "1"), (6, "2"), (4, "2")] {
        let s = Server::start_with(drives, &["--parity", parity]);
        let v = case(&s, "storage_class");
        let at = format!("{drives} drives, parity {parity}: {v}");
        assert_eq!(
            v["std"],
            json!({"head": null, "get": null, "upload_listed": "STANDARD",
                   "parts_listed": "STANDARD", "completed_head": null}),
            "{at}"
        );
        assert_eq!(
            v["rrs"],
            json!({"head": "REDUCED_REDUNDANCY", "get": "REDUCED_REDUNDANCY",
                   "upload_listed": "REDUCED_REDUNDANCY", "parts_listed": "REDUCED_REDUNDANCY",
                   "completed_head": "REDUCED_REDUNDANCY"}),
            "{at}"
        );
        assert_eq!(
            v["listed"],
            json!({"std": "STANDARD", "rrs": "REDUCED_REDUNDANCY",
                   "mp-std": "STANDARD", "mp-rrs": "REDUCED_REDUNDANCY"}),
            "{at}"
        );
    }
}

/// `partNumber` reads one part: its bytes, 206 with the part's Content-Range, the object's
/// ETag and `x-amz-mp-parts-count` (only when a part is asked for, only for multipart objects);
/// InvalidPartNumber (416) past the last part; a plain object is its own part 1.
#[test]
fn part_number_reads_one_part() {
    let s = Server::start();
    let v = case(&s, "part_number");
    let etag = v["etag"].clone();
    let (a, b, c) = (5 * 1024 * 1024u64, 5 * 1024 * 1024 + 3u64, 1234u64);
    let total = a + b + c;
    for (n, start, len) in [(1, 0, a), (2, a, b), (3, a + b, c)] {
        let range = format!("bytes {start}-{}/{total}", start + len - 1);
        assert_eq!(
            v[format!("get_{n}")],
            json!({"status": 206, "length": len, "range": range, "count": 3, "etag": etag,
                   "same": true}),
            "part {n}: {v}"
        );
    }
    assert_eq!(
        v["head_2"],
        json!({"status": 206, "length": b, "range": format!("bytes {a}-{}/{total}", a + b - 1),
               "count": 3, "etag": etag}),
        "{v}"
    );
    assert_eq!(
        v["head_whole"],
        json!({"status": 200, "length": total, "range": null, "count": null, "etag": etag}),
        "{v}"
    );
    assert_eq!(
        v["head_range"],
        json!([206, 10, format!("bytes 0-9/{total}")]),
        "{v}"
    );
    assert_eq!(v["plain_1"]["body"], "plain object body", "{v}");
    assert_eq!(v["plain_1"]["status"], 206, "{v}");
    assert_eq!(v["plain_1"]["range"], "bytes 0-16/17", "{v}");
    assert_eq!(v["plain_1"]["count"], Value::Null, "{v}");
    assert_eq!(v["one_1"]["body"], "only part", "{v}");
    assert_eq!(v["one_1"]["count"], 1, "{v}");
    assert_eq!(v["get_4"]["code"], "InvalidPartNumber", "{v}");
    assert_eq!(v["get_4"]["status"], 416, "{v}");
    assert_eq!(v["head_4"]["status"], 416, "{v}");
    assert_eq!(v["plain_2"]["code"], "InvalidPartNumber", "{v}");
    assert_eq!(v["with_range"]["code"], "InvalidRequest", "{v}");
    assert_eq!(v["with_range"]["status"], 400, "{v}");
    assert_eq!(
        v["part_0"],
        json!({"status": 400, "code": "InvalidArgument"}),
        "{v}"
    );
}

/// Signature V2 works on bucket-level requests (create, head, location, list v1/v2, uploads,
/// versions, delete objects, delete bucket; headers and presigned), not only on objects; a
/// wrong secret is still SignatureDoesNotMatch. Also with s3cmd's `--signature-v2`.
#[test]
fn signature_v2_signs_bucket_requests() {
    let s = Server::start();
    let v = case(&s, "sig_v2");
    for step in [
        "create_bucket",
        "head_bucket",
        "location",
        "put",
        "list_v1",
        "uploads",
        "versions",
        "delete_objects",
        "delete_bucket",
    ] {
        assert_eq!(v[step], "ok", "{step}: {v}");
    }
    assert_eq!(v["listed"], json!(["dir/v2 key+.txt"]), "{v}");
    assert_eq!(v["get"], "v2", "{v}");
    assert_eq!(
        v["presigned_list"],
        json!({"status": 200, "code": null, "lists_key": true}),
        "{v}"
    );
    for bad in ["wrong_secret", "wrong_secret_delete"] {
        assert_eq!(v[bad]["code"], "SignatureDoesNotMatch", "{bad}: {v}");
    }
    assert_eq!(v["left"], json!([]), "{v}");
    assert_eq!(v["buckets"], json!([]), "{v}");

    s.s3cmd_ok(&["--signature-v2", "mb", "s3://cmdv2"]);
    let file = s.work().join("v2.txt");
    std::fs::write(&file, b"s3cmd v2").unwrap();
    s.s3cmd_ok(&[
        "--signature-v2",
        "put",
        file.to_str().unwrap(),
        "s3://cmdv2/v2.txt",
    ]);
    let listed = s.s3cmd_ok(&["--signature-v2", "ls", "s3://cmdv2"]);
    assert!(listed.contains("s3://cmdv2/v2.txt"), "{listed}");
    s.s3cmd_ok(&["--signature-v2", "del", "s3://cmdv2/v2.txt"]);
    s.s3cmd_ok(&["--signature-v2", "rb", "s3://cmdv2"]);
}

/// A browser POST file is held in memory by the protocol layer until stored: its size is
/// bounded by --post-max-size (it took up to 5 GiB per form).
#[test]
fn browser_post_files_are_bounded() {
    let s = Server::start_with(4, &["--post-max-size", "1MiB"]);
    let v = case(&s, "post_too_large");
    assert_eq!(v["small"]["status"], 204, "{v}");
    assert_eq!(v["large"]["status"], 400, "{v}");
    assert_eq!(v["large"]["code"], "EntityTooLarge", "{v}");
    assert_eq!(v["keys"], json!(["small"]), "{v}");
}

/// Browser POST uploads as S3 answers them: `${filename}` replaced by the file's name (its last
/// path element); a failed policy condition is 403 AccessDenied (a forged signature is still
/// SignatureDoesNotMatch first); an expiration that is not ISO 8601 is InvalidPolicyDocument;
/// checksum fields that the policy does not name (minio-go's form) are verified and stored;
/// fields asking for encryption or a canned ACL not kept (aws-exec-read) are NotImplemented;
/// fields too large before the file are MaxPostPreDataLengthExceededError. A refused form writes nothing.
#[test]
fn browser_post_uploads_follow_s3() {
    let s = Server::start();
    let v = case(&s, "post_policy");
    assert_eq!(
        v["filename"],
        json!({"status": 201, "key_in_answer": true}),
        "{v}"
    );
    assert_eq!(v["filename_body"], "post body", "{v}");
    assert_eq!(
        v["path_filename"],
        json!({"status": 201, "body": "windows path"}),
        "{v}"
    );
    assert_eq!(v["failed_condition"]["status"], 403, "{v}");
    assert_eq!(v["failed_condition"]["code"], "AccessDenied", "{v}");
    let message = v["failed_condition"]["message"].as_str().unwrap();
    assert!(message.contains("Policy Condition failed"), "{v}");
    assert_eq!(
        v["failed_eq"],
        json!({"status": 403, "code": "AccessDenied"}),
        "{v}"
    );
    assert_eq!(
        v["forged_and_failed"],
        json!({"status": 403, "code": "SignatureDoesNotMatch"}),
        "{v}"
    );
    assert_eq!(
        v["spaced_expiration"],
        json!({"status": 400, "code": "InvalidPolicyDocument"}),
        "{v}"
    );
    assert_eq!(
        v["iso_expiration"],
        json!({"status": 204, "code": null}),
        "{v}"
    );
    assert_eq!(
        v["checksum"],
        json!({"status": 204, "code": null, "stored": true}),
        "{v}"
    );
    assert_eq!(
        v["checksum_mismatch"],
        json!({"status": 400, "code": "BadDigest"}),
        "{v}"
    );
    assert_eq!(
        v["algorithm_only"],
        json!({"status": 204, "stored": true}),
        "{v}"
    );
    for field in ["sse_field", "acl_field"] {
        assert_eq!(
            v[field],
            json!({"status": 501, "code": "NotImplemented"}),
            "{field}: {v}"
        );
    }
    assert_eq!(
        v["pre_data_too_large"],
        json!({"status": 400, "code": "MaxPostPreDataLengthExceededError"}),
        "{v}"
    );
    assert_eq!(
        v["keys"],
        json!(["ck", "ck-alg", "iso", "up/photo.jpg", "up/pic.png"]),
        "{v}"
    );
}

/// Multipart checksums as S3 makes them (boto3): the algorithm and type on create; each part's
/// checksum on upload, in ListParts and on a HEAD of the part; COMPOSITE (`checksum of the
/// parts' checksums-N`) and FULL_OBJECT (the CRC of the whole, CRC32C and CRC64NVME, combined
/// from the parts) on complete, a retried complete, HEAD, GET, ListObjectsV2 and
/// GetObjectAttributes (with paged parts); copies are one part (FULL_OBJECT). Refused: a
/// COMPOSITE complete without the parts' checksums, a part checksum that is not the stored
/// one, a wrong whole-object claim, a wrong x-amz-mp-object-size, a part sent with another
/// algorithm, types the algorithm does not have. Then the same with the AWS CLI.
#[test]
fn multipart_checksums_follow_s3() {
    let s = Server::start();
    let v = case(&s, "multipart_checksums");
    let want = v["composite_want"].clone();
    assert_eq!(v["create"], json!(["SHA256", "COMPOSITE"]), "{v}");
    assert_eq!(v["upload_listed"], json!(["SHA256", "COMPOSITE"]), "{v}");
    assert_eq!(v["part_sums"], json!([true, true, true]), "{v}");
    assert_eq!(
        v["list_parts"],
        json!({"algorithm": "SHA256", "type": "COMPOSITE", "sums": [true, true, true]}),
        "{v}"
    );
    for k in ["complete", "head", "get"] {
        assert_eq!(v[k], json!([want, "COMPOSITE"]), "{k}: {v}");
    }
    assert_eq!(v["complete_again"], json!([want, "COMPOSITE", true]), "{v}");
    assert_eq!(v["head_part_2"], true, "{v}");
    let size = 2 * 5 * 1024 * 1024 + 777;
    assert_eq!(
        v["attributes"],
        json!({
            "etag_is_object": true,
            "checksum": {"ChecksumSHA256": want, "ChecksumType": "COMPOSITE"},
            "size": size,
            "class": "STANDARD",
            "parts": [3, 2, true, 2],
            "listed": [[1, 5 * 1024 * 1024, true], [2, 5 * 1024 * 1024, true]],
        }),
        "{v}"
    );
    assert_eq!(v["attributes_page_2"], json!([[3], false, false]), "{v}");
    assert_eq!(
        v["listed"],
        json!([["composite", ["SHA256"], "COMPOSITE"]]),
        "{v}"
    );
    assert_eq!(
        v["copy"],
        json!([true, "FULL_OBJECT", "FULL_OBJECT"]),
        "{v}"
    );
    assert_eq!(v["copy_asked"], json!([true, true]), "{v}");
    for (k, code) in [
        ("missing_part_sums", "InvalidRequest"),
        ("wrong_part_sum", "InvalidPart"),
        ("wrong_size", "InvalidRequest"),
        ("part_other_algorithm", "InvalidRequest"),
        ("full_wrong_claim", "BadDigest"),
        ("sha_full_object", "InvalidRequest"),
        ("nvme_composite", "InvalidRequest"),
    ] {
        assert_eq!(v[k]["code"], code, "{k}: {v}");
        assert_eq!(v[k]["status"], 400, "{k}: {v}");
    }
    assert_eq!(v["part_copy"], true, "{v}");
    assert_eq!(v["strict_done"], true, "{v}");
    assert_eq!(v["full_create"], json!(["CRC32C", "FULL_OBJECT"]), "{v}");
    assert_eq!(v["full_part_sums"], json!([true, true, true]), "{v}");
    for k in ["full_done", "full_head", "nvme_done"] {
        assert_eq!(v[k], json!([true, "FULL_OBJECT"]), "{k}: {v}");
    }
    assert_eq!(v["nvme_create"], json!(["CRC64NVME", "FULL_OBJECT"]), "{v}");
    assert_eq!(
        v["single"],
        json!(["FULL_OBJECT", {"ChecksumCRC32": "0p9hlg==", "ChecksumType": "FULL_OBJECT"}, false, 11]),
        "{v}"
    );
    aws_cli_multipart_checksums(&s);
}

/// The AWS CLI's own botocore: a CRC32 upload part by part, ListParts, a complete without the
/// parts' checksums (refused) and with them, HEAD and GetObjectAttributes agreeing.
fn aws_cli_multipart_checksums(s: &Server) {
    let json = |args: &[&str]| -> Value { serde_json::from_str(&s.aws_ok(args)).unwrap() };
    let work = s.work();
    let p1 = work.join("p1.bin");
    let p2 = work.join("p2.bin");
    s3_support::write_file(&p1, &s3_support::data(5 * 1024 * 1024 + 1, 11));
    s3_support::write_file(&p2, &s3_support::data(1000, 12));
    let up = json(&[
        "s3api",
        "create-multipart-upload",
        "--bucket",
        "sums",
        "--key",
        "cli",
        "--checksum-algorithm",
        "CRC32",
    ]);
    assert_eq!(up["ChecksumAlgorithm"], "CRC32", "{up}");
    let id = up["UploadId"].as_str().unwrap().to_string();
    let mut parts = Vec::new();
    for (n, f) in [(1, &p1), (2, &p2)] {
        let r = json(&[
            "s3api",
            "upload-part",
            "--bucket",
            "sums",
            "--key",
            "cli",
            "--upload-id",
            &id,
            "--part-number",
            &n.to_string(),
            "--body",
            f.to_str().unwrap(),
            "--checksum-algorithm",
            "CRC32",
        ]);
        parts
            .push(json!({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]}));
    }
    let listed = json(&[
        "s3api",
        "list-parts",
        "--bucket",
        "sums",
        "--key",
        "cli",
        "--upload-id",
        &id,
    ]);
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(
            listed["Parts"][i]["ChecksumCRC32"], p["ChecksumCRC32"],
            "{listed}"
        );
    }
    let bare: Vec<Value> = parts
        .iter()
        .map(|p| json!({"PartNumber": p["PartNumber"], "ETag": p["ETag"]}))
        .collect();
    let refused = s.aws(&[
        "s3api",
        "complete-multipart-upload",
        "--bucket",
        "sums",
        "--key",
        "cli",
        "--upload-id",
        &id,
        "--multipart-upload",
        &json!({"Parts": bare}).to_string(),
    ]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("InvalidRequest"), "{err}");
    let done = json(&[
        "s3api",
        "complete-multipart-upload",
        "--bucket",
        "sums",
        "--key",
        "cli",
        "--upload-id",
        &id,
        "--multipart-upload",
        &json!({"Parts": parts}).to_string(),
    ]);
    let sum = done["ChecksumCRC32"].as_str().unwrap().to_string();
    assert!(sum.ends_with("-2"), "{done}");
    let head = json(&[
        "s3api",
        "head-object",
        "--bucket",
        "sums",
        "--key",
        "cli",
        "--checksum-mode",
        "ENABLED",
    ]);
    assert_eq!(head["ChecksumCRC32"], sum.as_str(), "{head}");
    let attrs = json(&[
        "s3api",
        "get-object-attributes",
        "--bucket",
        "sums",
        "--key",
        "cli",
        "--object-attributes",
        "Checksum",
        "ObjectParts",
        "ObjectSize",
    ]);
    assert_eq!(attrs["Checksum"]["ChecksumCRC32"], sum.as_str(), "{attrs}");
    assert_eq!(attrs["ObjectSize"], 5 * 1024 * 1024 + 1 + 1000, "{attrs}");
    assert_eq!(attrs["ObjectParts"]["TotalPartsCount"], 2, "{attrs}");
    assert_eq!(
        attrs["ObjectParts"]["Parts"][1]["ChecksumCRC32"], parts[1]["ChecksumCRC32"],
        "{attrs}"
    );
}

/// A request document whose body does not match its Content-MD5 or `x-amz-checksum-*` is
/// BadDigest and not acted on: a DeleteObjects damaged on the way deletes nothing, tags and a
/// completion are not applied. With the right digests they are.
#[test]
fn documents_are_checked_against_their_digests() {
    let s = Server::start();
    let v = case(&s, "document_digests");
    let bad = json!([400, "BadDigest"]);
    for op in ["delete_md5", "delete_crc32", "tagging_md5", "complete_md5"] {
        assert_eq!(v[op], bad, "{op}: {v}");
    }
    assert_eq!(v["kept_after_mismatch"], "kept", "{v}");
    assert_eq!(v["tags"], json!([]), "{v}");
    assert_eq!(v["upload_still_open"], 1, "{v}");
    assert_eq!(v["complete_right"], 200, "{v}");
    assert_eq!(v["delete_right"], 200, "{v}");
    assert_eq!(v["after_delete"], "NoSuchKey", "{v}");
}

/// A range no byte satisfies is 416 InvalidRange with `Content-Range: bytes */size` (RFC 9110),
/// on GET and HEAD; any range of an empty object is one (it made the server panic).
#[test]
fn unsatisfiable_ranges_are_416_with_the_size() {
    let s = Server::start();
    let v = case(&s, "unsatisfiable_ranges");
    for (key, size) in [("empty", 0), ("ten", 10)] {
        let ranges: &[&str] = if key == "empty" {
            &["bytes=-1", "bytes=0-"]
        } else {
            &["bytes=10-", "bytes=-0"]
        };
        for rng in ranges {
            let cr = format!("bytes */{size}");
            assert_eq!(
                v[format!("GET {key} {rng}")],
                json!([416, cr, "InvalidRange"]),
                "{v}"
            );
            assert_eq!(
                v[format!("HEAD {key} {rng}")],
                json!([416, cr, null]),
                "{v}"
            );
        }
    }
    assert_eq!(v["suffix"], json!([206, "bytes 7-9/10"]), "{v}");
}

/// `response-*` overrides are for signed requests only (S3): an anonymous reader of a public
/// text object cannot have it served as HTML.
#[test]
fn anonymous_reads_cannot_override_response_headers() {
    let s = Server::start();
    let v = case(&s, "anonymous_overrides");
    assert_eq!(
        v["anonymous GET"],
        json!([400, "InvalidRequest", "application/xml"]),
        "{v}"
    );
    assert_eq!(v["anonymous HEAD"][0], 400, "{v}");
    assert_eq!(v["anonymous plain"], json!([200, "text/plain"]), "{v}");
    assert_eq!(v["signed"], "text/html", "{v}");
}

/// What S3 refuses is refused (each was answered 200 and applied or ignored): duplicate tag
/// keys in `x-amz-tagging`, `aws:` tag keys, unknown copy directives, S3's reserved bucket
/// prefixes and suffixes, an unknown `encoding-type`, a malformed or a second checksum header.
/// ListParts and ListMultipartUploads name the upload's Initiator.
#[test]
fn what_s3_refuses_is_refused() {
    let s = Server::start();
    let v = case(&s, "refusals");
    assert_eq!(v["dup_tags"], "InvalidArgument", "{v}");
    assert_eq!(v["aws_tag"], "InvalidTag", "{v}");
    assert_eq!(v["MetadataDirective"], "InvalidArgument", "{v}");
    assert_eq!(v["TaggingDirective"], "InvalidArgument", "{v}");
    for (b, code) in v["buckets"].as_object().unwrap() {
        assert_eq!(code, "InvalidBucketName", "{b}: {v}");
    }
    assert_eq!(v["encoding_type"], json!([400, "InvalidArgument"]), "{v}");
    assert_eq!(
        v["malformed_checksum"],
        json!([400, "InvalidRequest"]),
        "{v}"
    );
    assert_eq!(v["two_checksums"], json!([400, "InvalidRequest"]), "{v}");
    assert_eq!(v["ck"], "NoSuchKey", "{v}");
    assert_eq!(v["t"], "NoSuchKey", "{v}");
    assert_eq!(v["initiator"], json!([true, true]), "{v}");
}

/// A policy's `s3:x-amz-acl` condition applies to a browser POST's `acl` (or `x-amz-acl`) form
/// field as to the header: a Deny of public ACLs cannot be walked around with a form.
#[test]
fn a_form_acl_meets_the_policy_condition_a_header_meets() {
    let s = Server::start();
    let v = case(&s, "post_acl_condition");
    assert_eq!(v["acl"], json!([403, "AccessDenied"]), "{v}");
    assert_eq!(v["x_amz_acl"], json!([403, "AccessDenied"]), "{v}");
    assert_eq!(v["header"], "AccessDenied", "{v}");
    assert_eq!(v["private"][0], 204, "{v}");
    assert_eq!(v["anonymous"], 403, "{v}");
}
