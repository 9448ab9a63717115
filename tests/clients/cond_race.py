"""Create-only writes racing: N threads PUT one key with If-None-Match: *, released together.
Prints {"ok": [...thread ids that got 200...], "failed": {code: count}, "body": winner check}.

usage: cond_race.py BUCKET KEY THREADS"""

import json
import sys
import threading

from botocore.exceptions import ClientError

from s3lib import client

bucket, key, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
start = threading.Barrier(threads)
ok, failed = [], {}
lock = threading.Lock()


def put(i):
    c = client()  # a client (and connection) per thread
    body = f"writer {i}\n".encode() * 100
    start.wait()
    try:
        c.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
        with lock:
            ok.append(i)
    except ClientError as e:
        code = e.response["Error"]["Code"]
        with lock:
            failed[code] = failed.get(code, 0) + 1


workers = [threading.Thread(target=put, args=(i,)) for i in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
got = client().get_object(Bucket=bucket, Key=key)["Body"].read()
winner_holds = len(ok) == 1 and got == f"writer {ok[0]}\n".encode() * 100
print(json.dumps({"ok": ok, "failed": failed, "winner_holds": winner_holds}))
