"""S3 protocol forms against the server under test (tests/s3_protocol.rs).

Usage: s3_protocol.py streaming | vhost DOMAIN
Prints, as JSON on the last line, what came back; the Rust test asserts.

- streaming: PUTs with aws-chunked bodies signed chunk by chunk
  (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, and -TRAILER with an x-amz-checksum-crc32 trailer),
  signed here from scratch after the AWS SigV4 documentation ("Transferring Payload in Multiple
  Chunks" and "... with trailing checksums"); honest uploads and tampered ones.
- vhost: boto3 with virtual-hosted-style addressing (`bucket.DOMAIN:PORT`), the names resolved
  to 127.0.0.1 inside this process (no DNS), next to a path-style client."""

import datetime
import hashlib
import hmac
import http.client
import socket
import sys
import urllib.parse

from botocore.config import Config
from botocore.exceptions import ClientError
import boto3

from s3lib import ACCESS, ENDPOINT, REGION, SECRET, client, crc32_b64, data, emit, error_of

KIB = 1024
EMPTY_SHA = hashlib.sha256(b"").hexdigest()
u = urllib.parse.urlsplit(ENDPOINT)
HOST, PORT = u.hostname, u.port


def sha256_hex(b):
    return hashlib.sha256(b).hexdigest()


def hmac_sha256(key, msg):
    return hmac.new(key, msg.encode() if isinstance(msg, str) else msg, hashlib.sha256).digest()


def signing_key(date):
    k = hmac_sha256(("AWS4" + SECRET).encode(), date)
    k = hmac_sha256(k, REGION)
    k = hmac_sha256(k, "s3")
    return hmac_sha256(k, "aws4_request")


