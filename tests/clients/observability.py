"""Clients of the metrics and error documents of the server under test (tests/s3_observability.rs).

Usage: observability.py CASE [ARGS]
Prints, as JSON on the last line, what came back; the Rust test asserts.

- tokens: scrape tokens made here from scratch (HMAC from the standard library, as
  `mc admin prometheus generate` makes them: HS512, sub, iss=prometheus, exp), good and bad.
- parse FILE: a metrics page parsed by prometheus_client's parser (Prometheus' text format).
- traffic chunked|bad_digest|early: one upload; what it sent on the wire.
- labels: requests for operations the server does not implement, an unknown route and a bad
  signature.
- errors: error documents as boto3 reads them, and as sent beside their headers.
- shadow DOMAIN: a bucket named `metrics`, a key `minio/health/live` read virtual-hosted-style,
  a bucket named `minio`."""

import base64
import hashlib
import hmac
import http.client
import io
import json
import socket
import sys
import time
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum

from s3lib import ACCESS, ENDPOINT, SECRET, client, emit, error_of, force_trailer_checksums, raw, signed

u = urllib.parse.urlsplit(ENDPOINT)
HOST, PORT = u.hostname, u.port


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(claims, secret=SECRET, alg="HS512"):
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    signed_part = ("%s.%s" % (header, payload)).encode()
    if alg == "none":
        return "%s.%s." % (header, payload)
    sig = hmac.new(secret.encode(), signed_part, digest[alg]).digest()
    return "%s.%s" % (signed_part.decode(), b64url(sig))


def tokens():
    now = int(time.time())
    century = now + 100 * 365 * 24 * 3600
    mc = {"exp": century, "sub": ACCESS, "iss": "prometheus"}
    return {
        "good": {
            "mc": jwt(mc),
            "hs256_access_key_claim": jwt({"accessKey": ACCESS, "iss": "prometheus"}, alg="HS256"),
            "hs384": jwt(mc, alg="HS384"),
        },
        "bad": {
            "expired": jwt({"exp": now - 60, "sub": ACCESS, "iss": "prometheus"}),
            "foreign_key": jwt(mc, secret=SECRET + "-not-ours"),
            "other_access_key": jwt({"exp": century, "sub": "someone-else", "iss": "prometheus"}),
            "issuer_not_prometheus": jwt({"exp": century, "sub": ACCESS, "iss": "console"}),
            "no_issuer": jwt({"exp": century, "sub": ACCESS}),
            "not_yet_valid": jwt({"nbf": now + 3600, "sub": ACCESS, "iss": "prometheus"}),
            "alg_none": jwt(mc, alg="none"),
            "tampered_claims": jwt(mc)[:-6] + "AAAAAA",
            "garbage": "not-a-token",
        },
    }


def parse(path):
    from prometheus_client.parser import text_string_to_metric_families

    with open(path) as f:
        text = f.read()
    families = {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = {
            "type": fam.type,
            "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in fam.samples],
        }
    return families


def traffic(kind):
    """One upload; returns the bytes of its body that went on the wire and its status."""
    s3 = client()
    try:
        s3.create_bucket(Bucket="traffic")
    except ClientError as e:
        assert error_of(e)[0] == "BucketAlreadyOwnedByYou", error_of(e)
    payload = bytes(range(256)) * 400 + b"tail"  # 102404 bytes
    if kind == "chunked":
        # botocore's aws-chunked body with a CRC32 trailer (what it sends over HTTPS): the
        # bytes on the wire are the payload plus the chunk framing and the trailer.
        force_trailer_checksums(s3)
        s3.put_object(Bucket="traffic", Key="chunked", Body=payload)
        wire = AwsChunkedWrapper(
            io.BytesIO(payload), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32"
        ).read()
        return {"sent": len(wire), "payload": len(payload), "status": 200}
    if kind == "bad_digest":
        # Signed, and sent whole, with a Content-MD5 of other bytes: refused after reading it.
        md5 = base64.b64encode(hashlib.md5(b"other bytes").digest()).decode()
        status, code, _ = signed("PUT", "/traffic/bad", payload, payload, {"Content-MD5": md5})
        return {"sent": len(payload), "status": status, "code": code}
    if kind == "early":
        # Declares 1 MiB and waits for 100 Continue, with a wrong signature: refused before any
        # byte of the body is sent.
        head = (
            "PUT /traffic/early HTTP/1.1\r\nHost: %s:%d\r\nContent-Length: 1048576\r\n"
            "Expect: 100-continue\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
            "x-amz-date: %s\r\nAuthorization: AWS4-HMAC-SHA256 Credential=%s/%s/us-east-1/s3/"
            "aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s\r\n\r\n"
        ) % (HOST, PORT, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), ACCESS,
             time.strftime("%Y%m%d", time.gmtime()), "0" * 64)
        with socket.create_connection((HOST, PORT), timeout=30) as sock:
            sock.sendall(head.encode())
            answer = sock.recv(65536).decode(errors="replace")
        return {"sent": 0, "status": int(answer.split(" ", 2)[1])}
    raise AssertionError(kind)


