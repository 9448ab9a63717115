"""Prints a SigV4 presigned URL made by boto3 (tests/s3_clients.rs, tests/s3_faults.rs).

Usage: presign.py get|put BUCKET KEY [EXPIRES_SECONDS]"""

import sys

from s3lib import client

method, bucket, key = sys.argv[1], sys.argv[2], sys.argv[3]
expires = int(sys.argv[4]) if len(sys.argv) > 4 else 300
op = {"get": "get_object", "put": "put_object"}[method]
print(client().generate_presigned_url(op, Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires))
