//! Bucket policies, anonymous access and PublicAccessBlock with real clients: boto3 sets them,
//! unsigned HTTP requests (what `curl` sends) are allowed exactly what a policy grants.

use crate::s3_support::Server;
use serde_json::Value;

fn status(v: &Value, step: &str) -> u64 {
    v[step]["status"]
        .as_u64()
        .unwrap_or_else(|| panic!("{step}: {v}"))
}

/// What no bucket policy grants stays 403 for an anonymous caller.
fn only_the_public_prefix_is_readable(v: &Value) {
    assert_eq!(status(v, "public_get"), 200, "{v}");
    assert_eq!(v["public_get"]["body"], "hello world", "{v}");
    assert_eq!(status(v, "public_head"), 200, "{v}");
    for step in [
        "private_get",
        "list",
        "anon_put",
        "delete",
        "list_buckets",
        "other_create",
    ] {
        assert_eq!(status(v, step), 403, "{step}: {v}");
    }
    assert_eq!(v["private_get"]["code"], "AccessDenied", "{v}");
    assert_eq!(v["get"]["ok"]["Statement"][0]["Sid"], "PublicRead", "{v}");
    assert_eq!(v["status"]["ok"], true, "{v}");
}

#[test]
fn a_bucket_policy_makes_one_prefix_public_and_nothing_else() {
    let mut s = Server::start();
    let v = s.py_json("access.py", &["setup", "pub"]);
    // Before the policy: nothing is public.
    assert_eq!(status(&v, "before"), 403, "{v}");
    assert_eq!(v["before"]["code"], "AccessDenied", "{v}");
    assert_eq!(v["get_none"]["code"], "NoSuchBucketPolicy", "{v}");
    assert_eq!(v["status_none"]["code"], "NoSuchBucketPolicy", "{v}");
    assert_eq!(v["malformed"]["code"], "MalformedPolicy", "{v}");
    // A policy must be about its own bucket.
    assert_eq!(v["other_bucket"]["code"], "MalformedPolicy", "{v}");
    assert_eq!(v["missing_bucket"]["code"], "NoSuchBucket", "{v}");
    assert_eq!(v["put"]["ok"], 204, "{v}");
    only_the_public_prefix_is_readable(&v);
    // Plain curl, as a browser or a script would fetch it.
    assert_eq!(
        s.http_get("/pub/public/hello.txt"),
        (200, "hello world".to_string())
    );
    assert_eq!(s.http_get("/pub/private/secret.txt").0, 403);
    // Nothing anonymous changed anything.
    let check = s.py_json("access.py", &["check", "pub"]);
    only_the_public_prefix_is_readable(&check);

    // The policy is stored with the deployment, not in memory only.
    s.kill();
    s.launch(&[]);
    let v = s.py_json("access.py", &["check", "pub"]);
    only_the_public_prefix_is_readable(&v);

    // PublicAccessBlock: RestrictPublicBuckets shuts the public out, BlockPublicPolicy refuses
    // a public policy; removed, the policy applies again.
    let v = s.py_json("access.py", &["block", "pub"]);
    assert_eq!(v["get_block"]["ok"]["RestrictPublicBuckets"], true, "{v}");
    assert_eq!(v["get_block"]["ok"]["BlockPublicAcls"], false, "{v}");
    assert_eq!(status(&v, "restricted_get"), 403, "{v}");
    assert_eq!(v["blocked_put"]["code"], "AccessDenied", "{v}");
    assert_eq!(
        v["get_block_none"]["code"], "NoSuchPublicAccessBlockConfiguration",
        "{v}"
    );
    assert_eq!(status(&v, "unrestricted_get"), 200, "{v}");

    // Deleting the policy ends public access; a bucket deleted and created again does not
    // inherit the old one's policy.
    let v = s.py_json("access.py", &["recreate", "pub"]);
    assert_eq!(v["delete_policy"]["ok"], 204, "{v}");
    assert_eq!(status(&v, "after_delete"), 403, "{v}");
    assert_eq!(v["get_after_recreate"]["code"], "NoSuchBucketPolicy", "{v}");
    assert_eq!(status(&v, "anon_after_recreate"), 403, "{v}");
}
