"""boto3 round trip against the server under test (tests/s3_clients.rs).

Usage: boto3_roundtrip.py BUCKET
Every step asserts; the last output line is a JSON summary the Rust test checks as well."""

import base64
import hashlib
import io
import sys
import urllib.parse

from botocore.exceptions import ClientError
from boto3.s3.transfer import TransferConfig

from s3lib import client, crc32_b64, data, emit, error_of, force_trailer_checksums

MIB = 1024 * 1024
bucket = sys.argv[1]
s3 = client()
summary = {}

s3.create_bucket(Bucket=bucket)
assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]

# 1. Plain put/get: boto3 adds its default CRC32 (a header over plain HTTP).
small = data(1000, 1)
r = s3.put_object(Bucket=bucket, Key="small.txt", Body=small, ContentType="text/plain")
assert r["ETag"] == '"%s"' % hashlib.md5(small).hexdigest(), r["ETag"]
assert r.get("ChecksumCRC32") == crc32_b64(small), r
g = s3.get_object(Bucket=bucket, Key="small.txt", ChecksumMode="ENABLED")
assert g["Body"].read() == small
assert g["ContentType"] == "text/plain"
assert g.get("ChecksumCRC32") == crc32_b64(small), g
summary["crc32_header"] = True

# 2. The aws-chunked trailer path boto3 uses over HTTPS: CRC32 in a trailer, unsigned
#    streaming payload, several chunks (botocore sends 1 MiB chunks).
t = client()
seen = force_trailer_checksums(t)
body = data(3 * MIB + 17, 2)
r = t.put_object(Bucket=bucket, Key="trailer.bin", Body=body)
assert seen and seen[-1]["content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER", seen
assert seen[-1]["trailer"] == "x-amz-checksum-crc32", seen
assert "aws-chunked" in (seen[-1]["content-encoding"] or ""), seen
assert r.get("ChecksumCRC32") == crc32_b64(body), r
g = s3.get_object(Bucket=bucket, Key="trailer.bin", ChecksumMode="ENABLED")
assert g["Body"].read() == body
assert g["ContentLength"] == len(body)
assert g.get("ChecksumCRC32") == crc32_b64(body), g
# An empty body through the same path.
t.put_object(Bucket=bucket, Key="trailer-empty", Body=b"")
assert s3.get_object(Bucket=bucket, Key="trailer-empty")["Body"].read() == b""
summary["crc32_trailer"] = seen[-1]["content-sha256"]

# 3. SHA256 additional checksum.
body = data(200_000, 3)
sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
r = s3.put_object(Bucket=bucket, Key="sha.bin", Body=body, ChecksumAlgorithm="SHA256")
assert r.get("ChecksumSHA256") == sha, r
g = s3.get_object(Bucket=bucket, Key="sha.bin", ChecksumMode="ENABLED")
assert g["Body"].read() == body
assert g.get("ChecksumSHA256") == sha, g
h = s3.head_object(Bucket=bucket, Key="sha.bin", ChecksumMode="ENABLED")
assert h.get("ChecksumSHA256") == sha, h
summary["sha256"] = True

# 4. Multipart by hand (5 MiB + 5 MiB + 1 MiB), parts with trailer checksums.
parts_data = [data(5 * MIB, 10), data(5 * MIB, 11), data(MIB + 3, 12)]
up = t.create_multipart_upload(Bucket=bucket, Key="multi.bin", ContentType="application/x-test")
uid = up["UploadId"]
parts = []
for i, p in enumerate(parts_data, start=1):
    r = t.upload_part(Bucket=bucket, Key="multi.bin", UploadId=uid, PartNumber=i, Body=p)
    assert r["ETag"] == '"%s"' % hashlib.md5(p).hexdigest(), r
    parts.append({"PartNumber": i, "ETag": r["ETag"]})
listed = s3.list_parts(Bucket=bucket, Key="multi.bin", UploadId=uid)
assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2, 3]
assert [p["Size"] for p in listed["Parts"]] == [len(p) for p in parts_data]
r = s3.complete_multipart_upload(
    Bucket=bucket, Key="multi.bin", UploadId=uid, MultipartUpload={"Parts": parts}
)
md5s = b"".join(hashlib.md5(p).digest() for p in parts_data)
assert r["ETag"] == '"%s-3"' % hashlib.md5(md5s).hexdigest(), r["ETag"]
whole = b"".join(parts_data)
g = s3.get_object(Bucket=bucket, Key="multi.bin")
assert g["ContentLength"] == len(whole)
assert g["Body"].read() == whole
assert g["ContentType"] == "application/x-test"
# And through boto3's managed transfer (concurrent parts, its own checksum choices).
cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)
big = data(12 * MIB + 5, 13)
s3.upload_fileobj(io.BytesIO(big), bucket, "managed.bin", Config=cfg)
out = io.BytesIO()
s3.download_fileobj(bucket, "managed.bin", out, Config=cfg)
assert out.getvalue() == big
assert s3.head_object(Bucket=bucket, Key="managed.bin")["ETag"].endswith('-3"')
summary["multipart"] = True

