"""Negative S3 requests against the server under test (tests/s3_errors.rs).

Usage: s3_errors.py CASE
Each case makes one refused request and prints, as JSON on the last line, what came back
(S3 error code, HTTP status, message) and what is visible afterwards; the Rust test asserts."""

import base64
import datetime
import hashlib
import sys
import urllib.parse

import botocore.auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from s3lib import ACCESS, ENDPOINT, SECRET, client, data, emit, error_of, raw, signed

MIB = 1024 * 1024
s3 = client()


def refused(call, **kwargs):
    """Runs a boto3 call that must fail; returns its error as a dict."""
    try:
        call(**kwargs)
    except ClientError as e:
        code, status, msg = error_of(e)
        return {"code": code, "status": status, "message": msg}
    raise AssertionError("the request succeeded: %s %s" % (call.__name__, kwargs))


def exists(bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        assert error_of(e)[1] == 404, error_of(e)
        return False


case = sys.argv[1]
out = {}

if case == "wrong_secret":
    out = refused(client(secret=SECRET + "x").list_buckets)

elif case == "unknown_access_key":
    out = refused(client(access="nosuchuser").list_buckets)

elif case == "expired_presigned_url":
    s3.create_bucket(Bucket="expiry")
    s3.put_object(Bucket="expiry", Key="k", Body=b"secret data")
    # Sign "two hours ago" with a validity of 60 s: the URL expired long ago.
    real_now = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda: real_now() - datetime.timedelta(hours=2)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "expiry", "Key": "k"}, ExpiresIn=60)
    botocore.auth.get_current_datetime = real_now
    u = urllib.parse.urlsplit(url)
    status, code, text = raw("GET", u.path + "?" + u.query)
    out = {"code": code, "status": status, "message": text, "leaked": "secret data" in text}
    assert "X-Amz-Expires=60" in url, url
    # The same with a SigV2 presigned URL (absolute Expires, in the past).
    real_time = botocore.auth.time.time
    botocore.auth.time.time = lambda: real_time() - 7200
    url = client(signature_version="s3").generate_presigned_url(
        "get_object", Params={"Bucket": "expiry", "Key": "k"}, ExpiresIn=60
    )
    botocore.auth.time.time = real_time
    assert "Expires=" in url and "Signature=" in url, url
    u = urllib.parse.urlsplit(url)
    status, code, text = raw("GET", u.path + "?" + u.query)
    out["v2"] = {"code": code, "status": status, "leaked": "secret data" in text}
    # A fresh URL for the same object works (the refusal is about time only).
    fresh = s3.generate_presigned_url("get_object", Params={"Bucket": "expiry", "Key": "k"}, ExpiresIn=60)
    u = urllib.parse.urlsplit(fresh)
    out["fresh_status"] = raw("GET", u.path + "?" + u.query)[0]

