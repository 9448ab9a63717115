"""Reads one object signed as the given user, failure included:
get_as.py ACCESS SECRET BUCKET KEY. Prints {"body": ...} or {"code": ..., "status": ...}."""

import json
import sys

from botocore.exceptions import ClientError

import s3lib

access, secret, bucket, key = sys.argv[1:5]
try:
    body = s3lib.client(access, secret).get_object(Bucket=bucket, Key=key)["Body"].read()
    print(json.dumps({"body": body.decode()}))
except ClientError as e:
    code, status, _ = s3lib.error_of(e)
    print(json.dumps({"code": code, "status": status}))