# 5. Copy onto itself with MetadataDirective=REPLACE changes metadata, not data.
before = s3.head_object(Bucket=bucket, Key="small.txt")
s3.copy_object(
    Bucket=bucket,
    Key="small.txt",
    CopySource={"Bucket": bucket, "Key": "small.txt"},
    MetadataDirective="REPLACE",
    Metadata={"colour": "blue", "shape": "round"},
    ContentType="application/x-replaced",
)
after = s3.head_object(Bucket=bucket, Key="small.txt")
assert after["Metadata"] == {"colour": "blue", "shape": "round"}, after["Metadata"]
assert after["ContentType"] == "application/x-replaced"
assert after["ETag"] == before["ETag"]
assert s3.get_object(Bucket=bucket, Key="small.txt")["Body"].read() == small
# Without REPLACE, copying onto itself is refused, as S3 does.
try:
    s3.copy_object(Bucket=bucket, Key="small.txt", CopySource={"Bucket": bucket, "Key": "small.txt"})
    raise AssertionError("self-copy without REPLACE succeeded")
except ClientError as e:
    assert error_of(e)[:2] == ("InvalidRequest", 400), error_of(e)
# Copy to another key keeps the metadata (COPY directive).
s3.copy_object(Bucket=bucket, Key="copied.txt", CopySource={"Bucket": bucket, "Key": "small.txt"})
c = s3.head_object(Bucket=bucket, Key="copied.txt")
assert c["Metadata"] == {"colour": "blue", "shape": "round"}
assert s3.get_object(Bucket=bucket, Key="copied.txt")["Body"].read() == small
summary["copy_replace"] = True

# 6. Tagging.
s3.put_object_tagging(
    Bucket=bucket,
    Key="small.txt",
    Tagging={"TagSet": [{"Key": "project", "Value": "strata"}, {"Key": "tier", "Value": "hot"}]},
)
tags = s3.get_object_tagging(Bucket=bucket, Key="small.txt")["TagSet"]
assert sorted((t["Key"], t["Value"]) for t in tags) == [("project", "strata"), ("tier", "hot")], tags
assert s3.get_object(Bucket=bucket, Key="small.txt")["TagCount"] == 2
s3.put_object(Bucket=bucket, Key="tagged-at-put", Body=b"x", Tagging="a=1&b=two%20words")
tags = s3.get_object_tagging(Bucket=bucket, Key="tagged-at-put")["TagSet"]
assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "two words")], tags
s3.delete_object_tagging(Bucket=bucket, Key="small.txt")
assert s3.get_object_tagging(Bucket=bucket, Key="small.txt")["TagSet"] == []
summary["tagging"] = True

# 7. ListObjectsV2: pagination with a delimiter and encoding-type=url. Asked for explicitly,
#    botocore leaves decoding to the caller; the raw XML must carry encoded keys.
lb = bucket + "-list"
s3.create_bucket(Bucket=lb)
keys = ["dir1/a", "dir1/b", "dir2/c", "top 3+é", "top1", "top2", "zz/deep/er"]
for k in keys:
    s3.put_object(Bucket=lb, Key=k, Body=k.encode())
