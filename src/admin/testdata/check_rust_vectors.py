"""Checks that minio-py's `decrypt` opens the vectors crypto.rs wrote (rust_*.hex).

Not run by CI. Run by hand with a Python that has minio-py, from this directory,
after `cargo test -p strata-admin -- --ignored write_rust_vectors`:

    python check_rust_vectors.py
"""

import io
import json

from minio import crypto

PASSWORD = "strata-test-secret"


def pattern(n):
    return bytes((i * 31 + 7) % 251 for i in range(n))


class Response:
    """What minio.crypto.decrypt needs of a urllib3 response."""

    def __init__(self, data):
        self._body = io.BytesIO(data)

    def read(self, n):
        return self._body.read(n)

    def close(self):
        pass

    def release_conn(self):
        pass


with open("rust_vectors.json", encoding="ascii") as f:
    vectors = json.load(f)
for v in vectors:
    with open(v["file"], encoding="ascii") as f:
        blob = bytes.fromhex(f.read().strip())
    plain = crypto.decrypt(Response(blob), PASSWORD)
    assert plain == pattern(v["len"]), v
    print("ok", v["file"], "cipher", blob[32], "len", v["len"])
