"""Hostile and unusual object keys (tests/s3_errors.rs): every key round-trips as itself, is
listed as itself, and 1025-byte keys are refused with KeyTooLongError. The Rust test then
checks that nothing was written outside the bucket's folder on any drive.

Usage: keys.py BUCKET TAG   (TAG makes the would-be escape targets unique)"""

import sys

from botocore.exceptions import ClientError

from s3lib import client, emit, error_of, signed

bucket, tag = sys.argv[1], sys.argv[2]
s3 = client()
s3.create_bucket(Bucket=bucket)

up = "../" * 12
keys = [
    "../escape-" + tag,
    up + "tmp/strata-escape-" + tag,
    "a/../../b-" + tag,
    "a/../../../../../../../../../tmp/strata-escape2-" + tag,
    "..",
    ".",
    "./x",
    "a/./b",
    "a//b",
    "//double-lead",
    "/lead",
    "/" + up + "tmp/strata-escape3-" + tag,
    "trailing/",
    "%2e%2e/x",
    "%meta",
    "a/%meta",
    "%d00000000-0000-0000-0000-000000000000/part.1",
    "..\\..\\windows-" + tag,
    "ünï/cödé/日本語/🙂",
    "spaces and +plus+ and ?query=1&x#frag",
    "s" * 300 + "/long-segment",
    "k" * 1024,
    ("../" * 341) + "z",  # 1024 bytes of traversal
    "é" * 512,  # 1024 bytes, 512 characters
]
for k in keys:
    assert len(k.encode()) <= 1024, (k, len(k.encode()))

for k in keys:
    s3.put_object(Bucket=bucket, Key=k, Body=k.encode())

# Signed requests whose request target holds dot segments (sent as they are, where a client
# library or curl might normalise them away): the server takes them as literal keys inside
# the bucket (or refuses them), never as paths.
raw_status = {}
for k in ["../raw-escape-" + tag, "x/" + up + "tmp/strata-raw-escape-" + tag]:
    status, code, text = signed("PUT", "/%s/%s" % (bucket, k), k.encode(), k.encode())
    raw_status["PUT " + k] = status
    if status == 200:
        keys.append(k)
for path in ["/%s/%setc/passwd" % (bucket, up), "/%s/%%2e%%2e/%%2e%%2e/etc/passwd" % bucket]:
    status, code, text = signed("GET", path, b"", b"")
    assert "root:" not in text, text
    raw_status["GET " + path] = status

# Each key reads back as itself.
for k in keys:
    got = s3.get_object(Bucket=bucket, Key=k)["Body"].read()
    assert got == k.encode(), (k, got[:80])

# The listing shows exactly these keys, in UTF-8 byte order.
listed = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
    listed += [o["Key"] for o in page.get("Contents", [])]
assert listed == sorted(keys, key=lambda k: k.encode()), listed

# Too long: 1025 bytes (ASCII, and multi-byte characters).
too_long = {}
for name, k in [("ascii", "k" * 1025), ("utf8", "é" * 512 + "x")]:
    try:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
        raise AssertionError("a 1025-byte key was accepted")
    except ClientError as e:
        code, status, _ = error_of(e)
        too_long[name] = {"code": code, "status": status}

emit({"keys": len(keys), "listed": len(listed), "too_long": too_long, "raw_status": raw_status})