def exists(s3, bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as e:
        assert error_of(e)[1] == 404, error_of(e)
        return False


# ---- streaming (aws-chunked, signed chunks) ----


def streaming_put(bucket, key, payload, chunk_size, trailer_crc=None, tamper=None):
    """PUTs `payload` as an aws-chunked body of `chunk_size` chunks, each signed with the chained
    chunk signature. `trailer_crc`: send it as an x-amz-checksum-crc32 trailer (signed).
    `tamper`: ("data", i) flips a byte of chunk i after signing it; ("sig", i) sends a wrong
    signature for chunk i (the final empty chunk is i = number of data chunks);
    ("trailer_sig", _) a wrong trailer signature; ("truncate", i) stops the body after chunk i-1
    (Content-Length telling what is sent); ("claim", d) declares d bytes more (or fewer) in
    x-amz-decoded-content-length than the chunks carry. Returns (status, S3 error code, body text)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    scope = "%s/%s/s3/aws4_request" % (date, REGION)
    key_bytes = signing_key(date)
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer_crc else "")
    path = "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/~"))

    hdrs = {
        "host": "%s:%d" % (HOST, PORT),
        "content-encoding": "aws-chunked",
        "x-amz-content-sha256": mode,
        "x-amz-date": amz_date,
        "x-amz-decoded-content-length": str(len(payload) + (tamper[1] if tamper and tamper[0] == "claim" else 0)),
    }
    if trailer_crc:
        hdrs["x-amz-trailer"] = "x-amz-checksum-crc32"
    signed = sorted(hdrs)
    canonical = "\n".join(
        [
            "PUT",
            path,
            "",
            "".join("%s:%s\n" % (k, hdrs[k]) for k in signed),
            ";".join(signed),
            mode,
        ]
    )
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, sha256_hex(canonical.encode())])
    seed = hmac_sha256(key_bytes, sts).hex()
    hdrs["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ACCESS,
        scope,
        ";".join(signed),
        seed,
    )

    chunks = [payload[i : i + chunk_size] for i in range(0, len(payload), chunk_size)]
    body = bytearray()
    prev = seed
    for i, c in enumerate(chunks + [b""]):
        if tamper and tamper[0] == "truncate" and tamper[1] == i:
            break
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY_SHA, sha256_hex(c)])
        sig = hmac_sha256(key_bytes, sts).hex()
        prev = sig
        sent, sent_sig = c, sig
        if tamper and tamper[0] == "data" and tamper[1] == i:
            b = bytearray(c)
            b[len(b) // 2] ^= 0x01
            sent = bytes(b)
        if tamper and tamper[0] == "sig" and tamper[1] == i:
            sent_sig = hmac_sha256(key_bytes, sts + "x").hex()
        body += b"%x;chunk-signature=%s\r\n" % (len(sent), sent_sig.encode())
        if c:
            body += sent + b"\r\n"
    else:
        if trailer_crc:
            trailer = "x-amz-checksum-crc32:%s" % trailer_crc
            sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev, sha256_hex((trailer + "\n").encode())])
            tsig = hmac_sha256(key_bytes, sts).hex()
            if tamper and tamper[0] == "trailer_sig":
                tsig = hmac_sha256(key_bytes, sts + "x").hex()
            body += ("%s\r\nx-amz-trailer-signature:%s\r\n\r\n" % (trailer, tsig)).encode()
        else:
            body += b"\r\n"

    conn = http.client.HTTPConnection(HOST, PORT, timeout=60)
    send = {k: v for k, v in hdrs.items() if k != "host"}
    send["Host"] = hdrs["host"]
    conn.request("PUT", path, body=bytes(body), headers=send)
    r = conn.getresponse()
    text = r.read().decode(errors="replace")
    conn.close()
    code = None
    if "<Code>" in text:
        code = text.split("<Code>", 1)[1].split("</Code>", 1)[0]
    return r.status, code, text


def streaming():
    s3 = client()
    bucket = "stream"
    s3.create_bucket(Bucket=bucket)
    chunk = 64 * KIB
    payload = data(3 * chunk + 1234, 7)
    out = {"size": len(payload)}

    status, code, text = streaming_put(bucket, "good", payload, chunk)
    got = s3.get_object(Bucket=bucket, Key="good")
    body = got["Body"].read()
    out["good"] = {
        "status": status,
        "code": code,
        "same": body == payload,
        "length": len(body),
        "etag_is_md5": got["ETag"].strip('"') == hashlib.md5(payload).hexdigest(),
        # aws-chunked is a transfer form: it must not be stored as the object's encoding.
        "content_encoding": got.get("ContentEncoding"),
    }

    # A tampered upload is refused and nothing is written.
    cases = {
        "data_middle": ("data", 1),
        "data_last": ("data", 3),
        "sig_first": ("sig", 0),
        "sig_middle": ("sig", 2),
        "sig_final_empty": ("sig", 4),
        "truncated": ("truncate", 2),
        "truncated_before_final": ("truncate", 4),
        "claims_more": ("claim", 100),
        "claims_less": ("claim", -100),
    }
    refused = {}
    for name, tamper in cases.items():
        status, code, text = streaming_put(bucket, name, payload, chunk, tamper=tamper)
        refused[name] = {"status": status, "code": code, "written": exists(s3, bucket, name)}
    out["refused"] = refused

    # An overwrite with a tampered chunk keeps the old object.
    s3.put_object(Bucket=bucket, Key="keep", Body=b"original")
    status, code, _ = streaming_put(bucket, "keep", payload, chunk, tamper=("data", 2))
    out["overwrite"] = {
        "status": status,
        "code": code,
        "body": s3.get_object(Bucket=bucket, Key="keep")["Body"].read().decode(errors="replace"),
    }

    # With a signed trailer carrying the CRC32.
    crc = crc32_b64(payload)
    status, code, text = streaming_put(bucket, "trailer-good", payload, chunk, trailer_crc=crc)
    head = s3.head_object(Bucket=bucket, Key="trailer-good", ChecksumMode="ENABLED")
    got = s3.get_object(Bucket=bucket, Key="trailer-good", ChecksumMode="ENABLED")
    body = got["Body"].read()
    out["trailer_good"] = {
        "status": status,
        "code": code,
        "sent_crc32": crc,
        "head_crc32": head.get("ChecksumCRC32"),
        "get_crc32": got.get("ChecksumCRC32"),
        "same": body == payload,
    }
    wrong = crc32_b64(payload + b"x")
    assert wrong != crc
    status, code, text = streaming_put(bucket, "trailer-bad-crc", payload, chunk, trailer_crc=wrong)
    out["trailer_bad_crc"] = {
        "status": status,
        "code": code,
        "written": exists(s3, bucket, "trailer-bad-crc"),
    }
    status, code, text = streaming_put(bucket, "trailer-bad-sig", payload, chunk, trailer_crc=crc, tamper=("trailer_sig", 0))
    out["trailer_bad_sig"] = {
        "status": status,
        "code": code,
        "written": exists(s3, bucket, "trailer-bad-sig"),
    }
    # The body ends after the last data chunk: no final chunk, no trailer.
    status, code, text = streaming_put(bucket, "trailer-missing", payload, chunk, trailer_crc=crc, tamper=("truncate", 4))
    out["trailer_missing"] = {
        "status": status,
        "code": code,
        "written": exists(s3, bucket, "trailer-missing"),
    }
    truncated = out["refused"]["truncated_before_final"]
    if truncated["written"]:
        truncated["same"] = s3.get_object(Bucket=bucket, Key="truncated_before_final")["Body"].read() == payload
    out["listed"] = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
    return out


# ---- virtual-hosted-style ----


OTHER_HOST = "not-the-domain.test"


def path_client(host):
    """A path-style client for http://HOST:PORT."""
    return boto3.client(
        "s3",
        endpoint_url="http://%s:%d" % (host, PORT),
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name=REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1, "mode": "standard"},
            proxies={},
        ),
    )


