"""Users and policies through MinIO's admin API with minio-py's MinioAdmin (unmodified: its
encrypted bodies included), then S3 calls signed as those users with boto3.
Prints one JSON document: what each step answered."""

import json

import s3lib

step = s3lib.Steps()
out = step.out



root = s3lib.admin()
s3 = s3lib.client()
s3.create_bucket(Bucket="photos")
s3.put_object(Bucket="photos", Key="cat.jpg", Body=b"meow")

READ_PHOTOS = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::photos/*"]},
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::photos"]},
    ],
}

step("add_user", lambda: root.user_add("alice", "alice-secret-1"))
step("add_bob", lambda: root.user_add("bob", "bob-secret-12"))
step("bad_secret", lambda: root.user_add("carol", "short"))
step("policy_add", lambda: root.policy_add("read-photos", policy=READ_PHOTOS))
step("policy_bad", lambda: root.policy_add("broken", policy={"Statement": "nope"}))
step("policy_info", lambda: root.policy_info("read-photos"))
step("policy_list", lambda: sorted(json.loads(root.policy_list()).keys()))
step("attach", lambda: root.attach_policy(["read-photos"], user="alice"))
step("attach_again", lambda: root.attach_policy(["read-photos"], user="alice"))
step("attach_missing", lambda: root.attach_policy(["no-such-policy"], user="alice"))
step("user_info", lambda: root.user_info("alice"))
step("user_list", lambda: root.user_list())

alice = s3lib.client("alice", "alice-secret-1")
step("alice_get", lambda: alice.get_object(Bucket="photos", Key="cat.jpg")["Body"].read().decode())
step("alice_list", lambda: [o["Key"] for o in alice.list_objects_v2(Bucket="photos")["Contents"]])
step("alice_put", lambda: alice.put_object(Bucket="photos", Key="dog.jpg", Body=b"woof"))
step("alice_delete", lambda: alice.delete_object(Bucket="photos", Key="cat.jpg"))
step("alice_buckets", lambda: alice.list_buckets())
step("alice_create", lambda: alice.create_bucket(Bucket="alices"))
step("alice_admin", lambda: s3lib.admin("alice", "alice-secret-1").user_add("mallory", "mallory-secret"))
step("alice_wrong_secret", lambda: s3lib.client("alice", "not-her-secret").get_object(Bucket="photos", Key="cat.jpg"))
# bob has no policy: nothing.
bob = s3lib.client("bob", "bob-secret-12")
step("bob_get", lambda: bob.get_object(Bucket="photos", Key="cat.jpg"))
# readwrite, MinIO's canned policy, exists from the start.
step("attach_bob", lambda: root.attach_policy(["readwrite"], user="bob"))
step("bob_put", lambda: bob.put_object(Bucket="photos", Key="bob.txt", Body=b"hi")["ResponseMetadata"]["HTTPStatusCode"])

step("disable", lambda: root.user_disable("alice"))
step("disabled_get", lambda: alice.get_object(Bucket="photos", Key="cat.jpg"))
step("enable", lambda: root.user_enable("alice"))
step("enabled_get", lambda: alice.get_object(Bucket="photos", Key="cat.jpg")["Body"].read().decode())
step("detach", lambda: root.detach_policy(["read-photos"], user="alice"))
step("detached_get", lambda: alice.get_object(Bucket="photos", Key="cat.jpg"))
step("remove", lambda: root.user_remove("alice"))
step("removed_get", lambda: alice.get_object(Bucket="photos", Key="cat.jpg"))
step("removed_info", lambda: root.user_info("alice"))
step("objects", lambda: sorted(o["Key"] for o in s3.list_objects_v2(Bucket="photos")["Contents"]))
step.emit()
