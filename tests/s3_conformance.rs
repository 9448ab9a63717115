//! S3 behaviour real clients rely on, each point checked with boto3 (tests/clients/
//! conformance.py) against a real `strata server`: what S3 answers, not what a test list says.

mod s3_support;

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
