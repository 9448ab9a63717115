"""S3 behaviour real clients rely on, against the server under test (tests/s3_conformance.rs).

Usage: conformance.py CASE
Each case makes its requests with boto3 (or raw HTTP where boto3 cannot say it) and prints, as
JSON on the last line, what came back; the Rust test asserts."""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import sys
import urllib.parse
import zlib

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from s3lib import ACCESS, ENDPOINT, SECRET, client, data, emit, error_of, force_trailer_checksums, raw

s3 = client()


def signed(method, path, body=b"", headers=None):
    """A SigV4-signed request sent as given (path with its query, headers even when empty,
    which boto3 would drop); returns (status, S3 error code or None, body text)."""
    req = AWSRequest(method=method, url=ENDPOINT + path, data=body, headers=headers or {})
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(req)
    prepared = req.prepare()
    u = urllib.parse.urlsplit(prepared.url)
    target = u.path + ("?" + u.query if u.query else "")
    return raw(method, target, body, dict(prepared.headers.items()))


def error(call, **kwargs):
    """Runs a boto3 call that must fail; returns its error as a dict."""
    try:
        call(**kwargs)
    except ClientError as e:
        code, status, msg = error_of(e)
        return {"code": code, "status": status, "message": msg}
    return {"code": None, "status": 200, "message": "the request succeeded"}


def body_or_error(bucket, key):
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    except ClientError as e:
        return error_of(e)[0]


def content_encoding():
    """Content-Encoding comes back as it was sent (S3 drops only aws-chunked)."""
    s3.create_bucket(Bucket="enc")
    out = {}
    s3.put_object(Bucket="enc", Key="plain", Body=b"x" * 100, ContentEncoding="deflate, gzip")
    t = client()
    seen = force_trailer_checksums(t)
    t.put_object(Bucket="enc", Key="chunked", Body=b"y" * 100, ContentEncoding="deflate, gzip")
    out["chunked_sent_as"] = seen[-1]["content-encoding"] if seen else None
    for key in ["plain", "chunked"]:
        out[key] = {
            "head": s3.head_object(Bucket="enc", Key=key).get("ContentEncoding"),
            "get": s3.get_object(Bucket="enc", Key=key).get("ContentEncoding"),
        }
    return out


def tagging_count():
    """HEAD tells the number of tags as GET does (x-amz-tagging-count), none when untagged."""
    s3.create_bucket(Bucket="tags")
    s3.put_object(Bucket="tags", Key="two", Body=b"x", Tagging="a=1&b=2")
    s3.put_object(Bucket="tags", Key="none", Body=b"x")
    s3.put_object_tagging(Bucket="tags", Key="none", Tagging={"TagSet": []})
    s3.put_object(Bucket="tags", Key="later", Body=b"x")
    s3.put_object_tagging(
        Bucket="tags", Key="later", Tagging={"TagSet": [{"Key": "k%d" % i, "Value": "v"} for i in range(3)]}
    )

    def count(call, key):
        headers = call(Bucket="tags", Key=key)["ResponseMetadata"]["HTTPHeaders"]
        return headers.get("x-amz-tagging-count")

    return {
        key: {"head": count(s3.head_object, key), "get": count(s3.get_object, key)}
        for key in ["two", "none", "later"]
    }


def empty_content_md5():
    """An empty Content-MD5 is InvalidDigest (S3), on an upload, a part and a document."""
    s3.create_bucket(Bucket="md5")
    out = {}
    status, code, _ = signed("PUT", "/md5/obj", b"hello", {"Content-MD5": ""})
    out["put"] = {"status": status, "code": code}
    up = s3.create_multipart_upload(Bucket="md5", Key="mp")["UploadId"]
    path = "/md5/mp?partNumber=1&uploadId=%s" % up
    status, code, _ = signed("PUT", path, b"part", {"Content-MD5": ""})
    out["part"] = {"status": status, "code": code}
    s3.put_object(Bucket="md5", Key="keep", Body=b"kept")
    doc = b'<Delete><Object><Key>keep</Key></Object></Delete>'
    status, code, _ = signed("POST", "/md5?delete", doc, {"Content-MD5": ""})
    out["delete"] = {"status": status, "code": code}
    out["parts_listed"] = len(s3.list_parts(Bucket="md5", Key="mp", UploadId=up).get("Parts", []))
    out["keys"] = [o["Key"] for o in s3.list_objects_v2(Bucket="md5").get("Contents", [])]
    return out


def list_buckets():
    """ListBuckets pages (max-buckets, continuation-token), filters (prefix, bucket-region) and
    refuses a bad max-buckets."""
    for b in ["lb-a1", "lb-a2", "lb-b1", "lb-c1"]:
        s3.create_bucket(Bucket=b)

    def names(r):
        return [b["Name"] for b in r.get("Buckets", [])]

    def walk(**kwargs):
        pages, token = [], None
        while True:
            r = s3.list_buckets(**kwargs, **({"ContinuationToken": token} if token else {}))
            pages.append(names(r))
            token = r.get("ContinuationToken")
            if not token or len(pages) > 10:
                return pages

    out = {}
    plain = s3.list_buckets()
    out["plain"] = {
        "names": names(plain),
        "token": plain.get("ContinuationToken"),
        "regions": [b.get("BucketRegion") for b in plain["Buckets"]],
    }
    out["pages_of_1"] = walk(MaxBuckets=1)
    out["pages_of_3"] = walk(MaxBuckets=3)
    out["prefix_pages"] = walk(MaxBuckets=1, Prefix="lb-a")
    r = s3.list_buckets(Prefix="lb-a")
    out["prefix"] = {"names": names(r), "echo": r.get("Prefix"), "token": r.get("ContinuationToken")}
    r = s3.list_buckets(BucketRegion="us-east-1")
    out["here"] = {"names": names(r), "regions": sorted({b.get("BucketRegion") for b in r["Buckets"]})}
    out["elsewhere"] = names(s3.list_buckets(BucketRegion="eu-west-1"))
    paginator = s3.get_paginator("list_buckets")
    out["paginator"] = [names(p) for p in paginator.paginate(PaginationConfig={"PageSize": 2})]
    # boto3 refuses max-buckets 0 itself: sent raw.
    for name, query in [("max_0", "max-buckets=0"), ("max_10001", "max-buckets=10001"),
                        ("bad_token", "continuation-token=%21%21not")]:
        status, code, _ = signed("GET", "/?" + query)
        out[name] = {"status": status, "code": code}
    return out


