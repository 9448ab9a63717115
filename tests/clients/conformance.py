"""S3 behaviour real clients rely on, against the server under test (tests/s3_conformance.rs).

Usage: conformance.py CASE
Each case makes its requests with boto3 (or raw HTTP where boto3 cannot say it) and prints, as
JSON on the last line, what came back; the Rust test asserts."""

import sys

from botocore.exceptions import ClientError

from s3lib import client, emit, error_of, force_trailer_checksums, signed

s3 = client()


def error(call, **kwargs):
    """Runs a boto3 call that must fail; returns its error as a dict."""
    try:
        call(**kwargs)
    except ClientError as e:
        code, status, msg = error_of(e)
        return {"code": code, "status": status, "message": msg}
    return {"code": None, "status": 200, "message": "the request succeeded"}


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


CASES = {f.__name__: f for f in [content_encoding]}

emit(CASES[sys.argv[1]]())