def labels():
    s3 = client()
    s3.create_bucket(Bucket="labels")
    out = {}
    try:
        s3.put_bucket_versioning(Bucket="labels", VersioningConfiguration={"Status": "Enabled"})
        out["put_bucket_versioning"] = 200
    except ClientError as e:
        out["put_bucket_versioning"] = error_of(e)[1]
    status, code, _ = raw("PATCH", "/labels")
    out["unknown_route"] = [status, code]
    try:
        client(secret=SECRET + "x").list_buckets()
        out["bad_signature"] = 200
    except ClientError as e:
        out["bad_signature"] = error_of(e)[1]
    return out


def exchange(method, path, body=b"", sign=True, secret=SECRET):
    """One request (SigV4-signed unless `sign` is false); its status, headers and body."""
    headers = {}
    if sign:
        req = AWSRequest(method=method, url=ENDPOINT + path, data=body)
        S3SigV4Auth(Credentials(ACCESS, secret), "s3", "us-east-1").add_auth(req)
        headers = dict(req.prepare().headers.items())
    conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    text = r.read().decode(errors="replace")
    got = {k.lower(): v for k, v in r.getheaders()}
    conn.close()
    return {
        "status": r.status,
        "request_id": got.get("x-amz-request-id"),
        "host_id": got.get("x-amz-id-2"),
        "text": text,
    }


def errors():
    """Error documents: as boto3 reads them (code, message, resource), and as sent (every
    element, beside the x-amz-request-id and x-amz-id-2 headers)."""
    s3 = client()
    seen = {}

    def refused(name, call, **kwargs):
        try:
            call(**kwargs)
        except ClientError as e:
            r = e.response
            seen[name] = {
                "code": r["Error"].get("Code"),
                "message": r["Error"].get("Message"),
                "resource": r["Error"].get("Resource"),
                "status": r["ResponseMetadata"]["HTTPStatusCode"],
            }
            return
        raise AssertionError("succeeded: %s" % name)

    refused("invalid_bucket_name", s3.create_bucket, Bucket="Invalid_Name")
    refused("reserved_bucket", s3.create_bucket, Bucket="minio")
    refused("no_such_bucket", s3.list_objects_v2, Bucket="no-such-bucket")
    s3.create_bucket(Bucket="docs")
    refused("no_such_key", s3.get_object, Bucket="docs", Key="a/missing & <odd>")
    refused("not_implemented", s3.put_bucket_versioning, Bucket="docs",
            VersioningConfiguration={"Status": "Enabled"})
    sent = {
        # Written by the protocol layer: path parsing, signature, routing.
        "invalid_bucket_name": exchange("PUT", "/Invalid_Name"),
        "bad_signature": exchange("GET", "/", secret=SECRET + "x"),
        "unknown_route": exchange("PATCH", "/docs", sign=False),
        # Written by the access hook and the operations.
        "anonymous": exchange("GET", "/docs/a/missing", sign=False),
        "no_such_key": exchange("GET", "/docs/a/missing%20%26%20%3Codd%3E"),
        "head_no_such_key": exchange("HEAD", "/docs/nothing"),
    }
    return {"boto3": seen, "sent": sent}


def shadow(domain):
    """Buckets and keys named like the server's endpoints: a bucket `metrics` path-style, and a
    key `minio/health/live` read virtual-hosted-style (Host: BUCKET.DOMAIN:PORT)."""
    s3 = client()
    out = {}
    s3.create_bucket(Bucket="metrics")
    s3.put_object(Bucket="metrics", Key="cpu", Body=b"a bucket named metrics")
    out["metrics_listed"] = [o["Key"] for o in s3.list_objects_v2(Bucket="metrics").get("Contents", [])]
    out["metrics_object"] = s3.get_object(Bucket="metrics", Key="cpu")["Body"].read().decode()
    s3.create_bucket(Bucket="vhost-bkt")
    s3.put_object(Bucket="vhost-bkt", Key="minio/health/live", Body=b"an object, not the endpoint")
    url = "http://vhost-bkt.%s:%d/minio/health/live" % (domain, PORT)
    req = AWSRequest(method="GET", url=url)
    S3SigV4Auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(req)
    headers = dict(req.prepare().headers.items())
    headers["Host"] = "vhost-bkt.%s:%d" % (domain, PORT)
    conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
    conn.request("GET", "/minio/health/live", headers=headers)
    r = conn.getresponse()
    out["vhost_key"] = [r.status, r.read().decode(errors="replace")]
    conn.close()
    try:
        s3.create_bucket(Bucket="minio")
        out["minio_bucket"] = "created"
    except ClientError as e:
        out["minio_bucket"] = error_of(e)[0]
    return out


case = sys.argv[1]
if case == "tokens":
    emit(tokens())
elif case == "parse":
    emit(parse(sys.argv[2]))
elif case == "traffic":
    emit(traffic(sys.argv[2]))
elif case == "labels":
    emit(labels())
elif case == "errors":
    emit(errors())
elif case == "shadow":
    emit(shadow(sys.argv[2]))
else:
    raise SystemExit("unknown case " + case)
