"""Bucket policies, anonymous access and PublicAccessBlock, driven with boto3 (signed as the
root user) and plain unsigned HTTP (what `curl` sends). Usage: access.py PHASE BUCKET.
Prints one JSON document: what each step answered."""

import json
import sys

import s3lib

phase, bucket = sys.argv[1], sys.argv[2]
s3 = s3lib.client()
out = {}


anon = s3lib.anon


def call(name, f):
    s3lib.record(out, name, f)


PUBLIC = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{bucket}/public/*"],
        }
    ],
}

if phase == "setup":
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/hello.txt", Body=b"hello world")
    s3.put_object(Bucket=bucket, Key="private/secret.txt", Body=b"secret")
    out["before"] = anon("GET", f"/{bucket}/public/hello.txt")
    call("get_none", lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"])
    call("status_none", lambda: s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"])
    call("malformed", lambda: s3.put_bucket_policy(Bucket=bucket, Policy="{not json"))
    other = dict(PUBLIC, Statement=[dict(PUBLIC["Statement"][0], Resource=["arn:aws:s3:::other/*"])])
    call("other_bucket", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(other)))
    call("missing_bucket", lambda: s3.put_bucket_policy(Bucket="no-such-bucket-x", Policy=json.dumps(PUBLIC)))
    call("put", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(PUBLIC))["ResponseMetadata"]["HTTPStatusCode"])

if phase in ("setup", "check"):
    call("get", lambda: json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]))
    call("status", lambda: s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"])
    out["public_get"] = anon("GET", f"/{bucket}/public/hello.txt")
    out["public_head"] = anon("HEAD", f"/{bucket}/public/hello.txt")
    out["private_get"] = anon("GET", f"/{bucket}/private/secret.txt")
    out["list"] = anon("GET", f"/{bucket}?list-type=2")
    out["anon_put"] = anon("PUT", f"/{bucket}/public/new.txt", body=b"x")
    out["delete"] = anon("DELETE", f"/{bucket}/public/hello.txt")
    out["list_buckets"] = anon("GET", "/")
    out["other_create"] = anon("PUT", "/anon-made-bucket")

if phase == "block":
    call("restrict", lambda: s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={"RestrictPublicBuckets": True, "BlockPublicPolicy": True},
    ))
    call("get_block", lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"])
    out["restricted_get"] = anon("GET", f"/{bucket}/public/hello.txt")
    call("blocked_put", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(PUBLIC)))
    call("unblock", lambda: s3.delete_public_access_block(Bucket=bucket))
    call("get_block_none", lambda: s3.get_public_access_block(Bucket=bucket))
    out["unrestricted_get"] = anon("GET", f"/{bucket}/public/hello.txt")

if phase == "recreate":
    call("delete_policy", lambda: s3.delete_bucket_policy(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"])
    out["after_delete"] = anon("GET", f"/{bucket}/public/hello.txt")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(PUBLIC))
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=o["Key"])
    s3.delete_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="public/hello.txt", Body=b"new bucket")
    call("get_after_recreate", lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"])
    out["anon_after_recreate"] = anon("GET", f"/{bucket}/public/hello.txt")

print(json.dumps(out))
