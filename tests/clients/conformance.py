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


CASES = {f.__name__: f for f in [content_encoding, tagging_count]}

emit(CASES[sys.argv[1]]())