elif case == "tampered_payload":
    # Small (one read) and large (the mismatch is found only at the end of a streamed body).
    s3.create_bucket(Bucket="tamper")
    results = []
    for key, n in [("small", 1000), ("large", 3 * MIB + 5)]:
        good = data(n, 1)
        bad = bytearray(good)
        bad[n // 2] ^= 0xFF  # same length, one byte changed
        status, code, text = signed("PUT", "/tamper/" + key, good, bytes(bad))
        results.append({"key": key, "status": status, "code": code, "written": exists("tamper", key)})
    # The same signer sending what it signed works (the test can tell the difference).
    status, code, _ = signed("PUT", "/tamper/control", b"control", b"control")
    out = {"results": results, "control_status": status, "control_written": exists("tamper", "control")}

elif case == "no_such_bucket":
    out = refused(s3.get_object, Bucket="no-such-bucket", Key="k")
    out["list"] = refused(s3.list_objects_v2, Bucket="no-such-bucket")
    out["put"] = refused(s3.put_object, Bucket="no-such-bucket", Key="k", Body=b"x")

elif case == "no_such_key":
    s3.create_bucket(Bucket="keys")
    out = refused(s3.get_object, Bucket="keys", Key="missing")
    out["delete_status"] = s3.delete_object(Bucket="keys", Key="missing")["ResponseMetadata"]["HTTPStatusCode"]

elif case == "bucket_not_empty":
    s3.create_bucket(Bucket="full")
    s3.put_object(Bucket="full", Key="k", Body=b"x")
    out = refused(s3.delete_bucket, Bucket="full")
    out["still_there"] = exists("full", "k")

elif case == "bucket_already_owned":
    s3.create_bucket(Bucket="mine")
    out = refused(s3.create_bucket, Bucket="mine")

elif case == "invalid_bucket_name":
    out = refused(s3.create_bucket, Bucket="Invalid_Name")
    out["short"] = refused(s3.create_bucket, Bucket="ab")
    out["ip"] = refused(s3.create_bucket, Bucket="192.168.1.1")
    out["buckets"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]

elif case == "invalid_range":
    s3.create_bucket(Bucket="ranges")
    s3.put_object(Bucket="ranges", Key="ten", Body=b"0123456789")
    out = refused(s3.get_object, Bucket="ranges", Key="ten", Range="bytes=100-200")

elif case == "bad_digest":
    s3.create_bucket(Bucket="digest")
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    out = refused(s3.put_object, Bucket="digest", Key="new", Body=b"hello world", ContentMD5=wrong)
    out["new_written"] = exists("digest", "new")
    # A failed overwrite leaves the old object as it was.
    s3.put_object(Bucket="digest", Key="old", Body=b"original")
    out["overwrite"] = refused(
        s3.put_object, Bucket="digest", Key="old", Body=data(2 * MIB, 5), ContentMD5=wrong
    )
    out["old_body"] = s3.get_object(Bucket="digest", Key="old")["Body"].read().decode()

elif case == "entity_too_small":
    s3.create_bucket(Bucket="parts")
    uid = s3.create_multipart_upload(Bucket="parts", Key="mp")["UploadId"]
    parts = []
    for i, p in enumerate([data(MIB, 1), data(1024, 2)], start=1):
        r = s3.upload_part(Bucket="parts", Key="mp", UploadId=uid, PartNumber=i, Body=p)
        parts.append({"PartNumber": i, "ETag": r["ETag"]})
    out = refused(
        s3.complete_multipart_upload,
        Bucket="parts",
        Key="mp",
        UploadId=uid,
        MultipartUpload={"Parts": parts},
    )
    out["written"] = exists("parts", "mp")

elif case == "anonymous":
    s3.create_bucket(Bucket="private")
    s3.put_object(Bucket="private", Key="k", Body=b"private data")
    results = {}
    for name, method, path, body in [
        ("get", "GET", "/private/k", b""),
        ("list", "GET", "/private", b""),
        ("list_buckets", "GET", "/", b""),
        ("put", "PUT", "/private/anon", b"anonymous"),
        ("delete", "DELETE", "/private/k", b""),
    ]:
        status, code, text = raw(method, path, body)
        results[name] = {"status": status, "code": code, "leaked": "private data" in text}
    out = {"results": results, "anon_written": exists("private", "anon"), "kept": exists("private", "k")}

elif case == "early_errors_keep_alive":
    # botocore sends `Expect: 100-continue` with every PutObject and reuses connections: an
    # error answered before the body is read must not make the next request on the
    # connection fail (the server must not take that request's bytes for the unsent body).
    def outcomes(c, bucket):
        seen = {}
        for i in range(40):
            try:
                c.put_object(Bucket=bucket, Key="k%d" % i, Body=b"probe")
                what = "written"
            except ClientError as e:
                code, status, _ = error_of(e)
                what = "%s %s" % (code, status)
            seen[what] = seen.get(what, 0) + 1
        return seen

    out = {
        "bad_secret": outcomes(client(secret=SECRET + "x"), "keepalive"),
        "no_bucket": outcomes(s3, "no-such-bucket"),
    }

elif case == "unsigned_headers":
    # A presigned PUT URL signs only `host`: headers added to it must not change the request.
    s3.create_bucket(Bucket="private")
    s3.put_object(Bucket="private", Key="payroll.csv", Body=b"salaries")
    s3.create_bucket(Bucket="uploads")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "uploads", "Key": "mine"}, ExpiresIn=300)
    u = urllib.parse.urlsplit(url)
    path = u.path + "?" + u.query
    added = {
        "copy": {"x-amz-copy-source": "/private/payroll.csv"},
        "meta": {"x-amz-meta-owner": "mallory"},
        "tagging": {"x-amz-tagging": "a=b"},
        "storage_class": {"x-amz-storage-class": "REDUCED_REDUNDANCY"},
    }
    results = {}
    for name, headers in added.items():
        status, code, _ = raw("PUT", path, b"", headers)
        results[name] = {"status": status, "code": code, "written": exists("uploads", "mine")}
    status, _, _ = raw("PUT", path, b"my upload")
    body = s3.get_object(Bucket="uploads", Key="mine")["Body"].read()
    # The same header through an Authorization-header request that does not sign it.
    status_h, code_h, _ = signed("PUT", "/uploads/other", b"", b"")
    req = AWSRequest(method="PUT", url=ENDPOINT + "/uploads/other2", data=b"")
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(req)
    after = dict(req.prepare().headers.items())
    after["x-amz-meta-a"] = "added after signing"
    sig = raw("PUT", "/uploads/other2", b"", after)
    # Longer than a week: refused; a week exactly: fine.
    long_url = s3.generate_presigned_url("get_object", Params={"Bucket": "uploads", "Key": "mine"}, ExpiresIn=604801)
    week_url = s3.generate_presigned_url("get_object", Params={"Bucket": "uploads", "Key": "mine"}, ExpiresIn=604800)
    lu, wu = urllib.parse.urlsplit(long_url), urllib.parse.urlsplit(week_url)
    long_status, long_code, _ = raw("GET", lu.path + "?" + lu.query)
    week_status = raw("GET", wu.path + "?" + wu.query)[0]
    out = {
        "added": results,
        "plain_status": status,
        "plain_body": body.decode(),
        "header_auth_control": [status_h, code_h],
        "header_auth_unsigned_meta": [sig[0], sig[1]],
        "long": [long_status, long_code],
        "week": week_status,
    }

