//! Bucket policies, canned ACLs, anonymous access and PublicAccessBlock with real clients:
//! boto3 sets them, unsigned HTTP requests (what `curl` sends) are allowed exactly what they
//! grant.

use crate::s3_support::Server;
use serde_json::{json, Value};

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

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// A boto3 call's S3 error code (acl.py's `call`).
fn code<'a>(v: &'a Value, step: &str) -> &'a str {
    v[step]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{step} did not fail: {v}"))
}

/// An ACL as acl.py shows it: the owner's FULL_CONTROL, then these group grants.
fn owner_and(groups: &[(&str, &str)]) -> Value {
    let mut g = vec![json!(["owner", "FULL_CONTROL"])];
    g.extend(groups.iter().map(|(uri, p)| json!([uri, p])));
    Value::Array(g)
}

/// What the public and an authenticated user without any policy may read of what the `setup`
/// phase made: after it, and after a restart (the ACLs are stored, not only in memory).
fn acl_reads_hold(r: &Value) {
    for step in ["list_pubread", "head_pubread", "dropbox_list"] {
        assert_eq!(status(r, step), 200, "{step}: {r}");
    }
    assert_eq!(status(r, "pubread_object"), 200, "{r}");
    assert_eq!(r["pubread_object"]["body"], "hello", "{r}");
    // A public-read bucket lists its objects, not their bytes: that is each object's ACL.
    assert_eq!(status(r, "pubread_private_object"), 403, "{r}");
    assert_eq!(r["open_get"]["body"], "open bytes", "{r}");
    assert_eq!(r["posted_get"]["body"], "posted", "{r}");
    assert_eq!(status(r, "closed_get"), 403, "{r}");
    assert_eq!(r["reader_auth_get"], "for members", "{r}");
    assert_eq!(status(r, "anon_auth_get"), 403, "{r}");
}