raw = []
s3.meta.events.register(
    "before-parse.s3.ListObjectsV2", lambda response_dict, **kw: raw.append(response_dict["body"])
)
contents, prefixes, pages, token = [], [], 0, None
while True:
    kw = {"Bucket": lb, "Delimiter": "/", "MaxKeys": 2, "EncodingType": "url"}
    if token:
        kw["ContinuationToken"] = token
    r = s3.list_objects_v2(**kw)
    pages += 1
    assert r["KeyCount"] <= 2, r
    assert r["EncodingType"] == "url", r
    contents += [urllib.parse.unquote_plus(o["Key"]) for o in r.get("Contents", [])]
    prefixes += [urllib.parse.unquote_plus(p["Prefix"]) for p in r.get("CommonPrefixes", [])]
    if not r["IsTruncated"]:
        break
    token = r["NextContinuationToken"]
    assert pages < 20
assert contents == ["top 3+é", "top1", "top2"], contents
assert prefixes == ["dir1/", "dir2/", "zz/"], prefixes
assert pages == 3, pages
xml = b"".join(raw).decode()
assert "<Key>top%203%2B%C3%A9</Key>" in xml, xml
assert "<EncodingType>url</EncodingType>" in xml, xml
# Prefix + delimiter one level down; StartAfter.
r = s3.list_objects_v2(Bucket=lb, Prefix="zz/", Delimiter="/")
assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["zz/deep/"]
r = s3.list_objects_v2(Bucket=lb, StartAfter="dir2/c")
assert [o["Key"] for o in r["Contents"]] == ["top 3+é", "top1", "top2", "zz/deep/er"]
# The paginator of boto3 (which asks for url encoding itself, and decodes) sees every key once.
seen_keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=lb, PaginationConfig={"PageSize": 3}):
    seen_keys += [o["Key"] for o in page.get("Contents", [])]
assert seen_keys == sorted(keys, key=lambda k: k.encode()), seen_keys
summary["list_pages"] = pages

# 8. Conditional GET: If-None-Match with the current ETag → 304; If-Match mismatch → 412.
etag = s3.head_object(Bucket=bucket, Key="sha.bin")["ETag"]
try:
    s3.get_object(Bucket=bucket, Key="sha.bin", IfNoneMatch=etag)
    raise AssertionError("If-None-Match with the current ETag returned the object")
except ClientError as e:
    assert error_of(e)[1] == 304, error_of(e)
assert s3.get_object(Bucket=bucket, Key="sha.bin", IfNoneMatch='"0000"')["Body"].read() == data(200_000, 3)
try:
    s3.get_object(Bucket=bucket, Key="sha.bin", IfMatch='"0000"')
    raise AssertionError("If-Match with a wrong ETag returned the object")
except ClientError as e:
    assert error_of(e)[:2] == ("PreconditionFailed", 412), error_of(e)
summary["conditional"] = True

# 9. Range GETs (also across the parts of a multipart object).
body = data(200_000, 3)
g = s3.get_object(Bucket=bucket, Key="sha.bin", Range="bytes=100-199")
assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
assert g["ContentRange"] == "bytes 100-199/200000", g["ContentRange"]
assert g["Body"].read() == body[100:200]
assert s3.get_object(Bucket=bucket, Key="sha.bin", Range="bytes=-10")["Body"].read() == body[-10:]
assert s3.get_object(Bucket=bucket, Key="sha.bin", Range="bytes=199990-")["Body"].read() == body[199990:]
a, b = 5 * MIB - 10, 10 * MIB + 10
g = s3.get_object(Bucket=bucket, Key="multi.bin", Range="bytes=%d-%d" % (a, b))
assert g["Body"].read() == whole[a : b + 1]
summary["range"] = True

# 10. Delete: single, multi, buckets.
s3.delete_object(Bucket=bucket, Key="copied.txt")
r = s3.delete_objects(
    Bucket=lb, Delete={"Objects": [{"Key": k} for k in keys] + [{"Key": "never-existed"}]}
)
assert sorted(d["Key"] for d in r["Deleted"]) == sorted(keys + ["never-existed"]), r
assert not r.get("Errors"), r
assert s3.list_objects_v2(Bucket=lb)["KeyCount"] == 0
s3.delete_bucket(Bucket=lb)
left = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in left], "Quiet": True})
s3.delete_bucket(Bucket=bucket)
assert bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
summary["deleted"] = len(left)

emit(summary)
