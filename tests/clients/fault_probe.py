"""boto3 probes for tests/s3_faults.rs.

Usage: fault_probe.py put BUCKET KEY        one small PutObject; reports whether it worked
       fault_probe.py roundtrip BUCKET KEY  PutObject + managed multipart upload, read back"""

import io
import sys

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from s3lib import client, data, emit, error_of

MIB = 1024 * 1024
mode, bucket, key = sys.argv[1], sys.argv[2], sys.argv[3]
s3 = client()

if mode == "put":
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"probe")
        emit({"ok": True})
    except ClientError as e:
        code, status, msg = error_of(e)
        emit({"ok": False, "code": code, "status": status, "message": msg})
elif mode == "roundtrip":
    small = data(5000, 7)
    s3.put_object(Bucket=bucket, Key=key + "/small", Body=small)
    assert s3.get_object(Bucket=bucket, Key=key + "/small")["Body"].read() == small
    big = data(11 * MIB, 8)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_fileobj(io.BytesIO(big), bucket, key + "/multipart", Config=cfg)
    out = io.BytesIO()
    s3.download_fileobj(bucket, key + "/multipart", out, Config=cfg)
    assert out.getvalue() == big
    emit({"ok": True})
else:
    raise SystemExit("unknown mode " + mode)
