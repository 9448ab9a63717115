"""Bucket quotas with minio-py's MinioAdmin (bucket_quota_set/get/clear), enforced on the
writes boto3 makes. Prints one JSON document: what each step answered."""

import time

import s3lib

step = s3lib.Steps()
out = step.out
root = s3lib.admin()
s3 = s3lib.client()


def put(key, n, bucket="quotaed"):
    return s3.put_object(Bucket=bucket, Key=key, Body=b"x" * n)["ResponseMetadata"]["HTTPStatusCode"]


s3.create_bucket(Bucket="quotaed")
s3.create_bucket(Bucket="free")
s3.put_object(Bucket="free", Key="src", Body=b"y" * 60_000)
step("get_none", lambda: root.bucket_quota_get("quotaed"))
step("set", lambda: root.bucket_quota_set("quotaed", 100_000))
step("set_missing", lambda: root.bucket_quota_set("no-such-bucket", 100_000))
step("get", lambda: root.bucket_quota_get("quotaed"))
step("put1", lambda: put("one", 60_000))
step("put2", lambda: put("two", 60_000))
step("copy", lambda: s3.copy_object(Bucket="quotaed", Key="copied", CopySource={"Bucket": "free", "Key": "src"}))


def part():
    up = s3.create_multipart_upload(Bucket="quotaed", Key="mp")["UploadId"]
    try:
        return s3.upload_part(Bucket="quotaed", Key="mp", UploadId=up, PartNumber=1, Body=b"z" * 60_000)
    finally:
        s3.abort_multipart_upload(Bucket="quotaed", Key="mp", UploadId=up)


step("part", part)
step("small", lambda: put("small", 30_000))
step("other_bucket", lambda: put("big", 200_000, bucket="free"))
# Space freed is seen once the usage counter has counted it again.
s3.delete_object(Bucket="quotaed", Key="one")
s3.delete_object(Bucket="quotaed", Key="small")
deadline = time.time() + 20
while True:
    step("after_delete", lambda: put("three", 60_000))
    if "ok" in out["after_delete"] or time.time() > deadline:
        break
    time.sleep(0.5)
step("clear", lambda: root.bucket_quota_clear("quotaed"))
step("get_cleared", lambda: root.bucket_quota_get("quotaed"))
step("unlimited", lambda: put("huge", 300_000))
step.emit()