def vhost(domain):
    resolved = []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        # Names under the test domain are this server; everything else resolves as usual
        # (and nothing else is asked for).
        if isinstance(host, str) and (host in (domain, OTHER_HOST) or host.endswith("." + domain)):
            resolved.append(host)
            host = "127.0.0.1"
        return real_getaddrinfo(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo

    vs3 = boto3.client(
        "s3",
        endpoint_url="http://%s:%d" % (domain, PORT),
        aws_access_key_id=ACCESS,
        aws_secret_access_key=SECRET,
        region_name=REGION,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "virtual"},
            retries={"total_max_attempts": 1, "mode": "standard"},
            proxies={},
        ),
    )
    sent = []

    def record(request, **kwargs):
        host = request.headers.get("Host")
        if isinstance(host, bytes):
            host = host.decode()
        p = urllib.parse.urlsplit(request.url)
        sent.append({"host": host or p.netloc, "path": p.path, "query": p.query, "method": request.method})

    vs3.meta.events.register("before-send.s3", record)
    ps3 = client()  # path-style, http://127.0.0.1:PORT
    out = {}
    bucket = "vbucket"
    payload = data(300 * KIB + 17, 3)

    out["create"] = vs3.create_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"]
    out["put"] = vs3.put_object(Bucket=bucket, Key="dir/obj.bin", Body=payload)["ResponseMetadata"]["HTTPStatusCode"]
    out["get_same"] = vs3.get_object(Bucket=bucket, Key="dir/obj.bin")["Body"].read() == payload
    # Seen path-style too.
    out["path_get_same"] = ps3.get_object(Bucket=bucket, Key="dir/obj.bin")["Body"].read() == payload
    ps3.put_object(Bucket=bucket, Key="from-path", Body=b"path-style")
    out["vhost_get_path_put"] = vs3.get_object(Bucket=bucket, Key="from-path")["Body"].read().decode()
    out["list"] = sorted(o["Key"] for o in vs3.list_objects_v2(Bucket=bucket).get("Contents", []))
    lv1 = vs3.list_objects(Bucket=bucket, Prefix="dir/")
    out["list_v1_prefix"] = sorted(o["Key"] for o in lv1.get("Contents", []))
    out["head_bucket"] = vs3.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"]
    out["path_buckets"] = sorted(b["Name"] for b in ps3.list_buckets()["Buckets"])
    try:
        vs3.get_object(Bucket="no-such-vbucket", Key="dir/obj.bin")
        out["missing_bucket"] = None
    except ClientError as e:
        code, status, _ = error_of(e)
        out["missing_bucket"] = {"code": code, "status": status}
    out["delete"] = vs3.delete_object(Bucket=bucket, Key="dir/obj.bin")["ResponseMetadata"]["HTTPStatusCode"]
    out["after_delete_exists"] = exists(ps3, bucket, "dir/obj.bin")
    out["list_after_delete"] = sorted(o["Key"] for o in vs3.list_objects_v2(Bucket=bucket).get("Contents", []))
    # The path-style object stays until deleted, then the bucket goes, virtual-hosted-style.
    vs3.delete_object(Bucket=bucket, Key="from-path")
    # Keep one object in a second, path-style bucket so that the drives can be checked.
    ps3.create_bucket(Bucket="pbucket")
    ps3.put_object(Bucket="pbucket", Key="k", Body=b"kept")
    out["pbucket_via_vhost"] = vs3.get_object(Bucket="pbucket", Key="k")["Body"].read().decode()
    # Path-style with a host name: the domain itself, and a name outside it (not a bucket).
    for name, host in [("domain_path", domain), ("other_host_path", OTHER_HOST)]:
        c = path_client(host)
        c.put_object(Bucket="pbucket", Key=name, Body=name.encode())
        out[name] = {
            "buckets": sorted(b["Name"] for b in c.list_buckets()["Buckets"]),
            "get": c.get_object(Bucket="pbucket", Key=name)["Body"].read().decode(),
            "list": sorted(o["Key"] for o in c.list_objects_v2(Bucket="pbucket").get("Contents", [])),
        }
        c.delete_object(Bucket="pbucket", Key=name)
    out["delete_bucket"] = vs3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"]
    out["buckets_after"] = sorted(b["Name"] for b in ps3.list_buckets()["Buckets"])
    out["sent"] = sent
    out["resolved"] = sorted(set(resolved))
    return out


case = sys.argv[1]
if case == "streaming":
    emit(streaming())
elif case == "vhost":
    emit(vhost(sys.argv[2]))
else:
    raise SystemExit("unknown case " + case)
