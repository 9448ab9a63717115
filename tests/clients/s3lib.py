"""Shared helpers of the boto3 client scripts: a client for the server under test, taken from
S3_ENDPOINT / S3_ACCESS_KEY / S3_SECRET_KEY (set by tests/s3_support), and small utilities.
The scripts print one JSON document on their last line of output for the Rust test to check."""

import base64
import hashlib
import http.client
import json
import os
import sys
import urllib.parse
import zlib

import boto3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ENDPOINT = os.environ["S3_ENDPOINT"]
ACCESS = os.environ["S3_ACCESS_KEY"]
SECRET = os.environ["S3_SECRET_KEY"]
REGION = "us-east-1"

assert ENDPOINT.startswith("http://127.0.0.1:"), ENDPOINT


def client(access=ACCESS, secret=SECRET, token=None, **config):
    # SigV4 also for presigned URLs (botocore's default there is SigV2).
    config.setdefault("signature_version", "s3v4")
    cfg = Config(
        s3={"addressing_style": "path"},
        # No retries: a request that fails once is a failure the test must see.
        retries={"total_max_attempts": 1, "mode": "standard"},
        proxies={},
        **config,
    )
    return boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=REGION,
        config=cfg,
    )


def error_of(exc):
    """(S3 error code, HTTP status, message) of a botocore ClientError."""
    r = exc.response
    return (
        r.get("Error", {}).get("Code"),
        r.get("ResponseMetadata", {}).get("HTTPStatusCode"),
        r.get("Error", {}).get("Message"),
    )


def crc32_b64(data):
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def data(n, seed=1):
    """Deterministic bytes (not all zeros)."""
    out = bytearray()
    block = bytes((i * 131 + seed * 7 + (i >> 8)) & 0xFF for i in range(4096))
    while len(out) < n:
        out += block
        block = block[1:] + block[:1]
    return bytes(out[:n])


def emit(doc):
    print(json.dumps(doc, sort_keys=True))
    sys.stdout.flush()


def force_trailer_checksums(c):
    """Makes botocore send its default CRC32 in an aws-chunked trailer
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER), as it does over HTTPS, although the endpoint is
    plain HTTP (where botocore otherwise puts the checksum in a header)."""
    seen = []

    def to_trailer(params, **kwargs):
        alg = params.get("context", {}).get("checksum", {}).get("request_algorithm")
        if isinstance(alg, dict) and alg.get("in") == "header":
            alg["in"] = "trailer"

    def record(request, **kwargs):
        def header(name):
            v = request.headers.get(name)
            return v.decode() if isinstance(v, bytes) else v

        seen.append(
            {
                "content-sha256": header("X-Amz-Content-SHA256"),
                "content-encoding": header("Content-Encoding"),
                "trailer": header("X-Amz-Trailer"),
            }
        )

    c.meta.events.register("before-call.s3.PutObject", to_trailer)
    c.meta.events.register("before-call.s3.UploadPart", to_trailer)
    c.meta.events.register("before-send.s3.PutObject", record)
    c.meta.events.register("before-send.s3.UploadPart", record)
    return seen


def record(out, name, f):
    """out[name] = {"ok": f()}, or the S3 error it raised: {"code", "status"}."""
    from botocore.exceptions import ClientError

    try:
        out[name] = {"ok": f()}
    except ClientError as e:
        code, status, _ = error_of(e)
        out[name] = {"code": code, "status": status}


def anon(method, path, body=None, headers=None):
    """An unsigned request, as curl sends it: {"status", "body", "code" (S3 error code or None)}."""
    status, code, text = raw(method, path, body if body is not None else b"", headers)
    return {"status": status, "body": text, "code": code if status >= 300 else None}


def raw(method, path, body=b"", headers=None):
    """A plain HTTP request; returns (status, S3 error code or None, body text)."""
    u = urllib.parse.urlsplit(ENDPOINT)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    text = r.read().decode(errors="replace")
    conn.close()
    code = None
    if "<Code>" in text:
        code = text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    return r.status, code, text


class _UnsignedPayload(S3SigV4Auth):
    """SigV4 with x-amz-content-sha256: UNSIGNED-PAYLOAD (botocore signs payloads over http)."""

    def _should_sha256_sign_payload(self, request):
        return False


def signed(method, path, body_signed, body_sent, extra_headers=None, sign_payload=True):
    """SigV4-signs a request for `body_signed` (x-amz-content-sha256 is its hash, or
    UNSIGNED-PAYLOAD when `sign_payload` is false) but sends `body_sent`: the signature is
    valid, the payload may not be what was signed. The query of `path` is kept."""
    url = ENDPOINT + path
    req = AWSRequest(method=method, url=url, data=body_signed, headers=extra_headers or {})
    auth = S3SigV4Auth if sign_payload else _UnsignedPayload
    auth(Credentials(ACCESS, SECRET), "s3", "us-east-1").add_auth(req)
    prepared = req.prepare()
    # Content-Length follows the body actually sent (http.client sets it).
    headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
    if sign_payload:
        assert headers["X-Amz-Content-SHA256"] == hashlib.sha256(body_signed).hexdigest()
    u = urllib.parse.urlsplit(prepared.url)
    return raw(method, u.path + ("?" + u.query if u.query else ""), body_sent, headers)


def admin(access=ACCESS, secret=SECRET, token=None):
    """minio-py's MinioAdmin for the server under test, signed with these credentials (and
    session token: temporary credentials)."""
    from minio import MinioAdmin
    from minio.credentials import StaticProvider

    host = urllib.parse.urlsplit(ENDPOINT).netloc
    return MinioAdmin(endpoint=host, credentials=StaticProvider(access, secret, token), secure=False)


class Steps:
    """Records what each step answered: {"ok": value} (JSON text decoded), or the failure —
    {"status", "body"} from the admin API, {"code", "status"} from S3."""

    def __init__(self):
        self.out = {}

    def __call__(self, name, f):
        from botocore.exceptions import ClientError
        from minio.error import MinioAdminException

        try:
            r = f()
            if isinstance(r, str) and r:
                try:
                    r = json.loads(r)
                except ValueError:
                    pass
            self.out[name] = {"ok": r}
        except MinioAdminException as e:
            self.out[name] = {"status": int(e._code), "body": e._body}
        except ClientError as e:
            code, status, _ = error_of(e)
            self.out[name] = {"code": code, "status": status}

    def emit(self):
        print(json.dumps(self.out, default=repr))