/// Canned ACLs (private, public-read, public-read-write, authenticated-read) with boto3, a
/// second IAM user without a policy, unsigned requests and curl: set on CreateBucket,
/// PutObject, CopyObject, CreateMultipartUpload, POST, Put{Bucket,Object}Acl; answered by
/// Get{Bucket,Object}Acl; what they grant and no more; a policy's Deny and PublicAccessBlock
/// win; what is not kept is NotImplemented and changes nothing.
#[test]
fn canned_acls_grant_what_they_say() {
    let mut s = Server::start();
    let v = s.py_json("acl.py", &["setup"]);

    // public-read bucket: listed by anyone, written by nobody else; its objects are read by
    // whom their own ACLs let.
    for step in ["pubread_list", "pubread_list_v1", "pubread_head"] {
        assert_eq!(status(&v, step), 200, "{step}: {v}");
    }
    assert_eq!(v["pubread_object"]["body"], "hello", "{v}");
    assert_eq!(status(&v, "pubread_private_object"), 403, "{v}");
    assert_eq!(v["pubread_missing"]["code"], "NoSuchKey", "{v}");
    for step in ["pubread_put", "pubread_delete", "pubread_acl_anon"] {
        assert_eq!(status(&v, step), 403, "{step}: {v}");
    }
    assert_eq!(
        v["pubread_acl"]["ok"],
        owner_and(&[(ALL_USERS, "READ")]),
        "{v}"
    );
    assert_eq!(
        s.http_get("/acl-pubread/hello.txt"),
        (200, "hello".to_string())
    );

    // Object ACLs in a private bucket.
    assert_eq!(v["open_get"]["body"], "open bytes", "{v}");
    assert_eq!(status(&v, "open_head"), 200, "{v}");
    assert_eq!(status(&v, "open_range"), 206, "{v}");
    assert_eq!(v["open_range"]["body"], "open", "{v}");
    assert_eq!(s.http_get("/acl-objs/open.txt"), (200, "open bytes".into()));
    for step in [
        "closed_get",
        "closed_head",
        "closed_if_match",
        "closed_if_none_match",
        "objs_missing",
        "objs_list",
        "open_acl_anon",
        "mpu_before_complete",
        "copy_plain_get",
    ] {
        assert_eq!(status(&v, step), 403, "{step}: {v}");
    }
    assert_eq!(v["objs_missing"]["code"], "AccessDenied", "{v}");
    assert_eq!(s.http_get("/acl-objs/closed.txt").0, 403);
    assert_eq!(
        v["open_meta"],
        json!({}),
        "the ACL is not user metadata: {v}"
    );
    assert_eq!(
        v["open_acl"]["ok"],
        owner_and(&[(ALL_USERS, "READ")]),
        "{v}"
    );
    assert_eq!(v["closed_acl"]["ok"], owner_and(&[]), "{v}");
    assert_eq!(
        v["auth_acl"]["ok"],
        owner_and(&[(AUTHENTICATED, "READ")]),
        "{v}"
    );

    // authenticated-read: another user with no policy reads, the public does not.
    assert_eq!(v["reader_auth_get"], "for members", "{v}");
    assert_eq!(status(&v, "anon_auth_get"), 403, "{v}");
    assert_eq!(v["reader_list_authb"]["ok"], 200, "{v}");
    assert_eq!(
        v["reader_buckets"]["ok"],
        json!(["acl-authb", "acl-pubread"]),
        "{v}"
    );
    assert_eq!(status(&v, "anon_list_authb"), 403, "{v}");
    for step in [
        "reader_closed_get",
        "reader_missing",
        "reader_list",
        "reader_put_authb",
        "reader_sets_acl",
        "reader_copies_to_readonly",
        "reader_copies_closed",
    ] {
        assert_eq!(code(&v, step), "AccessDenied", "{step}: {v}");
    }

    // A service account of the reader: its own policy narrows the ACLs' grants too.
    assert_eq!(v["narrow_list_authb"]["ok"], 200, "{v}");
    assert_eq!(code(&v, "narrow_get_auth"), "AccessDenied", "{v}");
    assert_eq!(v["wide_get_auth"]["ok"], "for members", "{v}");

    // Multipart, copy: the ACL asked for, never the source's.
    assert_eq!(v["mpu_get"]["body"], "multi part", "{v}");
    assert_eq!(v["copy_public_get"]["body"], "closed bytes", "{v}");
    assert_eq!(v["reader_copies_open"]["ok"], 200, "{v}");
    assert_eq!(v["copied"], json!({"c": true, "d": false}), "{v}");
    assert_eq!(v["reader_part_copy_open"]["ok"], 200, "{v}");
    assert_eq!(code(&v, "reader_part_copy_closed"), "AccessDenied", "{v}");
    assert_eq!(v["reader_aborts"]["ok"], 204, "{v}");

    // public-read-write: anonymous lists, writes and deletes; the objects written are
    // private (a drop box: read by the owner, not by the public); nothing more.
    assert_eq!(status(&v, "dropbox_put"), 200, "{v}");
    assert_eq!(v["dropbox_read_back"], "dropped", "{v}");
    assert_eq!(status(&v, "dropbox_delete"), 204, "{v}");
    assert_eq!(v["dropbox_deleted"], true, "{v}");
    for step in [
        "dropbox_get_object",
        "dropbox_put_public",
        "dropbox_delete_bucket",
        "dropbox_put_acl",
    ] {
        assert_eq!(status(&v, step), 403, "{step}: {v}");
    }
    assert_eq!(v["dropbox_put_public_written"], false, "{v}");
    assert_eq!(
        v["dropbox_acl"]["ok"],
        owner_and(&[(ALL_USERS, "READ"), (ALL_USERS, "WRITE")]),
        "{v}"
    );

    // bucket-owner-full-control: the owner's FULL_CONTROL, nothing public.
    assert_eq!(v["owner_full"]["ok"], 200, "{v}");
    assert_eq!(v["owner_full_acl"]["ok"], owner_and(&[]), "{v}");
    assert_eq!(status(&v, "owner_full_anon"), 403, "{v}");
    // Not kept: NotImplemented; not a canned ACL: InvalidArgument; nothing changed.
    for step in [
        "exec_read",
        "log_delivery",
        "grant_header",
        "other_user_grant",
        "write_only_grant",
    ] {
        assert_eq!(code(&v, step), "NotImplemented", "{step}: {v}");
        assert_eq!(v[step]["status"], 501, "{step}: {v}");
    }
    for step in ["unknown_put_signed", "unknown_bucket_acl", "unknown_create"] {
        assert_eq!(code(&v, step), "InvalidArgument", "{step}: {v}");
        assert_eq!(v[step]["status"], 400, "{step}: {v}");
    }
    assert_eq!(v["unknown_put"], json!([400, "InvalidArgument"]), "{v}");
    assert_eq!(v["unknown_create_exists"]["status"], 404, "{v}");
    assert_eq!(
        v["refused_written"],
        json!({"exec.txt": false, "unknown.txt": false}),
        "{v}"
    );
    assert_eq!(status(&v, "closed_after_refusals"), 403, "{v}");
    assert_eq!(status(&v, "objs_list_after_refusals"), 403, "{v}");
    assert_eq!(v["objs_acl_after_refusals"]["ok"], owner_and(&[]), "{v}");
    assert_eq!(v["closed_acl_after_refusals"]["ok"], owner_and(&[]), "{v}");

    // Browser POST: the form's acl field.
    assert_eq!(status(&v, "post_public"), 204, "{v}");
    assert_eq!(v["post_public_get"]["body"], "posted", "{v}");
    assert_eq!(
        v["post_public_acl"]["ok"],
        owner_and(&[(ALL_USERS, "READ")]),
        "{v}"
    );
    assert_eq!(status(&v, "post_private"), 204, "{v}");
    assert_eq!(status(&v, "post_private_get"), 403, "{v}");
    assert_eq!(
        v["post_unknown"],
        json!({"status": 400, "code": "InvalidArgument"}),
        "{v}"
    );
    assert_eq!(
        v["post_exec"],
        json!({"status": 501, "code": "NotImplemented"}),
        "{v}"
    );
    assert_eq!(
        v["post_refused_written"],
        json!({"posted-bad.txt": false, "posted-exec.txt": false}),
        "{v}"
    );

    // PutObjectAcl (header or body), keeping the object's Last-Modified.
    assert_eq!(code(&v, "open_private"), "NoSuchKey", "{v}");
    assert_eq!(status(&v, "open2_before"), 200, "{v}");
    assert_eq!(v["open2_private"]["ok"], 200, "{v}");
    assert_eq!(status(&v, "open2_after"), 403, "{v}");
    assert_eq!(v["open2_kept_last_modified"], true, "{v}");
    assert_eq!(v["body_public"]["ok"], 200, "{v}");
    assert_eq!(v["body_get"]["body"], "by body", "{v}");
    assert_eq!(
        v["body_acl"]["ok"],
        owner_and(&[(ALL_USERS, "READ")]),
        "{v}"
    );

    // A bucket policy's explicit Deny beats public-read, for the public and the reader.
    assert_eq!(status(&v, "denied_secret"), 403, "{v}");
    assert_eq!(v["denied_open"]["body"], "fine", "{v}");
    assert_eq!(status(&v, "denied_list_secret"), 403, "{v}");
    assert_eq!(status(&v, "denied_list_open"), 200, "{v}");
    assert_eq!(code(&v, "reader_denied_secret"), "AccessDenied", "{v}");
    assert_eq!(v["reader_denied_open"]["ok"], "fine", "{v}");

    // PublicAccessBlock: BlockPublicAcls refuses setting one (every way), keeps those set;
    // IgnorePublicAcls voids them while it is there.
    for step in [
        "block_put",
        "block_put_object_acl",
        "block_put_bucket_acl",
        "block_mpu",
        "block_mpu_complete",
        "block_copy",
        "ignore_reader_get",
    ] {
        assert_eq!(code(&v, step), "AccessDenied", "{step}: {v}");
    }
    assert_eq!(v["block_post"]["status"], 403, "{v}");
    assert_eq!(v["block_post"]["code"], "AccessDenied", "{v}");
    assert_eq!(v["block_private"]["ok"], 200, "{v}");
    assert_eq!(
        v["block_written"],
        json!({"new.txt": false, "c.txt": false, "posted.txt": false, "early.txt": false}),
        "{v}"
    );
    let public_read = owner_and(&[(ALL_USERS, "READ")]);
    assert_eq!(v["block_bucket_acl_kept"]["ok"], public_read, "{v}");
    assert_eq!(v["block_pub_acl_kept"]["ok"], public_read, "{v}");
    assert_eq!(v["ignore_acl_shown"]["ok"], public_read, "{v}");
    assert_eq!(status(&v, "block_still_public"), 200, "{v}");
    assert_eq!(status(&v, "ignore_get"), 403, "{v}");
    assert_eq!(status(&v, "ignore_list"), 403, "{v}");
    assert_eq!(status(&v, "unignored_get"), 200, "{v}");
    assert_eq!(status(&v, "unignored_list"), 200, "{v}");

    // A bucket created again has no ACL left; odd requests are refused.
    assert_eq!(v["recreated_acl"]["ok"], owner_and(&[]), "{v}");
    assert_eq!(status(&v, "recreated_list"), 403, "{v}");
    assert_eq!(status(&v, "recreated_put"), 403, "{v}");
    assert_eq!(code(&v, "header_and_body"), "InvalidRequest", "{v}");
    assert_eq!(code(&v, "missing_bucket_acl"), "NoSuchBucket", "{v}");

    acl_reads_hold(&v["reads"]);
    s.kill();
    s.launch(&[]);
    let after = s.py_json("acl.py", &["check"]);
    acl_reads_hold(&after["reads"]);
}

