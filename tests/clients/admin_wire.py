"""The admin API's edges, with raw requests: only a signed payload changes anything, SigV2,
unsigned and anonymous calls are refused, unknown calls answer 501, later API versions 426.
Prints one JSON document: what each step answered."""

import json

from botocore.auth import HmacV1Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import s3lib

out = {}
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}]}).encode()
READ_ONE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::one/*"]}]}).encode()
ADD = "/minio/admin/v3/add-canned-policy?name="


def answer(r):
    status, _, text = r
    return {"status": status, "body": text}


# Signed for one policy, another one sent: refused, nothing stored.
out["swapped"] = answer(s3lib.signed("PUT", ADD + "swapped", READ_ONE, ALLOW_ALL))
# The payload not signed at all.
out["unsigned_payload"] = answer(s3lib.signed("PUT", ADD + "unsigned", ALLOW_ALL, ALLOW_ALL, sign_payload=False))
# SigV2 covers no payload hash.
req = AWSRequest(method="PUT", url=s3lib.ENDPOINT + ADD + "v2", data=ALLOW_ALL)
HmacV1Auth(Credentials(s3lib.ACCESS, s3lib.SECRET)).add_auth(req)
p = req.prepare()
out["sigv2"] = answer(s3lib.raw("PUT", ADD + "v2", ALLOW_ALL, dict(p.headers.items())))
out["anonymous"] = answer(s3lib.raw("GET", "/minio/admin/v3/list-users"))
out["honest"] = answer(s3lib.signed("PUT", ADD + "honest", READ_ONE, READ_ONE))
out["unknown_call"] = answer(s3lib.signed("GET", "/minio/admin/v3/no-such-call", b"", b""))
out["v4"] = answer(s3lib.signed("GET", "/minio/admin/v4/info", b"", b""))
out["policies"] = sorted(json.loads(s3lib.admin().policy_list()).keys())
print(json.dumps(out))