elif case == "features_not_there":
    s3.create_bucket(Bucket="feat")
    calls = {
        "sse_s3": lambda: s3.put_object(Bucket="feat", Key="sse", Body=b"x", ServerSideEncryption="AES256"),
        "sse_kms": lambda: s3.put_object(Bucket="feat", Key="kms", Body=b"x", ServerSideEncryption="aws:kms"),
        "lock_bucket": lambda: s3.create_bucket(Bucket="locked", ObjectLockEnabledForBucket=True),
        "retention": lambda: s3.put_object(
            Bucket="feat", Key="ret", Body=b"x", ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1),
        ),
        "exec_read": lambda: s3.put_object(Bucket="feat", Key="pub", Body=b"x", ACL="aws-exec-read"),
        "grant": lambda: s3.put_object(Bucket="feat", Key="grant", Body=b"x", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'),
        "mpu_sse": lambda: s3.create_multipart_upload(Bucket="feat", Key="mpu", ServerSideEncryption="AES256"),
    }
    refusals = {name: refused(lambda c=c: c()) for name, c in calls.items()}
    s3.put_object(Bucket="feat", Key="kept", Body=b"kept")
    refusals["get_version"] = refused(s3.get_object, Bucket="feat", Key="kept", VersionId="3HL4kqtJlcpXroDTDmJ")
    refusals["delete_version"] = refused(s3.delete_object, Bucket="feat", Key="kept", VersionId="3HL4kqtJlcpXroDTDmJ")
    written = {k: exists("feat", k) for k in ["sse", "kms", "ret", "pub", "grant"]}
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    fine = {
        "private": s3.put_object(Bucket="feat", Key="priv", Body=b"x", ACL="private")["ResponseMetadata"]["HTTPStatusCode"],
        # The bucket's owner is the object's: the owner's FULL_CONTROL, i.e. private.
        "owner_full": s3.put_object(Bucket="feat", Key="owner", Body=b"x", ACL="bucket-owner-full-control")["ResponseMetadata"]["HTTPStatusCode"],
        "null_version": s3.get_object(Bucket="feat", Key="kept", VersionId="null")["Body"].read().decode(),
    }
    out = {
        "refusals": refusals,
        "written": written,
        "locked_bucket_exists": "locked" in buckets,
        "kept_after_versioned_delete": exists("feat", "kept"),
        "fine": fine,
    }

elif case == "not_modified":
    s3.create_bucket(Bucket="cond")
    put = s3.put_object(Bucket="cond", Key="k", Body=b"cached")
    head = s3.head_object(Bucket="cond", Key="k")
    out = {"etag": put["ETag"], "last_modified": head["ResponseMetadata"]["HTTPHeaders"]["last-modified"]}
    for name, kwargs in [
        ("get", {"IfNoneMatch": put["ETag"]}),
        ("get_since", {"IfModifiedSince": head["LastModified"]}),
    ]:
        try:
            s3.get_object(Bucket="cond", Key="k", **kwargs)
            out[name] = {"status": 200}
        except ClientError as e:
            h = e.response["ResponseMetadata"]["HTTPHeaders"]
            out[name] = {"status": e.response["ResponseMetadata"]["HTTPStatusCode"],
                         "etag": h.get("etag"), "last_modified": h.get("last-modified")}

elif case == "edge_defaults":
    s3.create_bucket(Bucket="edge")
    big = {"k%d" % i: "v" * 100 for i in range(30)}  # about 3.1 KB
    out = {"too_much_metadata": refused(s3.put_object, Bucket="edge", Key="big", Body=b"x", Metadata=big)}
    out["big_written"] = exists("edge", "big")
    s3.put_object(Bucket="edge", Key="fits", Body=b"x", Metadata={"k": "v" * 1900})
    out["copy_too_much"] = refused(
        s3.copy_object, Bucket="edge", Key="copy", CopySource="edge/fits", Metadata=big, MetadataDirective="REPLACE"
    )
    out["mpu_too_much"] = refused(s3.create_multipart_upload, Bucket="edge", Key="mpu", Metadata=big)
    status, _, _ = signed("PUT", "/edge/untyped", b"no type", b"no type")
    out["untyped_status"] = status
    out["untyped_type"] = s3.head_object(Bucket="edge", Key="untyped")["ContentType"]
    out["untyped_get_type"] = s3.get_object(Bucket="edge", Key="untyped")["ContentType"]
    out["foreign_region"] = refused(
        s3.create_bucket, Bucket="elsewhere", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    out["elsewhere_exists"] = "elsewhere" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # An empty delimiter is no delimiter, and is not echoed.
    out["empty_delimiter_echoed"] = {
        "v2": "Delimiter" in s3.list_objects_v2(Bucket="edge", Delimiter=""),
        "v1": "Delimiter" in s3.list_objects(Bucket="edge", Delimiter=""),
        "uploads": "Delimiter" in s3.list_multipart_uploads(Bucket="edge", Delimiter=""),
    }

else:
    raise SystemExit("unknown case " + case)

emit(out)
