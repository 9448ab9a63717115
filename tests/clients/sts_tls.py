"""AssumeRoleWithWebIdentity against a provider that serves its keys over https to bearers of a
token only (as a Kubernetes API server does): the server under test fetches them with
--oidc-ca-file and --oidc-token-file, or cannot.

Usage: sts_tls.py PROVIDER_WORKDIR
Prints one JSON document: what each step answered."""

import sys
import time

import boto3
import botocore
from botocore.config import Config

import oidc_provider
import s3lib

step = s3lib.Steps()
issuer = oidc_provider.Issuer(sys.argv[1])
SA = "system:serviceaccount:apps:uploader"

root = s3lib.admin()
s3 = s3lib.client()
try:
    s3.create_bucket(Bucket="shared")
    root.policy_add(SA, policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": ["arn:aws:s3:::shared/*"]}]})
except Exception:
    pass  # set up already, on this server

sts = boto3.client(
    "sts", endpoint_url=s3lib.ENDPOINT, region_name=s3lib.REGION,
    config=Config(signature_version=botocore.UNSIGNED, retries={"total_max_attempts": 1}),
)
now = int(time.time())
token = issuer.mint({"iss": issuer.url, "aud": ["strata"], "sub": SA, "exp": now + 600, "iat": now, "nbf": now})


def exchange():
    c = sts.assume_role_with_web_identity(
        RoleArn="arn:minio:iam:::role/ignored", RoleSessionName="pod", WebIdentityToken=token)["Credentials"]
    app = s3lib.client(c["AccessKeyId"], c["SecretAccessKey"], token=c["SessionToken"])
    app.put_object(Bucket="shared", Key="from-pod.txt", Body=b"over tls")
    return app.get_object(Bucket="shared", Key="from-pod.txt")["Body"].read().decode()


step("exchange", exchange)
step.emit()
