"""`s3:ExistingObjectTag/…` in bucket and identity policies: a Deny on an object's tag keeps
its reads, copies and tag changes from anyone it applies to (root is exempt, as in MinIO), and
objects without the tag stay readable. Prints one JSON document: what each step answered."""

import json

import s3lib

step = s3lib.Steps()
out = step.out

root = s3lib.admin()
s3 = s3lib.client()
for b in ["tagged", "mine"]:
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="secret.txt", Body=b"classified", Tagging="cls=secret")
    s3.put_object(Bucket=b, Key="open.txt", Body=b"hello", Tagging="cls=public")
    s3.put_object(Bucket=b, Key="plain.txt", Body=b"untagged")

SECRET = {"StringEquals": {"s3:ExistingObjectTag/cls": "secret"}}
OBJECT_READS = ["s3:GetObject", "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:DeleteObjectTagging"]

# A bucket policy: bob may do anything in "tagged" but touch a secret object.
s3.put_bucket_policy(
    Bucket="tagged",
    Policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": ["bob"]}, "Action": ["s3:*"],
                 "Resource": ["arn:aws:s3:::tagged", "arn:aws:s3:::tagged/*"]},
                {"Effect": "Deny", "Principal": "*", "Action": OBJECT_READS,
                 "Resource": ["arn:aws:s3:::tagged/*"], "Condition": SECRET},
            ],
        }
    ),
)
# An identity policy: carol may do anything in "mine" and "tagged" but read a secret object.
step("carol", lambda: root.user_add("carol", "carol-secret-1"))
step("bob", lambda: root.user_add("bob", "bob-secret-12"))
step(
    "policy",
    lambda: root.policy_add(
        "no-secrets",
        policy={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]},
                {"Effect": "Deny", "Action": OBJECT_READS, "Resource": ["arn:aws:s3:::*"], "Condition": SECRET},
            ],
        },
    ),
)
step("attach", lambda: root.attach_policy(["no-secrets"], user="carol"))

for who, secret, bucket in [("bob", "bob-secret-12", "tagged"), ("carol", "carol-secret-1", "mine")]:
    c = s3lib.client(who, secret)
    step(f"{who}_get_secret", lambda: c.get_object(Bucket=bucket, Key="secret.txt")["Body"].read().decode())
    step(f"{who}_head_secret", lambda: c.head_object(Bucket=bucket, Key="secret.txt")["ContentLength"])
    step(f"{who}_get_open", lambda: c.get_object(Bucket=bucket, Key="open.txt")["Body"].read().decode())
    step(f"{who}_get_plain", lambda: c.get_object(Bucket=bucket, Key="plain.txt")["Body"].read().decode())
    # The tag cannot be copied away nor removed.
    step(
        f"{who}_copy_secret",
        lambda: c.copy_object(
            Bucket=bucket, Key="copy.txt", CopySource=f"{bucket}/secret.txt", TaggingDirective="REPLACE"
        )["ResponseMetadata"]["HTTPStatusCode"],
    )
    step(f"{who}_untag", lambda: c.delete_object_tagging(Bucket=bucket, Key="secret.txt"))
    step(f"{who}_retag", lambda: c.put_object_tagging(Bucket=bucket, Key="secret.txt", Tagging={"TagSet": []}))
    step(f"{who}_tags", lambda: s3.get_object_tagging(Bucket=bucket, Key="secret.txt")["TagSet"])
    step(f"{who}_copy_open", lambda: c.copy_object(Bucket=bucket, Key="copy2.txt", CopySource=f"{bucket}/open.txt")["ResponseMetadata"]["HTTPStatusCode"])

step("root_get_secret", lambda: s3.get_object(Bucket="tagged", Key="secret.txt")["Body"].read().decode())
step.emit()
