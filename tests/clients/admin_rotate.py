"""Root credentials changed: `setup` makes a user and a service account under the first ones;
`use` signs as them (and as whatever root S3_ACCESS_KEY / S3_SECRET_KEY name now).
Prints one JSON document: what each step answered."""

import json
import sys

import s3lib

step = s3lib.Steps()
if sys.argv[1] == "setup":
    root = s3lib.admin()
    s3lib.client().create_bucket(Bucket="keep")
    s3lib.client().put_object(Bucket="keep", Key="k.txt", Body=b"kept")
    step("user", lambda: root.user_add("hank", "hank-secret-1"))
    step("attach", lambda: root.attach_policy(["readwrite"], user="hank"))
    hank = s3lib.admin("hank", "hank-secret-1")
    step("sa", lambda: hank.add_service_account(access_key="hankapp1", secret_key="hankapp1-secret"))
else:
    read = lambda c: c.get_object(Bucket="keep", Key="k.txt")["Body"].read().decode()
    step("root", lambda: read(s3lib.client()))
    step("user", lambda: read(s3lib.client("hank", "hank-secret-1")))
    step("service_account", lambda: read(s3lib.client("hankapp1", "hankapp1-secret")))
    step("users", lambda: sorted(json.loads(s3lib.admin().user_list()).keys()))
step.emit()