/// `s3:ExistingObjectTag/…` is evaluated (it was accepted and ignored): a Deny on an object's
/// tag, in a bucket policy or an identity policy, refuses reading it, copying it (the tag of a
/// copy's source) and changing its tags; objects without the tag stay readable; root is exempt.
#[test]
fn a_deny_on_an_existing_object_tag_holds() {
    let s = Server::start();
    let v = s.py_json("object_tags.py", &[]);
    for who in ["bob", "carol"] {
        for step in ["get_secret", "copy_secret", "untag", "retag"] {
            assert_eq!(
                code(&v, &format!("{who}_{step}")),
                "AccessDenied",
                "{who}: {v}"
            );
        }
        assert_eq!(v[format!("{who}_head_secret")]["status"], 403, "{who}: {v}");
        assert_eq!(v[format!("{who}_get_open")]["ok"], "hello", "{who}: {v}");
        assert_eq!(
            v[format!("{who}_get_plain")]["ok"],
            "untagged",
            "{who}: {v}"
        );
        assert_eq!(v[format!("{who}_copy_open")]["ok"], 200, "{who}: {v}");
        assert_eq!(
            v[format!("{who}_tags")]["ok"],
            json!([{"Key": "cls", "Value": "secret"}]),
            "{who}: {v}"
        );
    }
    assert_eq!(v["root_get_secret"]["ok"], "classified", "{v}");
}
