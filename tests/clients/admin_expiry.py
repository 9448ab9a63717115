"""A service account's expiry, on a clock that moves: the server and this script run under
libfaketime reading the same offset file (FAKETIME_TIMESTAMP_FILE), so moving it moves both
(signatures stay in time). Prints one JSON document: what each step answered."""

import os
import time

import s3lib

step = s3lib.Steps()
out = step.out
CLOCK = os.environ["FAKETIME_TIMESTAMP_FILE"]


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def move_clock(offset):
    with open(CLOCK, "w") as f:
        f.write(offset + "\n")


root = s3lib.admin()
s3 = s3lib.client()
s3.create_bucket(Bucket="data")
s3.put_object(Bucket="data", Key="a.txt", Body=b"aaa")
root.user_add("gina", "gina-secret-1")
root.attach_policy(["readwrite"], user="gina")
gina = s3lib.admin("gina", "gina-secret-1")

now = time.time()
step("past", lambda: gina.add_service_account(
    access_key="ginaold1", secret_key="ginaold1-secret", expiration=rfc3339(now - 60)))
step("too_soon", lambda: gina.add_service_account(
    access_key="ginasoon", secret_key="ginasoon-secret", expiration=rfc3339(now + 60)))
step("add", lambda: gina.add_service_account(
    access_key="ginaapp1", secret_key="ginaapp1-secret", expiration=rfc3339(now + 20 * 60)))
step("forever", lambda: gina.add_service_account(
    access_key="ginaapp2", secret_key="ginaapp2-secret"))
app = s3lib.client("ginaapp1", "ginaapp1-secret")
forever = s3lib.client("ginaapp2", "ginaapp2-secret")
step("info", lambda: root.get_service_account("ginaapp1"))
step("get_before", lambda: app.get_object(Bucket="data", Key="a.txt")["Body"].read().decode())

# 21 minutes on: past its expiry.
move_clock("+21m")
step("clock_moved", lambda: time.time() - now > 20 * 60)
step("get_after", lambda: app.get_object(Bucket="data", Key="a.txt"))
step("put_after", lambda: app.put_object(Bucket="data", Key="late.txt", Body=b"late"))
step("forever_after", lambda: forever.get_object(Bucket="data", Key="a.txt")["Body"].read().decode())
step("root_after", lambda: s3.get_object(Bucket="data", Key="a.txt")["Body"].read().decode())
step("keys", lambda: sorted(o["Key"] for o in s3.list_objects_v2(Bucket="data")["Contents"]))
step.emit()