def delete_versions():
    """DeleteObjects naming a version other than `null` deletes nothing for that key and answers
    NoSuchVersion for it; `null` (the only version kept) deletes."""
    s3.create_bucket(Bucket="delvers")
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket="delvers", Key=k, Body=k.encode())
    r = s3.delete_objects(
        Bucket="delvers",
        Delete={
            "Objects": [
                {"Key": "a", "VersionId": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"},
                {"Key": "b", "VersionId": "null"},
                {"Key": "c"},
            ]
        },
    )
    return {
        "deleted": sorted([d["Key"], d.get("VersionId")] for d in r.get("Deleted", [])),
        "errors": [[e["Key"], e["Code"], e.get("VersionId")] for e in r.get("Errors", [])],
        "left": [o["Key"] for o in s3.list_objects_v2(Bucket="delvers").get("Contents", [])],
        "a": body_or_error("delvers", "a"),
    }


def list_versions():
    """ListObjectVersions on an unversioned bucket: every object as its `null` version, with
    paging markers, prefix, delimiter and URL encoding; GetBucketVersioning answers the empty
    configuration; PutBucketVersioning is not there."""
    s3.create_bucket(Bucket="versions")
    keys = ["a", "dir/b", "dir/c", "e", "sp ace+x"]
    for k in keys:
        s3.put_object(Bucket="versions", Key=k, Body=k.encode())
    out = {}
    r = s3.list_object_versions(Bucket="versions")
    out["all"] = [
        [v["Key"], v["VersionId"], v["IsLatest"], v["Size"], v["ETag"], v["StorageClass"], "Owner" in v]
        for v in r.get("Versions", [])
    ]
    out["all_meta"] = {
        "truncated": r["IsTruncated"],
        "delete_markers": r.get("DeleteMarkers", []),
        "name": r["Name"],
    }
    pages, kw = [], {}
    while len(pages) < 10:
        r = s3.list_object_versions(Bucket="versions", MaxKeys=2, **kw)
        pages.append(
            {
                "keys": [v["Key"] for v in r.get("Versions", [])],
                "truncated": r["IsTruncated"],
                "next": [r.get("NextKeyMarker"), r.get("NextVersionIdMarker")],
            }
        )
        if not r["IsTruncated"]:
            break
        kw = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r["NextVersionIdMarker"]}
    out["pages"] = pages
    r = s3.list_object_versions(Bucket="versions", Delimiter="/", MaxKeys=2, KeyMarker="a")
    out["delimited"] = {
        "keys": [v["Key"] for v in r.get("Versions", [])],
        "prefixes": [p["Prefix"] for p in r.get("CommonPrefixes", [])],
        "next": [r.get("NextKeyMarker"), r.get("NextVersionIdMarker")],
        "delimiter": r.get("Delimiter"),
    }
    r = s3.list_object_versions(Bucket="versions", Prefix="dir/")
    out["prefixed"] = {"keys": [v["Key"] for v in r.get("Versions", [])], "prefix": r.get("Prefix")}
    # boto3 decodes url-encoded keys itself: the raw document shows what was sent.
    status, _, text = signed("GET", "/versions?versions&encoding-type=url&prefix=sp")
    out["url_encoded"] = {"status": status, "key": text.split("<Key>")[1].split("</Key>")[0]}
    paginator = s3.get_paginator("list_object_versions")
    out["paginator"] = [
        [v["Key"] for v in p.get("Versions", [])]
        for p in paginator.paginate(Bucket="versions", PaginationConfig={"PageSize": 3})
    ]
    out["marker_without_key"] = error(s3.list_object_versions, Bucket="versions", VersionIdMarker="null")
    out["other_version_marker"] = error(
        s3.list_object_versions, Bucket="versions", KeyMarker="a", VersionIdMarker="3HL4kqtJlcpXroDTDmJ"
    )
    out["missing_bucket"] = error(s3.list_object_versions, Bucket="no-such-bucket")
    v = s3.get_bucket_versioning(Bucket="versions")
    out["versioning"] = {k: v.get(k) for k in ["Status", "MFADelete"]}
    out["versioning_missing"] = error(s3.get_bucket_versioning, Bucket="no-such-bucket")
    out["enable"] = error(
        s3.put_bucket_versioning, Bucket="versions", VersioningConfiguration={"Status": "Enabled"}
    )
    return out


