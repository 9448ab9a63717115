"""A stand-in OpenID provider for tests/s3_sts.rs, as a Kubernetes API server publishes its
service account issuer: a discovery document and a key set (JWKS) over HTTP on 127.0.0.1.

Run: oidc_provider.py WORKDIR [--tls CERT KEY] [--token TOKEN]
(--tls: https with that certificate and key; --token: the discovery document and the keys
only to requests with `Authorization: Bearer TOKEN`, as a Kubernetes API server serves them
to service accounts, 401 otherwise.)
Generates RSA keys (pycryptodome): `k1` published, `k2` held back until POST /publish/k2,
`rogue` never published. Writes them (PEM, with the issuer) to WORKDIR/oidc-keys.json, prints
`PORT <n>` once serving, then serves until killed:
- GET /.well-known/openid-configuration: {"issuer": <issuer>, "jwks_uri": <issuer>/keys}
- GET /keys: the published keys
- GET /stats: {"jwks_fetches": n, "discovery_fetches": n}
- POST /publish/<kid>: publishes a held-back key.

Imported (sts.py): `Issuer(WORKDIR)` reads that file and mints tokens with chosen header,
claims and key (`mint`), also unsigned (`alg: none`) and HMAC ones."""

import base64
import hashlib
import hmac
import http.server
import json
import ssl
import sys
import threading
import urllib.request

from Crypto.Hash import SHA256
from Crypto.PublicKey import RSA
from Crypto.Signature import pkcs1_15

KIDS = ("k1", "k2", "rogue")


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_int(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def jwk(kid, key):
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url_int(key.n), "e": b64url_int(key.e)}


class Issuer:
    """The provider's keys as its running process wrote them; mints tokens."""

    def __init__(self, workdir):
        with open(f"{workdir}/oidc-keys.json") as f:
            doc = json.load(f)
        self.url = doc["issuer"]
        self.keys = {kid: RSA.import_key(pem) for kid, pem in doc["keys"].items()}

    def mint(self, claims, kid="k1", key=None, alg="RS256", header=None):
        """A JWT over `claims`, signed RS256 with `key` (default: the key `kid` names);
        `alg` "none" leaves the signature empty, "HS256" signs with the public key's PEM as
        the HMAC secret (the classic algorithm confusion)."""
        head = {"alg": alg, "typ": "JWT"}
        if kid is not None:
            head["kid"] = kid
        head.update(header or {})
        signed = b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())
        if alg == "none":
            sig = b""
        elif alg == "HS256":
            secret = self.keys["k1"].public_key().export_key()
            sig = hmac.new(secret, signed.encode(), hashlib.sha256).digest()
        else:
            sig = pkcs1_15.new(self.keys[key or kid]).sign(SHA256.new(signed.encode()))
        return signed + "." + b64url(sig)

    def stats(self):
        with urllib.request.urlopen(self.url + "/stats", timeout=10) as r:
            return json.load(r)

    def publish(self, kid):
        req = urllib.request.Request(f"{self.url}/publish/{kid}", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)


def serve(workdir, tls=None, token=None):
    keys = {kid: RSA.generate(2048) for kid in KIDS}
    published = {"k1"}
    stats = {"jwks_fetches": 0, "discovery_fetches": 0, "unauthorized": 0}
    lock = threading.Lock()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), None)
    scheme = "http"
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    issuer = f"{scheme}://127.0.0.1:{server.server_address[1]}"

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
                guarded = self.path in ("/.well-known/openid-configuration", "/keys")
                if guarded and token and self.headers.get("Authorization") != f"Bearer {token}":
                    stats["unauthorized"] += 1
                    self.reply({"error": "unauthorized"}, 401)
                elif self.path == "/.well-known/openid-configuration":
                    stats["discovery_fetches"] += 1
                    self.reply({"issuer": issuer, "jwks_uri": issuer + "/keys"})
                elif self.path == "/keys":
                    stats["jwks_fetches"] += 1
                    self.reply({"keys": [jwk(k, keys[k]) for k in sorted(published)]})
                elif self.path == "/stats":
                    self.reply(dict(stats))
                else:
                    self.reply({"error": "not found"}, 404)

        def do_POST(self):
            kid = self.path.rsplit("/", 1)[-1]
            if not self.path.startswith("/publish/") or kid not in keys:
                return self.reply({"error": "not found"}, 404)
            with lock:
                published.add(kid)
            self.reply({"published": sorted(published)})

        def log_message(self, *args):
            pass

    server.RequestHandlerClass = Handler
    with open(f"{workdir}/oidc-keys.json", "w") as f:
        json.dump({"issuer": issuer, "keys": {kid: k.export_key().decode() for kid, k in keys.items()}}, f)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    args = sys.argv[2:]
    tls = token = None
    while args:
        if args[0] == "--tls":
            tls, args = (args[1], args[2]), args[3:]
        elif args[0] == "--token":
            token, args = args[1], args[2:]
        else:
            sys.exit(f"unknown argument {args[0]}")
    serve(sys.argv[1], tls, token)
