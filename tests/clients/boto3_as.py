"""Reads one object signed as the given user: boto3_as.py ACCESS SECRET BUCKET KEY.
Prints {"body": ...}."""

import json
import sys

import s3lib

access, secret, bucket, key = sys.argv[1:5]
c = s3lib.client(access, secret)
print(json.dumps({"body": c.get_object(Bucket=bucket, Key=key)["Body"].read().decode()}))