def storage_class():
    """The storage class is what the client asked for, whatever parity the server runs with:
    objects, listings, uploads in progress and their parts."""
    s3.create_bucket(Bucket="classes")
    big = b"s" * (5 * 1024 * 1024)
    out = {}
    for key, extra in [("std", {}), ("rrs", {"StorageClass": "REDUCED_REDUNDANCY"})]:
        s3.put_object(Bucket="classes", Key=key, Body=b"x" * 200000, **extra)
        up = s3.create_multipart_upload(Bucket="classes", Key="mp-" + key, **extra)["UploadId"]
        p = s3.upload_part(Bucket="classes", Key="mp-" + key, UploadId=up, PartNumber=1, Body=big)
        uploads = s3.list_multipart_uploads(Bucket="classes", Prefix="mp-" + key)["Uploads"]
        parts = s3.list_parts(Bucket="classes", Key="mp-" + key, UploadId=up)
        s3.complete_multipart_upload(
            Bucket="classes",
            Key="mp-" + key,
            UploadId=up,
            MultipartUpload={"Parts": [{"ETag": p["ETag"], "PartNumber": 1}]},
        )
        out[key] = {
            "head": s3.head_object(Bucket="classes", Key=key).get("StorageClass"),
            "get": s3.get_object(Bucket="classes", Key=key).get("StorageClass"),
            "upload_listed": uploads[0]["StorageClass"],
            "parts_listed": parts["StorageClass"],
            "completed_head": s3.head_object(Bucket="classes", Key="mp-" + key).get("StorageClass"),
        }
    out["listed"] = {
        o["Key"]: o["StorageClass"] for o in s3.list_objects_v2(Bucket="classes")["Contents"]
    }
    return out


def part_number():
    """GetObject and HeadObject with partNumber: the part's bytes, 206 with its Content-Range,
    x-amz-mp-parts-count for multipart objects, InvalidPartNumber past the last part; a plain
    object is its own part 1."""
    s3.create_bucket(Bucket="parts")
    sizes = [5 * 1024 * 1024, 5 * 1024 * 1024 + 3, 1234]
    chunks = [data(n, i + 1) for i, n in enumerate(sizes)]
    up = s3.create_multipart_upload(Bucket="parts", Key="mp")["UploadId"]
    done = []
    for i, c in enumerate(chunks, 1):
        r = s3.upload_part(Bucket="parts", Key="mp", UploadId=up, PartNumber=i, Body=c)
        done.append({"ETag": r["ETag"], "PartNumber": i})
    etag = s3.complete_multipart_upload(
        Bucket="parts", Key="mp", UploadId=up, MultipartUpload={"Parts": done}
    )["ETag"]
    s3.put_object(Bucket="parts", Key="plain", Body=b"plain object body")
    up = s3.create_multipart_upload(Bucket="parts", Key="one")["UploadId"]
    r = s3.upload_part(Bucket="parts", Key="one", UploadId=up, PartNumber=1, Body=b"only part")
    s3.complete_multipart_upload(
        Bucket="parts",
        Key="one",
        UploadId=up,
        MultipartUpload={"Parts": [{"ETag": r["ETag"], "PartNumber": 1}]},
    )

    def read(call, key, **kw):
        r = call(Bucket="parts", Key=key, **kw)
        body = r["Body"].read() if "Body" in r else None
        return {
            "status": r["ResponseMetadata"]["HTTPStatusCode"],
            "length": r["ContentLength"],
            "range": r.get("ContentRange"),
            "count": r.get("PartsCount"),
            "etag": r["ETag"],
            "body": body,
        }

    out = {"etag": etag}
    for n in [1, 2, 3]:
        g = read(s3.get_object, "mp", PartNumber=n)
        g["same"] = g.pop("body") == chunks[n - 1]
        out["get_%d" % n] = g
    h = read(s3.head_object, "mp", PartNumber=2)
    h.pop("body")
    out["head_2"] = h
    whole = read(s3.head_object, "mp")
    whole.pop("body")
    out["head_whole"] = whole
    ranged = read(s3.head_object, "mp", Range="bytes=0-9")
    out["head_range"] = [ranged["status"], ranged["length"], ranged["range"]]
    g = read(s3.get_object, "plain", PartNumber=1)
    g["body"] = g["body"].decode()
    out["plain_1"] = g
    g = read(s3.get_object, "one", PartNumber=1)
    g["body"] = g["body"].decode()
    out["one_1"] = g
    out["get_4"] = error(s3.get_object, Bucket="parts", Key="mp", PartNumber=4)
    out["head_4"] = error(s3.head_object, Bucket="parts", Key="mp", PartNumber=4)
    out["plain_2"] = error(s3.get_object, Bucket="parts", Key="plain", PartNumber=2)
    out["with_range"] = error(s3.get_object, Bucket="parts", Key="mp", PartNumber=1, Range="bytes=0-1")
    status, code, _ = signed("GET", "/parts/mp?partNumber=0")
    out["part_0"] = {"status": status, "code": code}
    return out


def sig_v2():
    """Signature V2 (boto3's "s3" signer, header and presigned) on bucket-level requests as on
    object requests; a wrong secret is still refused."""
    v2 = client(signature_version="s3")
    out = {}

    def step(name, call):
        try:
            call()
            out[name] = "ok"
        except ClientError as e:
            out[name] = error_of(e)[0]

    step("create_bucket", lambda: v2.create_bucket(Bucket="sigv2"))
    step("head_bucket", lambda: v2.head_bucket(Bucket="sigv2"))
    step("location", lambda: v2.get_bucket_location(Bucket="sigv2"))
    step("put", lambda: v2.put_object(Bucket="sigv2", Key="dir/v2 key+.txt", Body=b"v2"))
    step("list_v1", lambda: v2.list_objects(Bucket="sigv2")["Contents"][0]["Key"])
    out["listed"] = [o["Key"] for o in v2.list_objects_v2(Bucket="sigv2", Prefix="dir/").get("Contents", [])]
    out["get"] = v2.get_object(Bucket="sigv2", Key="dir/v2 key+.txt")["Body"].read().decode()
    step("uploads", lambda: v2.list_multipart_uploads(Bucket="sigv2"))
    step("versions", lambda: v2.list_object_versions(Bucket="sigv2"))
    url = v2.generate_presigned_url("list_objects", Params={"Bucket": "sigv2"}, ExpiresIn=300)
    u = urllib.parse.urlsplit(url)
    status, code, text = raw("GET", u.path + "?" + u.query)
    out["presigned_list"] = {"status": status, "code": code, "lists_key": "<Key>dir/v2" in text}
    bad = client(secret=SECRET + "x", signature_version="s3")
    out["wrong_secret"] = error(bad.list_objects, Bucket="sigv2")
    out["wrong_secret_delete"] = error(
        bad.delete_objects, Bucket="sigv2", Delete={"Objects": [{"Key": "dir/v2 key+.txt"}]}
    )
    step("delete_objects", lambda: v2.delete_objects(Bucket="sigv2", Delete={"Objects": [{"Key": "dir/v2 key+.txt"}]}))
    out["left"] = [o["Key"] for o in s3.list_objects_v2(Bucket="sigv2").get("Contents", [])]
    step("delete_bucket", lambda: v2.delete_bucket(Bucket="sigv2"))
    out["buckets"] = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    return out


