"""A stand-in OpenID provider for tests/s3_sts.rs, as a Kubernetes API server publishes its
service account issuer: a discovery document and a key set (JWKS) over HTTP on 127.0.0.1.

Usage: oidc_provider.py WORKDIR
Generates RSA keys (pycryptodome): `k1` published, `k2` held back until POST /publish/k2,
`rogue` never published. Writes them (PEM, with the issuer) to WORKDIR/oidc-keys.json for
sts_web_identity.py to sign tokens with, prints `PORT <n>` once serving, then serves until
killed:
- GET /.well-known/openid-configuration: {"issuer": <issuer>, "jwks_uri": <issuer>/keys}
- GET /keys: the published keys
- GET /stats: {"jwks_fetches": n, "discovery_fetches": n}
- POST /publish/<kid>: publishes a held-back key."""

import base64
import http.server
import json
import sys
import threading

from Crypto.PublicKey import RSA

workdir = sys.argv[1]
keys = {kid: RSA.generate(2048) for kid in ("k1", "k2", "rogue")}
published = {"k1"}
stats = {"jwks_fetches": 0, "discovery_fetches": 0}
lock = threading.Lock()


def b64url_int(n):
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwk(kid):
    k = keys[kid]
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url_int(k.n), "e": b64url_int(k.e)}


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, doc, status=200):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            if self.path == "/.well-known/openid-configuration":
                stats["discovery_fetches"] += 1
                self.reply({"issuer": ISSUER, "jwks_uri": ISSUER + "/keys"})
            elif self.path == "/keys":
                stats["jwks_fetches"] += 1
                self.reply({"keys": [jwk(k) for k in sorted(published)]})
            elif self.path == "/stats":
                self.reply(stats)
            else:
                self.reply({"error": "not found"}, 404)

    def do_POST(self):
        kid = self.path.rsplit("/", 1)[-1]
        with lock:
            published.add(kid)
        self.reply({"published": sorted(published)})

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
port = server.server_address[1]
ISSUER = f"http://127.0.0.1:{port}"
with open(f"{workdir}/oidc-keys.json", "w") as f:
    json.dump({"issuer": ISSUER, "keys": {kid: k.export_key().decode() for kid, k in keys.items()}}, f)
print(f"PORT {port}", flush=True)
server.serve_forever()