def form_body(fields, filename="photo.jpg", content=b"post body"):
    """A multipart/form-data body as browsers send it: the fields, then the file."""
    boundary = "----strataFormBoundary7MA4YWxkTrZu0gW"
    out = []
    for k, v in fields:
        out.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v)).encode())
    out.append(
        ('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
         "Content-Type: image/jpeg\r\n\r\n" % (boundary, filename)).encode()
        + content
        + b"\r\n"
    )
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), {"Content-Type": "multipart/form-data; boundary=%s" % boundary}


def post_form(bucket, fields, **kw):
    body, headers = form_body(fields, **kw)
    status, code, text = raw("POST", "/" + bucket, body, headers)
    return {"status": status, "code": code, "text": text}


def signed_policy_fields(policy, key, extra=(), secret=SECRET):
    """Form fields of a SigV4 POST signed here (for policies boto3 would not write)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    credential = "%s/%s/us-east-1/s3/aws4_request" % (ACCESS, date)
    policy["conditions"] += [
        {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        {"x-amz-credential": credential},
        {"x-amz-date": amz_date},
    ]
    b64 = base64.b64encode(json.dumps(policy).encode()).decode()
    k = ("AWS4" + secret).encode()
    for part in [date, "us-east-1", "s3", "aws4_request"]:
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, b64.encode(), hashlib.sha256).hexdigest()
    return [("key", key), *extra, ("policy", b64), ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
            ("x-amz-credential", credential), ("x-amz-date", amz_date), ("x-amz-signature", sig)]


def post_policy():
    """Browser POST uploads: ${filename}, failed conditions (403), an expiration that is not ISO
    8601 (400), checksum fields without policy conditions (as minio-go sends them), fields for
    features that are not there; nothing is written by a refused form."""
    s3.create_bucket(Bucket="forms")
    out = {}
    p = s3.generate_presigned_post(
        "forms",
        "up/${filename}",
        Fields={"success_action_status": "201"},
        Conditions=[["starts-with", "$key", "up/"], {"success_action_status": "201"}],
        ExpiresIn=600,
    )
    fields = list(p["fields"].items())
    r = post_form("forms", fields)
    out["filename"] = {"status": r["status"], "key_in_answer": "<Key>up/photo.jpg</Key>" in r["text"]}
    out["filename_body"] = body_or_error("forms", "up/photo.jpg")
    r = post_form("forms", fields, filename="C:\\Users\\me\\pic.png", content=b"windows path")
    out["path_filename"] = {"status": r["status"], "body": body_or_error("forms", "up/pic.png")}

    bad_key = [(k, "other/x" if k == "key" else v) for k, v in fields]
    r = post_form("forms", bad_key)
    out["failed_condition"] = {"status": r["status"], "code": r["code"], "message": r["text"]}
    ct = s3.generate_presigned_post(
        "forms", "ct", Fields={"Content-Type": "text/plain"}, Conditions=[{"Content-Type": "text/plain"}]
    )
    wrong_ct = [(k, "image/png" if k == "Content-Type" else v) for k, v in ct["fields"].items()]
    r = post_form("forms", wrong_ct)
    out["failed_eq"] = {"status": r["status"], "code": r["code"]}
    forged = [(k, "0" * 64 if k == "x-amz-signature" else v) for k, v in bad_key]
    r = post_form("forms", forged)
    out["forged_and_failed"] = {"status": r["status"], "code": r["code"]}

    policy = {"expiration": "2030-01-01 00:00:00Z", "conditions": [{"bucket": "forms"}, {"key": "spaced"}]}
    r = post_form("forms", signed_policy_fields(policy, "spaced"))
    out["spaced_expiration"] = {"status": r["status"], "code": r["code"]}
    policy = {"expiration": "2030-01-01T00:00:00.000Z", "conditions": [{"bucket": "forms"}, {"key": "iso"}]}
    r = post_form("forms", signed_policy_fields(policy, "iso"))
    out["iso_expiration"] = {"status": r["status"], "code": r["code"]}

    body = b"checksummed by the form"
    crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
    p = s3.generate_presigned_post("forms", "ck", ExpiresIn=600)
    with_crc = list(p["fields"].items()) + [("x-amz-checksum-algorithm", "CRC32"), ("x-amz-checksum-crc32", crc)]
    r = post_form("forms", with_crc, content=body)
    head = s3.head_object(Bucket="forms", Key="ck", ChecksumMode="ENABLED") if r["status"] == 204 else {}
    out["checksum"] = {"status": r["status"], "code": r["code"], "stored": head.get("ChecksumCRC32") == crc}
    p = s3.generate_presigned_post("forms", "ck-bad", ExpiresIn=600)
    wrong = list(p["fields"].items()) + [("x-amz-checksum-crc32", crc)]
    r = post_form("forms", wrong, content=b"other bytes")
    out["checksum_mismatch"] = {"status": r["status"], "code": r["code"]}
    p = s3.generate_presigned_post("forms", "ck-alg", ExpiresIn=600)
    alg_only = list(p["fields"].items()) + [("x-amz-checksum-algorithm", "SHA256")]
    r = post_form("forms", alg_only, content=body)
    head = s3.head_object(Bucket="forms", Key="ck-alg", ChecksumMode="ENABLED") if r["status"] == 204 else {}
    out["algorithm_only"] = {
        "status": r["status"],
        "stored": head.get("ChecksumSHA256") == base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }

    p = s3.generate_presigned_post("forms", "sse", ExpiresIn=600)
    r = post_form("forms", list(p["fields"].items()) + [("x-amz-server-side-encryption", "AES256")])
    out["sse_field"] = {"status": r["status"], "code": r["code"]}
    p = s3.generate_presigned_post("forms", "acl", Fields={"acl": "aws-exec-read"}, Conditions=[{"acl": "aws-exec-read"}])
    r = post_form("forms", list(p["fields"].items()))
    out["acl_field"] = {"status": r["status"], "code": r["code"]}
    # Fields of 400 KiB each (s3s takes up to 1 MB a field), 1.2 MiB before the file in all.
    p = s3.generate_presigned_post("forms", "big-fields", ExpiresIn=600)
    pads = [("x-ignore-pad%d" % i, "p" * (400 << 10)) for i in range(3)]
    r = post_form("forms", pads + list(p["fields"].items()))
    out["pre_data_too_large"] = {"status": r["status"], "code": r["code"]}
    out["keys"] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="forms").get("Contents", []))
    return out


def post_too_large():
    """A POST file over --post-max-size (1 MiB here) is EntityTooLarge and nothing is stored;
    one under it is stored."""
    s3.create_bucket(Bucket="bigforms")
    out = {}
    for key, size in [("small", 512 << 10), ("large", 2 << 20)]:
        p = s3.generate_presigned_post("bigforms", key, ExpiresIn=600)
        r = post_form("bigforms", list(p["fields"].items()), content=b"z" * size)
        out[key] = {"status": r["status"], "code": r["code"]}
    out["keys"] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="bigforms").get("Contents", []))
    return out


def b64(raw):
    return base64.b64encode(raw).decode()


def crc64nvme(data):
    """CRC-64/NVME (reflected 0x9A6C9329AC4BC9B5, init and xorout all ones), table-driven."""
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x9A6C9329AC4BC9B5 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return b64((crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big"))


def crc32c(data):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return b64((crc ^ 0xFFFFFFFF).to_bytes(4, "big"))


def sha256(data):
    return b64(hashlib.sha256(data).digest())


def crc32(data):
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def upload_parts(c, key, chunks, **kw):
    """Uploads `chunks` as parts (boto3 computing `ChecksumAlgorithm` when given); returns
    the upload id and the parts as UploadPart answered them."""
    up = c.create_multipart_upload(Bucket="sums", Key=key, **kw)
    parts = []
    for i, chunk in enumerate(chunks, 1):
        extra = {"ChecksumAlgorithm": kw["ChecksumAlgorithm"]} if kw.get("ChecksumAlgorithm") in ("SHA256", "CRC32", "SHA1") else {}
        r = c.upload_part(Bucket="sums", Key=key, UploadId=up["UploadId"], PartNumber=i, Body=chunk, **extra)
        parts.append({k: v for k, v in r.items() if k == "ETag" or k.startswith("Checksum")} | {"PartNumber": i})
    return up, parts


def multipart_checksums():
    """Multipart checksums as S3 makes them: the algorithm and type on create, each part's
    checksum on upload and in ListParts, the COMPOSITE (`-N`) or FULL_OBJECT checksum on
    complete, HEAD and GET, GetObjectAttributes with parts, and the refusals."""
    s3.create_bucket(Bucket="sums")
    plain = client(request_checksum_calculation="when_required")
    chunks = [data(5 * 1024 * 1024, 3), data(5 * 1024 * 1024, 4), data(777, 5)]
    whole = b"".join(chunks)
    out = {}

    # COMPOSITE SHA256.
    up, parts = upload_parts(s3, "composite", chunks, ChecksumAlgorithm="SHA256")
    out["create"] = [up.get("ChecksumAlgorithm"), up.get("ChecksumType")]
    out["part_sums"] = [p.get("ChecksumSHA256") == sha256(c) for p, c in zip(parts, chunks)]
    listed_up = s3.list_multipart_uploads(Bucket="sums", Prefix="composite")["Uploads"][0]
    out["upload_listed"] = [listed_up.get("ChecksumAlgorithm"), listed_up.get("ChecksumType")]
    lp = s3.list_parts(Bucket="sums", Key="composite", UploadId=up["UploadId"])
    out["list_parts"] = {
        "algorithm": lp.get("ChecksumAlgorithm"),
        "type": lp.get("ChecksumType"),
        "sums": [p.get("ChecksumSHA256") == sha256(c) for p, c in zip(lp["Parts"], chunks)],
    }
    want = b64(hashlib.sha256(b"".join(hashlib.sha256(c).digest() for c in chunks)).digest()) + "-3"
    out["composite_want"] = want
    done = s3.complete_multipart_upload(
        Bucket="sums", Key="composite", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
    )
    out["complete"] = [done.get("ChecksumSHA256"), done.get("ChecksumType")]
    again = s3.complete_multipart_upload(
        Bucket="sums", Key="composite", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}
    )
    out["complete_again"] = [again.get("ChecksumSHA256"), again.get("ChecksumType"), again["ETag"] == done["ETag"]]
    h = s3.head_object(Bucket="sums", Key="composite", ChecksumMode="ENABLED")
    out["head"] = [h.get("ChecksumSHA256"), h.get("ChecksumType")]
    g = s3.get_object(Bucket="sums", Key="composite", ChecksumMode="ENABLED")
    g["Body"].read()
    out["get"] = [g.get("ChecksumSHA256"), g.get("ChecksumType")]
    h = s3.head_object(Bucket="sums", Key="composite", ChecksumMode="ENABLED", PartNumber=2)
    out["head_part_2"] = h.get("ChecksumSHA256") == sha256(chunks[1])
    a = s3.get_object_attributes(
        Bucket="sums",
        Key="composite",
        ObjectAttributes=["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"],
        MaxParts=2,
    )
    op = a["ObjectParts"]
    out["attributes"] = {
        # s3s writes every XML ETag quoted (S3 leaves this one bare): compared without.
        "etag_is_object": a.get("ETag", "").strip('"') == done["ETag"].strip('"'),
        "checksum": a.get("Checksum"),
        "size": a.get("ObjectSize"),
        "class": a.get("StorageClass"),
        "parts": [op.get("TotalPartsCount"), op.get("MaxParts"), op.get("IsTruncated"), op.get("NextPartNumberMarker")],
        "listed": [[p["PartNumber"], p["Size"], p.get("ChecksumSHA256") == sha256(chunks[p["PartNumber"] - 1])] for p in op["Parts"]],
    }
    a = s3.get_object_attributes(
        Bucket="sums", Key="composite", ObjectAttributes=["ObjectParts"], MaxParts=2, PartNumberMarker=2
    )
    op = a["ObjectParts"]
    out["attributes_page_2"] = [[p["PartNumber"] for p in op["Parts"]], op.get("IsTruncated"), "Checksum" in a]
    listed = s3.list_objects_v2(Bucket="sums")["Contents"]
    out["listed"] = [[o["Key"], o.get("ChecksumAlgorithm"), o.get("ChecksumType")] for o in listed]

    # A copy is one part: its checksum is the whole's, FULL_OBJECT.
    cp = s3.copy_object(Bucket="sums", Key="copied", CopySource={"Bucket": "sums", "Key": "composite"})
    h = s3.head_object(Bucket="sums", Key="copied", ChecksumMode="ENABLED")
    out["copy"] = [h.get("ChecksumSHA256") == sha256(whole), h.get("ChecksumType"), cp["CopyObjectResult"].get("ChecksumType")]
    cp = s3.copy_object(
        Bucket="sums", Key="copied-crc", CopySource={"Bucket": "sums", "Key": "composite"}, ChecksumAlgorithm="CRC32"
    )
    h = s3.head_object(Bucket="sums", Key="copied-crc", ChecksumMode="ENABLED")
    out["copy_asked"] = [cp["CopyObjectResult"].get("ChecksumCRC32") == crc32(whole), h.get("ChecksumCRC32") == crc32(whole)]

    # COMPOSITE CRC32: each part's checksum must be named on complete, and be the stored one.
    up, parts = upload_parts(s3, "strict", chunks[:2], ChecksumAlgorithm="CRC32")
    bare = [{"ETag": p["ETag"], "PartNumber": p["PartNumber"]} for p in parts]
    out["missing_part_sums"] = error(
        s3.complete_multipart_upload, Bucket="sums", Key="strict", UploadId=up["UploadId"], MultipartUpload={"Parts": bare}
    )
    forged = [dict(p, ChecksumCRC32=crc32(b"other")) if p["PartNumber"] == 2 else p for p in parts]
    out["wrong_part_sum"] = error(
        s3.complete_multipart_upload, Bucket="sums", Key="strict", UploadId=up["UploadId"], MultipartUpload={"Parts": forged}
    )
    out["wrong_size"] = error(
        s3.complete_multipart_upload, Bucket="sums", Key="strict", UploadId=up["UploadId"],
        MultipartUpload={"Parts": parts}, MpuObjectSize=12,
    )
    out["part_other_algorithm"] = error(
        s3.upload_part, Bucket="sums", Key="strict", UploadId=up["UploadId"], PartNumber=3, Body=b"x", ChecksumAlgorithm="SHA256"
    )
    # UploadPartCopy: the copied range gets the upload's checksum.
    pc = s3.upload_part_copy(
        Bucket="sums", Key="strict", UploadId=up["UploadId"], PartNumber=3,
        CopySource={"Bucket": "sums", "Key": "composite"}, CopySourceRange="bytes=0-99",
    )
    out["part_copy"] = pc["CopyPartResult"].get("ChecksumCRC32") == crc32(chunks[0][:100])
    parts.append({"ETag": pc["CopyPartResult"]["ETag"], "PartNumber": 3, "ChecksumCRC32": crc32(chunks[0][:100])})
    done = s3.complete_multipart_upload(Bucket="sums", Key="strict", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
    raw_sums = b"".join(zlib.crc32(c).to_bytes(4, "big") for c in chunks[:2] + [chunks[0][:100]])
    out["strict_done"] = done.get("ChecksumCRC32") == crc32(raw_sums) + "-3"

    # FULL_OBJECT CRC32C, parts sent without checksums (computed by the server), the whole
    # object's checksum claimed on complete.
    up, parts = upload_parts(plain, "full", chunks, ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
    out["full_create"] = [up.get("ChecksumAlgorithm"), up.get("ChecksumType")]
    lp = s3.list_parts(Bucket="sums", Key="full", UploadId=up["UploadId"])
    out["full_part_sums"] = [p.get("ChecksumCRC32C") == crc32c(c) for p, c in zip(lp["Parts"], chunks)]
    bad = error(
        s3.complete_multipart_upload, Bucket="sums", Key="full", UploadId=up["UploadId"],
        MultipartUpload={"Parts": parts}, ChecksumCRC32C=crc32c(b"not the object"),
    )
    out["full_wrong_claim"] = bad
    done = s3.complete_multipart_upload(
        Bucket="sums", Key="full", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}, ChecksumCRC32C=crc32c(whole)
    )
    out["full_done"] = [done.get("ChecksumCRC32C") == crc32c(whole), done.get("ChecksumType")]
    h = s3.head_object(Bucket="sums", Key="full", ChecksumMode="ENABLED")
    out["full_head"] = [h.get("ChecksumCRC32C") == crc32c(whole), h.get("ChecksumType")]

    # CRC64NVME: FULL_OBJECT by default.
    up, parts = upload_parts(plain, "nvme", chunks[1:], ChecksumAlgorithm="CRC64NVME")
    out["nvme_create"] = [up.get("ChecksumAlgorithm"), up.get("ChecksumType")]
    done = s3.complete_multipart_upload(Bucket="sums", Key="nvme", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
    out["nvme_done"] = [done.get("ChecksumCRC64NVME") == crc64nvme(b"".join(chunks[1:])), done.get("ChecksumType")]

    # Refused at creation.
    out["sha_full_object"] = error(
        s3.create_multipart_upload, Bucket="sums", Key="x", ChecksumAlgorithm="SHA256", ChecksumType="FULL_OBJECT"
    )
    out["nvme_composite"] = error(
        s3.create_multipart_upload, Bucket="sums", Key="x", ChecksumAlgorithm="CRC64NVME", ChecksumType="COMPOSITE"
    )

    # A plain PUT's checksum is FULL_OBJECT; it has no parts to list.
    s3.put_object(Bucket="sums", Key="single", Body=b"single part", ChecksumAlgorithm="CRC32")
    h = s3.head_object(Bucket="sums", Key="single", ChecksumMode="ENABLED")
    a = s3.get_object_attributes(Bucket="sums", Key="single", ObjectAttributes=["Checksum", "ObjectParts", "ObjectSize"])
    out["single"] = [h.get("ChecksumType"), a.get("Checksum"), "ObjectParts" in a, a.get("ObjectSize")]
    return out


def document_digests():
    """A document (DeleteObjects, tagging, CompleteMultipartUpload) whose body does not match its
    Content-MD5 or x-amz-checksum-* is BadDigest and not acted on; a matching one is."""
    s3.create_bucket(Bucket="digests")
    s3.put_object(Bucket="digests", Key="victim", Body=b"kept")
    doc = b"<Delete><Object><Key>victim</Key></Object></Delete>"
    wrong_md5 = b64(hashlib.md5(b"something else").digest())
    out = {}
    for name, headers in [
        ("delete_md5", {"Content-MD5": wrong_md5}),
        ("delete_crc32", {"x-amz-checksum-crc32": "AAAAAA=="}),
    ]:
        status, code, _ = signed("POST", "/digests?delete", doc, headers)
        out[name] = [status, code]
    out["kept_after_mismatch"] = body_or_error("digests", "victim")
    tags = b"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>"
    status, code, _ = signed("PUT", "/digests/victim?tagging", tags, {"Content-MD5": wrong_md5})
    out["tagging_md5"] = [status, code]
    out["tags"] = s3.get_object_tagging(Bucket="digests", Key="victim")["TagSet"]
    up = s3.create_multipart_upload(Bucket="digests", Key="mp")["UploadId"]
    etag = s3.upload_part(Bucket="digests", Key="mp", UploadId=up, PartNumber=1, Body=b"p")["ETag"]
    complete = (
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
        "</CompleteMultipartUpload>" % etag
    ).encode()
    path = "/digests/mp?uploadId=%s" % up
    status, code, _ = signed("POST", path, complete, {"Content-MD5": wrong_md5})
    out["complete_md5"] = [status, code]
    out["upload_still_open"] = len(s3.list_parts(Bucket="digests", Key="mp", UploadId=up).get("Parts", []))
    # The same documents with their right digests are acted on.
    status, _, _ = signed("POST", path, complete, {"Content-MD5": b64(hashlib.md5(complete).digest())})
    out["complete_right"] = status
    status, _, _ = signed("POST", "/digests?delete", doc, {"x-amz-checksum-crc32": crc32(doc)})
    out["delete_right"] = status
    out["after_delete"] = body_or_error("digests", "victim")
    return out


def raw_full(method, path, headers=None):
    """A plain HTTP request; returns (status, headers as a lower-case dict, body text)."""
    u = urllib.parse.urlsplit(ENDPOINT)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request(method, path, headers=headers or {})
    r = conn.getresponse()
    text = r.read().decode(errors="replace")
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, text


def signed_full(method, path, headers=None):
    req = AWSRequest(method=method, url=ENDPOINT + path, headers=headers or {})
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(req)
    return raw_full(method, path, dict(req.prepare().headers.items()))


def unsatisfiable_ranges():
    """A range no byte of the object satisfies (any range of an empty object) is 416 with
    Content-Range: bytes */size, on GET and HEAD; the server keeps serving."""
    s3.create_bucket(Bucket="ranges")
    s3.put_object(Bucket="ranges", Key="empty", Body=b"")
    s3.put_object(Bucket="ranges", Key="ten", Body=b"0123456789")
    out = {}
    for key, rng in [("empty", "bytes=-1"), ("empty", "bytes=0-"), ("ten", "bytes=10-"), ("ten", "bytes=-0")]:
        for method in ["GET", "HEAD"]:
            status, headers, text = signed_full(method, "/ranges/%s" % key, {"Range": rng})
            code = text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else None
            out["%s %s %s" % (method, key, rng)] = [status, headers.get("content-range"), code]
    status, headers, _ = signed_full("GET", "/ranges/ten", {"Range": "bytes=-3"})
    out["suffix"] = [status, headers.get("content-range")]
    return out


def anonymous_overrides():
    """response-* overrides need a signed request: an anonymous GET of a public object asking
    for them is InvalidRequest; a signed one gets them."""
    s3.create_bucket(Bucket="public")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"],
                       "Resource": ["arn:aws:s3:::public/*"]}],
    }
    s3.put_bucket_policy(Bucket="public", Policy=json.dumps(policy))
    s3.put_object(Bucket="public", Key="note.txt", Body=b"<script>x</script>", ContentType="text/plain")
    out = {}
    q = "?response-content-type=text%2Fhtml&response-content-disposition=inline"
    for method in ["GET", "HEAD"]:
        status, headers, text = raw_full(method, "/public/note.txt" + q)
        code = text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in text else None
        out["anonymous " + method] = [status, code, headers.get("content-type")]
    status, headers, _ = raw_full("GET", "/public/note.txt")
    out["anonymous plain"] = [status, headers.get("content-type")]
    got = s3.get_object(Bucket="public", Key="note.txt", ResponseContentType="text/html")
    out["signed"] = got["ContentType"]
    return out


def refusals():
    """What S3 refuses that was accepted: duplicate tag keys in x-amz-tagging, `aws:` tag keys,
    unknown copy directives, reserved bucket names, an unknown encoding-type, a malformed or a
    second x-amz-checksum-* header. Also: ListParts and ListMultipartUploads name the
    Initiator."""
    s3.create_bucket(Bucket="refuse")
    s3.put_object(Bucket="refuse", Key="k", Body=b"x")
    out = {}
    out["dup_tags"] = error(s3.put_object, Bucket="refuse", Key="t", Body=b"x", Tagging="a=1&a=2")["code"]
    out["aws_tag"] = error(
        s3.put_object_tagging, Bucket="refuse", Key="k", Tagging={"TagSet": [{"Key": "aws:x", "Value": "1"}]}
    )["code"]
    for d in ["MetadataDirective", "TaggingDirective"]:
        out[d] = error(s3.copy_object, Bucket="refuse", Key="c", CopySource="refuse/k", **{d: "FOO"})["code"]
    out["buckets"] = {
        b: error(s3.create_bucket, Bucket=b)["code"]
        for b in ["abc--ol-s3", "abc--x-s3", "abc.mrap", "abc--table-s3", "amzn-s3-demo-x"]
    }
    status, code, _ = signed("GET", "/refuse?list-type=2&encoding-type=bogus")
    out["encoding_type"] = [status, code]
    status, code, _ = signed("PUT", "/refuse/ck", b"hello", {"x-amz-checksum-crc32": "!!notb64"})
    out["malformed_checksum"] = [status, code]
    two = {"x-amz-checksum-crc32": crc32(b"hello"), "x-amz-checksum-sha256": sha256(b"hello")}
    status, code, _ = signed("PUT", "/refuse/ck", b"hello", two)
    out["two_checksums"] = [status, code]
    out["ck"] = body_or_error("refuse", "ck")
    out["t"] = body_or_error("refuse", "t")
    up = s3.create_multipart_upload(Bucket="refuse", Key="mp")["UploadId"]
    parts = s3.list_parts(Bucket="refuse", Key="mp", UploadId=up)
    uploads = s3.list_multipart_uploads(Bucket="refuse")["Uploads"]
    out["initiator"] = [parts["Initiator"]["ID"] == parts["Owner"]["ID"], "ID" in uploads[0]["Initiator"]]
    return out


def post_acl_condition():
    """A policy's `s3:x-amz-acl` condition reads a browser POST's `acl` field as it reads the
    header: a user denied public ACLs cannot make an object public through a form."""
    from s3lib import admin

    root = admin()
    root.user_add("dave", "dave-secret-12")
    root.policy_add(
        "no-public-acls",
        policy={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::forms2", "arn:aws:s3:::forms2/*"]},
                {"Effect": "Deny", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": ["arn:aws:s3:::forms2/*"],
                 "Condition": {"StringLike": {"s3:x-amz-acl": ["public-*", "authenticated-read"]}}},
            ],
        },
    )
    root.attach_policy(["no-public-acls"], user="dave")
    s3.create_bucket(Bucket="forms2")
    dave = client("dave", "dave-secret-12")
    out = {}
    for name, acl_field in [("acl", "acl"), ("x_amz_acl", "x-amz-acl"), ("private", "acl")]:
        acl = "private" if name == "private" else "public-read"
        p = dave.generate_presigned_post("forms2", name, Fields={acl_field: acl}, Conditions=[{acl_field: acl}])
        r = post_form("forms2", list(p["fields"].items()))
        out[name] = [r["status"], r["code"]]
    out["header"] = error(dave.put_object, Bucket="forms2", Key="h", Body=b"x", ACL="public-read")["code"]
    out["anonymous"] = raw("GET", "/forms2/acl")[0]
    return out


CASES = {
    f.__name__: f
    for f in [
        multipart_checksums,
        post_policy,
        post_too_large,
        sig_v2,
        part_number,
        storage_class,
        content_encoding,
        tagging_count,
        empty_content_md5,
        list_buckets,
        delete_versions,
        list_versions,
        document_digests,
        unsatisfiable_ranges,
        anonymous_overrides,
        refusals,
        post_acl_condition,
    ]
}

emit(CASES[sys.argv[1]]())
