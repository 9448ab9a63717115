#!/usr/bin/env python3
"""PUT/overwrite load and durability check for the power-cut test (hack/power-cut.sh).

Usage: power_cut_load.py load  --log-dir DIR --round R [--clients 3] [--keys 24] [--seed S]
       power_cut_load.py check --log-dir DIR --round R
       power_cut_load.py check-load ...   both, in one process (Python starts slowly under TCG)
Server and credentials from S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (as tests/clients/s3lib.py).

`load` runs until it is killed (the power cut) or --duration passes: --clients threads, each
owning its own share of --keys keys (so every key sees one operation at a time), overwrite
them at random with small inline objects (1-8 KiB), medium ones (64-700 KiB, across the
inline limit) and multi-block ones (1-3 MiB), now and then a multipart upload (one 1-3 MiB
part, or a 5 MiB part and a small last one) or a delete. Before sending an operation a thread
appends `START key seed size kind time` to its own log file r<R>-load-c<client>.log in DIR,
after the server acknowledged it `ACK key seed size kind time` (or `ERR ... time error`); kind
is put, mpu or del (seed `-`, size 0), time the guest's clock. Each line is one write(2), so a
line is either whole or, at the cut, a torn last line (ignored). A body is a pure function of
(key, seed, size): a header line naming the three, then bytes from random.Random(key/seed), so
nothing needs storing. When every thread has had an acknowledgement, the file
`r<R>.loading` appears in DIR: the load is really running.

`check` replays every log of earlier rounds in order and, for every key ever touched, reads
it back: it must be byte-exact the outcome of its last acknowledged operation (or absent if
that was a delete or none was acknowledged), or of an operation started after that and never
acknowledged (cut in flight, or failed), which may or may not have taken effect. The state a
check finds for such an in-doubt key is written as `SEEN key seed size kind` to
`r<R>-check.log`: from then on it is the key's acknowledged state (a later check must not find
the in-doubt write appear or vanish again). GET is retried on 5xx and connection errors
(--retries times, --retry-wait seconds apart, all such keys together); a 404, wrong bytes or
a wrong ETag is final; every failed key is read once more after --retry-wait seconds.
ListObjectsV2 must list exactly the keys GET found, with their sizes and ETags. Errors the load
saw are failures too (a healthy set should answer every request). Failures name the key, the
expected states (with where they were logged) and what was found; the last line is a JSON
summary. Exit 0 = pass, 1 = durability failure, 2 = harness or usage error.

The S3 client is a minimal SigV4 signer over http.client (UNSIGNED-PAYLOAD) rather than
boto3: under the VM lab's software emulation `import boto3` plus a client costs ~14 s per
process, this module ~1.5 s.
"""

import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

BUCKET = "powercut"
KIB = 1024
MIB = 1024 * KIB
MIN_PART = 5 * MIB
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
ABSENT = ("absent", "-", 0)


# ---------------------------------------------------------------------------------------------
# A minimal S3 client: path-style, SigV4 in headers, UNSIGNED-PAYLOAD, one keep-alive connection.
# ---------------------------------------------------------------------------------------------
class S3Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(f"HTTP {status} {code or ''}: {message}".strip())
        self.status, self.code, self.message = status, code, message


def _quote(s, safe):
    return urllib.parse.quote(s, safe=safe)


class S3:
    def __init__(self, endpoint, access, secret, region="us-east-1", timeout=300):
        u = urllib.parse.urlsplit(endpoint)
        assert u.scheme == "http", endpoint
        self.netloc, self.hostname, self.port = u.netloc, u.hostname, u.port or 80
        self.access, self.secret, self.region, self.timeout = access, secret, region, timeout
        self.conn = None

    def _sign(self, method, uri, qs, amzdate):
        day = amzdate[:8]
        hdrs = {"host": self.netloc, "x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-date": amzdate}
        names = sorted(hdrs)
        canonical = "\n".join(
            [method, uri, qs, "".join(f"{k}:{hdrs[k]}\n" for k in names), ";".join(names), "UNSIGNED-PAYLOAD"]
        )
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        k = ("AWS4" + self.secret).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        hdrs["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={sig}"
        )
        return hdrs

    def request(self, method, path, query=None, body=b""):
        """(status, headers with lower-case names, body). Raises OSError/HTTPException on
        connection trouble (the connection is dropped then)."""
        uri = _quote(path, "/-_.~")
        qs = "&".join(
            f"{_quote(k, '-_.~')}={_quote(v, '-_.~')}" for k, v in sorted((query or {}).items())
        )
        amzdate = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        hdrs = self._sign(method, uri, qs, amzdate)
        if method in ("PUT", "POST"):
            hdrs["content-length"] = str(len(body))
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.hostname, self.port, timeout=self.timeout)
            self.conn.request(method, uri + ("?" + qs if qs else ""), body=body or None, headers=hdrs)
            r = self.conn.getresponse()
            data = r.read()
            headers = {k.lower(): v for k, v in r.getheaders()}
            if headers.get("connection", "").lower() == "close":
                self.close()
            return r.status, headers, data
        except (OSError, http.client.HTTPException):
            self.close()
            raise

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def ok(self, method, path, query=None, body=b"", want=(200,)):
        status, headers, data = self.request(method, path, query, body)
        code = _xml_code(data)
        # CompleteMultipartUpload can answer 200 with an <Error> document.
        if status not in want or (code and data.lstrip().startswith(b"<?xml") and b"<Error>" in data):
            raise S3Error(status, code, _xml_text(data, "Message") or data[:200].decode(errors="replace"))
        return headers, data


def _xml_code(data):
    return _xml_text(data, "Code")


def _xml_text(data, tag):
    m = re.search(rb"<%s>(.*?)</%s>" % (tag.encode(), tag.encode()), data or b"", re.S)
    return m.group(1).decode(errors="replace") if m else None


def client_from_env():
    return S3(os.environ["S3_ENDPOINT"], os.environ["S3_ACCESS_KEY"], os.environ["S3_SECRET_KEY"])


# ---------------------------------------------------------------------------------------------
# Bodies, ETags, keys.
# ---------------------------------------------------------------------------------------------
def body(key, seed, size):
    head = f"{key} {seed} {size}\n".encode()
    if size <= len(head):
        return head[:size]
    return head + random.Random(f"{key}/{seed}").randbytes(size - len(head))


def part_sizes(size):
    """Multipart uploads: parts of MIN_PART bytes, the last one what remains."""
    sizes = []
    while size > MIN_PART:
        sizes.append(MIN_PART)
        size -= MIN_PART
    return sizes + [size]


def etag_of(kind, data):
    if kind == "mpu":
        sizes = part_sizes(len(data))
        md5s, off = b"", 0
        for n in sizes:
            md5s += hashlib.md5(data[off : off + n]).digest()
            off += n
        return f"{hashlib.md5(md5s).hexdigest()}-{len(sizes)}"
    return hashlib.md5(data).hexdigest()


def key_names(n):
    # Flat keys and nested ones (keys are directories on the drives).
    return [f"k{j:03d}" if j % 2 == 0 else f"d{j % 3}/sub/k{j:03d}" for j in range(n)]


def describe_state(st):
    kind, seed, size = st
    if kind == "absent":
        return "absent"
    return f"{'multipart upload' if kind == 'mpu' else 'PUT'} seed={seed} size={size}"


# ---------------------------------------------------------------------------------------------
# The log.
# ---------------------------------------------------------------------------------------------
class Log:
    """Append-only, one write(2) per line, no buffering: a line that returned is on the host
    (the log directory is a 9p share of the host, with cache=none)."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def line(self, *fields):
        text = " ".join(str(f) for f in fields)
        assert "\n" not in text
        os.write(self.fd, (text + "\n").encode())


def load_file(r, c):
    return f"r{r:02d}-load-c{c}.log"


def check_file(r):
    return f"r{r:02d}-check.log"


class HarnessError(Exception):
    pass


def read_logs(log_dir, upto_round):
    """Per key, the events of rounds < upto_round in order, as (round, file:line, verb, state).
    Also the load errors and counts."""
    names = os.listdir(log_dir) if os.path.isdir(log_dir) else []
    rounds = sorted({int(m.group(1)) for n in names if (m := re.match(r"r(\d+)-", n))})
    events, errors, stats = {}, [], {"acks": 0, "starts": 0, "torn": 0, "bucket": False, "cuts": {}}
    for r in rounds:
        if r >= upto_round:
            continue
        try:  # the host's clock when it cut the power (hack/power-cut.sh writes it)
            with open(os.path.join(log_dir, f"r{r:02d}.cut")) as f:
                stats["cuts"][r] = float(f.read().strip())
        except (OSError, ValueError):
            pass
        files = [check_file(r)] + sorted(
            (n for n in names if re.fullmatch(rf"r{r:02d}-load-c\d+\.log", n)),
            key=lambda n: int(re.search(r"c(\d+)\.log$", n).group(1)),
        )
        owner = {}
        for name in files:
            path = os.path.join(log_dir, name)
            if not os.path.exists(path):
                continue
            with open(path, "rb") as f:
                raw = f.read()
            lines = raw.split(b"\n")
            last = lines.pop()  # b"" when the file ends with a newline, else a torn line
            if last:
                stats["torn"] += 1
            for no, line in enumerate(lines, 1):
                where = f"{name}:{no}"
                fields = line.decode().split(" ")
                verb = fields[0]
                if verb == "#" or verb == "":
                    continue
                if verb == "BUCKET":
                    stats["bucket"] = True
                    continue
                if verb not in ("START", "ACK", "ERR", "SEEN") or len(fields) < 5:
                    raise HarnessError(f"{where}: malformed line {line!r}")
                key, seed, size, kind = fields[1], fields[2], int(fields[3]), fields[4]
                if kind not in ("put", "mpu", "del", "absent"):
                    raise HarnessError(f"{where}: unknown kind in {line!r}")
                if verb != "SEEN":
                    prev = owner.setdefault(key, name)
                    if prev != name:
                        raise HarnessError(f"{where}: key {key} is also written by {prev} in round {r}")
                st = ABSENT if kind in ("del", "absent") else (kind, seed, size)
                events.setdefault(key, []).append((r, where, verb, st, (kind, seed, size), fields[5:]))
                if verb == "ACK":
                    stats["acks"] += 1
                elif verb == "START":
                    stats["starts"] += 1
                elif verb == "ERR":
                    errors.append(f"{where}: {key} {kind} seed={seed} size={size}: {' '.join(fields[6:])}")
    return events, errors, stats


def model(key, evs, cuts):
    """((the acknowledged state, where it was logged), [(in-doubt state, where)])."""
    base, base_where = ABSENT, "(never acknowledged: the key did not exist before)"
    pending = []  # (state, op, where) started after `base` and not acknowledged
    for r, where, verb, st, op, extra in evs:
        if verb == "START":
            if r in cuts and extra and re.fullmatch(r"[0-9.]+", extra[0]):
                where += f", {cuts[r] - float(extra[0]):.1f}s before the power cut"
            pending.append((st, op, where))
        elif verb == "ACK":
            if not pending or pending[-1][1] != op:
                raise HarnessError(f"{where}: ACK of {key} {op} without its START")
            base, base_where, pending = st, f"ACK at {where} (round {r})", []
        elif verb == "ERR":
            if not pending or pending[-1][1] != op:
                raise HarnessError(f"{where}: ERR of {key} {op} without its START")
        elif verb == "SEEN":
            base, base_where, pending = st, f"found by the check of round {r} ({where})", []
    doubt = [(st, f"START at {where}, never acknowledged") for st, _, where in pending]
    return (base, base_where), doubt


# ---------------------------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------------------------
def choose_op(rng):
    x = rng.random()
    if x < 0.08:
        return "del", 0
    if x < 0.15:
        # Multipart: mostly one part of 1-3 MiB; a quarter of them a 5 MiB part and a small one.
        if rng.random() < 0.25:
            return "mpu", MIN_PART + rng.randint(1 * KIB, 512 * KIB)
        return "mpu", rng.randint(1 * MIB, 3 * MIB)
    y = rng.random()
    if y < 0.65:
        return "put", rng.randint(1 * KIB, 8 * KIB)
    if y < 0.78:
        return "put", rng.randint(64 * KIB, 700 * KIB)
    return "put", rng.randint(1 * MIB, 3 * MIB)


def do_op(s3, key, seed, size, kind):
    path = f"/{BUCKET}/{key}"
    if kind == "del":
        s3.ok("DELETE", path, want=(204, 200))
        return
    data = body(key, seed, size)
    if kind == "put":
        s3.ok("PUT", path, body=data)
        return
    _, doc = s3.ok("POST", path, {"uploads": ""})
    upload = _xml_text(doc, "UploadId")
    if not upload:
        raise S3Error(200, None, f"no UploadId in {doc[:200]!r}")
    parts, off = [], 0
    for n, psize in enumerate(part_sizes(size), 1):
        h, _ = s3.ok("PUT", path, {"partNumber": str(n), "uploadId": upload}, data[off : off + psize])
        parts.append((n, h.get("etag", "")))
        off += psize
    doc = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts
    ) + "</CompleteMultipartUpload>"
    s3.ok("POST", path, {"uploadId": upload}, doc.encode())


def load(args):
    s3 = client_from_env()
    for attempt in range(10):
        try:
            status, _, data = s3.request("PUT", f"/{BUCKET}")
            if status == 200 or _xml_code(data) in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                break
            print(f"load: CreateBucket: HTTP {status} {_xml_code(data)}", file=sys.stderr)
        except (OSError, http.client.HTTPException) as e:
            print(f"load: CreateBucket: {e}", file=sys.stderr)
        time.sleep(2)
    else:
        print("load: could not create the bucket", file=sys.stderr)
        return 2
    s3.close()
    Log(os.path.join(args.log_dir, check_file(args.round))).line("BUCKET", BUCKET)

    keys = key_names(args.keys)
    first_ack = [threading.Event() for _ in range(args.clients)]
    counts = [0] * args.clients
    errors = [0] * args.clients
    deadline = time.monotonic() + args.duration if args.duration else None

    def worker(c):
        rng = random.Random(f"{args.seed}/{args.round}/{c}")
        log = Log(os.path.join(args.log_dir, load_file(args.round, c)))
        log.line("#", f"round {args.round} client {c} pid {os.getpid()}")
        mine = [k for j, k in enumerate(keys) if j % args.clients == c]
        s3 = client_from_env()
        n = 0
        while deadline is None or time.monotonic() < deadline:
            key = rng.choice(mine)
            kind, size = choose_op(rng)
            seed = "-" if kind == "del" else f"{args.seed}.{args.round}.{c}.{n}"
            n += 1
            log.line("START", key, seed, size, kind, f"{time.time():.3f}")
            try:
                do_op(s3, key, seed, size, kind)
            except (S3Error, OSError, http.client.HTTPException) as e:
                msg = re.sub(r"\s+", "_", str(e))[:300]
                log.line("ERR", key, seed, size, kind, f"{time.time():.3f}", msg)
                print(f"load: client {c}: {kind} {key} seed={seed} size={size}: {e}", file=sys.stderr)
                errors[c] += 1
                time.sleep(1)
                continue
            log.line("ACK", key, seed, size, kind, f"{time.time():.3f}")
            counts[c] += 1
            first_ack[c].set()

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(args.clients)]
    for t in threads:
        t.start()
    for e in first_ack:
        while not e.wait(1):
            if not any(t.is_alive() for t in threads):
                break
    with open(os.path.join(args.log_dir, f"r{args.round:02d}.loading"), "w") as f:
        f.write(f"{time.time()}\n")
    print(f"load: round {args.round}: {args.clients} clients on {args.keys} keys running", flush=True)
    for t in threads:
        t.join()
    print(f"load: round {args.round}: {sum(counts)} acknowledged, {sum(errors)} errors", flush=True)
    return 1 if sum(errors) else 0


# ---------------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------------
def fetch(s3, key):
    """One GET: ('present', bytes, etag) | ('absent', why) | ('error', text, retryable)."""
    try:
        status, headers, data = s3.request("GET", f"/{BUCKET}/{key}")
    except (OSError, http.client.HTTPException) as e:
        return ("error", f"connection error: {e}", True)
    if status == 200:
        return ("present", data, headers.get("etag", "").strip('"'))
    code = _xml_code(data)
    if status == 404 and code == "NoSuchKey":
        return ("absent", "404 NoSuchKey")
    if status == 404 and code == "NoSuchBucket":
        return ("absent", "404 NoSuchBucket: the bucket itself is gone")
    return ("error", f"HTTP {status} {code}: {_xml_text(data, 'Message')}", status >= 500)


def fetch_all(s3, keys, retries, wait):
    """GETs every key; those that fail with a 5xx or a connection error are tried again, all
    together, up to `retries` times `wait` seconds apart (so a check of many broken keys still
    takes about retries * wait seconds, not that per key)."""
    found = {k: fetch(s3, k) for k in keys}
    attempts = {k: 1 for k in keys}
    for _ in range(1, retries):
        again = [k for k, f in found.items() if f[0] == "error" and f[2]]
        if not again:
            break
        time.sleep(wait)
        for k in again:
            found[k] = fetch(s3, k)
            attempts[k] += 1
    return found, attempts


def list_all(s3, retries, wait):
    out, token = {}, None
    while True:
        q = {"list-type": "2", "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        for attempt in range(retries):
            try:
                _, doc = s3.ok("GET", f"/{BUCKET}", q)
                break
            except (S3Error, OSError, http.client.HTTPException) as e:
                if attempt + 1 == retries or (isinstance(e, S3Error) and e.status < 500):
                    raise
                time.sleep(wait)
        root = ET.fromstring(doc)
        for c in root.findall(f"{NS}Contents"):
            out[c.findtext(f"{NS}Key")] = (int(c.findtext(f"{NS}Size")), (c.findtext(f"{NS}ETag") or "").strip('"'))
        if root.findtext(f"{NS}IsTruncated") != "true":
            return out
        token = root.findtext(f"{NS}NextContinuationToken")


def explain_found(key, found, evs):
    """What a found object is: which logged write its bytes come from, and whether intact."""
    if found[0] == "absent":
        return f"absent ({found[1]})"
    if found[0] == "error":
        return f"unreadable: {found[1]}"
    data, etag = found[1], found[2]
    head = data[:200].split(b"\n", 1)[0].decode(errors="replace").split(" ")
    text = f"{len(data)} bytes, ETag {etag}"
    if len(head) != 3 or not head[2].isdigit():
        return text + f", not a body of this test (starts {data[:32]!r})"
    hkey, hseed, hsize = head[0], head[1], int(head[2])
    text += f", header names key={hkey} seed={hseed} size={hsize}"
    if hkey != key:
        text += " (ANOTHER KEY's data)"
    history = [
        f"{verb} at {where}" for _, where, verb, st, op, _ in evs if op[1] == hseed and verb != "SEEN"
    ]
    text += ": that write was " + (", ".join(history) if history else "never logged for this key")
    acked = [op for _, _, verb, _, op, _ in evs if verb == "ACK"]
    if any(op[1] == hseed for op in acked[:-1]) and acked[-1][1] != hseed:
        text += " (an OLDER acknowledged write: a later acknowledged one is lost)"
    want = body(hkey, hseed, hsize)
    if data == want:
        text += "; the bytes are that write's, intact"
    else:
        text += f"; NOT that write's bytes either: first difference at offset {first_diff(data, want)} (expected length {hsize})"
    return text


def first_diff(a, b):
    step, off = 64 * KIB, 0
    while off < min(len(a), len(b)) and a[off : off + step] == b[off : off + step]:
        off += step
    return next((i for i in range(off, min(len(a), len(b), off + step)) if a[i] != b[i]), min(len(a), len(b)))


def drive_state(drives, key, evs):
    """What each drive holds under the key's directory (the check runs beside the server in the
    guest): its files with sizes and times, and which logged write each %meta copy belongs to,
    found by the ETag it contains (the metadata encoding itself is not parsed)."""
    if not drives:
        return []
    writes = {}  # ETag -> description of the logged write
    for _, where, verb, _, op, _ in evs:
        kind, seed, size = op
        if verb == "START" and kind in ("put", "mpu"):
            tag = etag_of(kind, body(key, seed, size))
            acked = any(v == "ACK" and o == op for _, _, v, _, o, _ in evs)
            writes[tag] = f"seed={seed} ({'acknowledged' if acked else 'never acknowledged'}, START at {where})"
    out = ["  on the drives:"]
    for d in drives:
        top = os.path.join(d, BUCKET, key)
        items = []
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, top)
                try:
                    st = os.stat(path)
                    mtime = time.strftime("%H:%M:%S", time.localtime(st.st_mtime)) + f".{st.st_mtime_ns % 10**9 // 10**6:03d}"
                    what = ""
                    if name == "%meta":
                        with open(path, "rb") as f:
                            raw = f.read()
                        tags = list(dict.fromkeys(m.decode() for m in re.findall(rb"[0-9a-f]{32}(?:-[0-9]+)?", raw)))
                        known = [writes[t] for t in tags if t in writes]
                        what = " = " + (known[0] if known else f"no logged write (ETags in it: {tags or 'none'})")
                    items.append(f"{rel} {st.st_size} B {mtime}{what}")
                except OSError as e:
                    items.append(f"{rel}: {e}")
        if not items:
            items = ["(nothing)" if os.path.isdir(d) else "(no such drive)"]
        out.append(f"    {d}: " + "; ".join(items))
    return out


def verdict(base, found, evs, note):
    """A one-line name for a failure."""
    if note:
        return "METADATA DISAGREES WITH DATA"
    if found[0] == "error":
        if base[0] != "absent":
            return "ACKNOWLEDGED WRITE UNREADABLE (the error persists)"
        return "UNREADABLE (the error persists; what was acknowledged is that the key is absent)"
    if found[0] == "absent":
        return "ACKNOWLEDGED WRITE LOST (the key is gone)"
    seeds = {op[1] for _, _, verb, _, op, _ in evs if verb in ("ACK", "SEEN")}
    head = found[1][:200].split(b"\n", 1)[0].decode(errors="replace").split(" ")
    if len(head) == 3 and head[1] in seeds and head[1] != base[1]:
        what = "DELETE" if base[0] == "absent" else "WRITE"
        return f"ACKNOWLEDGED {what} LOST (an older acknowledged version is back)"
    return "WRONG CONTENT"


def matches(key, state, found):
    kind, seed, size = state
    if kind == "absent":
        return found[0] == "absent", None
    if found[0] != "present":
        return False, None
    want = body(key, seed, size)
    if found[1] != want:
        return False, None
    etag = etag_of(kind, want)
    if found[2] != etag:
        return False, f"bytes match but the ETag is {found[2]}, expected {etag}"
    return True, None


def check(args):
    t0 = time.monotonic()
    try:
        events, load_errors, stats = read_logs(args.log_dir, args.round)
    except HarnessError as e:
        print(f"check: HARNESS ERROR: {e}", file=sys.stderr)
        return 2
    s3 = client_from_env()
    failures, doubt_resolved, present, absent = [], [], {}, 0
    models = {}
    for key in sorted(events):
        try:
            models[key] = model(key, events[key], stats["cuts"])
        except HarnessError as e:
            print(f"check: HARNESS ERROR: {e}", file=sys.stderr)
            return 2

    def verify(key, found):
        (base, base_where), doubt = models[key]
        allowed = [(base, base_where, "acknowledged")] + [(st, w, "in doubt") for st, w in doubt]
        for st, where, what in allowed:
            ok, note = matches(key, st, found)
            if ok:
                return found, (st, what), None
            if note:
                return found, None, note
        return found, None, None

    try:
        status, _, _ = s3.request("HEAD", f"/{BUCKET}")
    except (OSError, http.client.HTTPException) as e:
        status = f"connection error: {e}"
    if stats["bucket"] and status != 200:
        failures.append(f"bucket {BUCKET!r}: ACKNOWLEDGED CreateBucket LOST (HEAD bucket: {status})")
    fetched, attempts = fetch_all(s3, sorted(models), args.retries, args.retry_wait)
    observed = {key: verify(key, fetched[key]) for key in sorted(models)}
    # Failures are read once more after a pause, to tell a lasting state from a passing one.
    first_pass = sorted(k for k, (_, hit, _) in observed.items() if hit is None)
    if first_pass:
        time.sleep(args.retry_wait)
    refetched = {k: fetch(s3, k) for k in first_pass}
    detailed = 0
    for key in sorted(models):
        found, hit, note = observed[key]
        (base, base_where), doubt = models[key]
        if hit is None:
            again, hit2, _ = verify(key, refetched[key])
            detailed += 1
            if detailed > args.details:
                failures.append(f"key {key!r}: {verdict(base, found, events[key], note)}: expected "
                                f"{describe_state(base)}{' (or in doubt)' if doubt else ''}, found {explain_found(key, found, events[key])[:200]}")
                continue
            lines = [
                f"key {key!r}: {verdict(base, found, events[key], note)}",
                f"  expected: {describe_state(base)}  [{base_where}]",
            ]
            for st, w in doubt:
                lines.append(f"       or: {describe_state(st)}  [{w}]  (in doubt: may or may not have taken effect)")
            tries = f" (after {attempts[key]} attempts, {args.retry_wait:g}s apart)" if attempts[key] > 1 else ""
            lines.append(f"  found:    {explain_found(key, found, events[key])}{tries}")
            if note:
                lines.append(f"  note:     {note}")
            later = f"  read again {args.retry_wait:g}s later:"
            if hit2 is not None:
                lines.append(f"{later} {describe_state(hit2[0])} ({hit2[1]}): the wrong state did not last")
            elif again == found:
                lines.append(f"{later} the same")
            else:
                lines.append(f"{later} {explain_found(key, again, events[key])}")
            lines += drive_state(args.drives, key, events[key])
            failures.append("\n".join(lines))
            continue
        st, what = hit
        if st[0] != "absent":
            present[key] = (st[2], etag_of(st[0], body(key, st[1], st[2])))
        else:
            absent += 1
        if doubt:
            doubt_resolved.append((key, st, what))

    # LIST must agree with GET.
    try:
        listed = list_all(s3, args.retries, args.retry_wait)
    except (S3Error, OSError, http.client.HTTPException) as e:
        if stats["bucket"] or any(m[0][0][0] != "absent" for m in models.values()):
            failures.append(f"ListObjectsV2 failed: {e}")
        listed = {}
    for key in sorted(set(listed) | set(present)):
        if key in observed and observed[key][1] is None:
            continue  # already reported
        if key not in listed:
            failures.append(f"key {key!r}: GET finds it ({present[key][0]} bytes) but LIST does not list it")
        elif key not in present:
            if key in models:
                failures.append(f"key {key!r}: LIST lists it ({listed[key][0]} bytes, ETag {listed[key][1]}) but GET finds it absent")
            else:
                failures.append(f"key {key!r}: LIST lists it ({listed[key][0]} bytes) but no load ever wrote it")
        elif listed[key] != present[key]:
            failures.append(
                f"key {key!r}: LIST says {listed[key][0]} bytes ETag {listed[key][1]}, GET found {present[key][0]} bytes ETag {present[key][1]}"
            )
    if load_errors:
        failures.append(
            f"the load saw {len(load_errors)} S3 errors on a healthy set:\n  " + "\n  ".join(load_errors[:20])
        )

    # The state found for in-doubt keys is now their acknowledged state.
    took = sum(1 for _, st, what in doubt_resolved if what == "in doubt")
    if doubt_resolved:
        log = Log(os.path.join(args.log_dir, check_file(args.round)))
        for key, st, what in doubt_resolved:
            kind, seed, size = st
            log.line("SEEN", key, seed, size, kind, "in-doubt-took-effect" if what == "in doubt" else "in-doubt-not-applied")

    for f in failures:
        print("check: FAIL: " + f)
    summary = {
        "round": args.round,
        "acked_ops": stats["acks"],
        "started_ops": stats["starts"],
        "keys_checked": len(models),
        "present": len(present),
        "absent": absent,
        "in_doubt": len(doubt_resolved),
        "in_doubt_took_effect": took,
        "torn_log_lines": stats["torn"],
        "load_errors": len(load_errors),
        "listed": len(listed),
        "failures": len(failures),
        "check_seconds": round(time.monotonic() - t0, 1),
    }
    print(
        f"check: round {args.round}: {len(models)} keys checked against {stats['acks']} acknowledged operations: "
        f"{len(present)} present, {summary['absent']} absent, {len(doubt_resolved)} in doubt "
        f"({took} took effect), {len(failures)} failures, {summary['check_seconds']}s: {'FAIL' if failures else 'PASS'}"
    )
    print(json.dumps(summary, sort_keys=True), flush=True)
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["load", "check", "check-load"], help="check-load: check, then load (one process start)")
    p.add_argument("--log-dir", required=True)
    p.add_argument("--round", type=int, required=True)
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--keys", type=int, default=24)
    p.add_argument("--seed", default="1")
    p.add_argument("--duration", type=float, default=0, help="load: stop after this many seconds (0: until killed)")
    p.add_argument("--retries", type=int, default=7, help="GET attempts on 5xx / connection errors")
    p.add_argument("--details", type=int, default=8, help="failed keys reported in full (the rest in one line each)")
    p.add_argument("--retry-wait", type=float, default=5)
    p.add_argument("--keep-going", action="store_true", help="check-load: load even after a failed check")
    p.add_argument("--drives", nargs="*", default=[], help="check: the drive folders, to show what they hold for a failed key")
    args = p.parse_args()
    if re.search(r"\s", args.seed):
        p.error("--seed must not contain blanks")
    if args.mode == "check":
        sys.exit(check(args))
    if args.mode == "check-load":
        rc = check(args)
        if rc != 0 and not (rc == 1 and args.keep_going):
            sys.exit(rc)
        if rc:
            print("check: failed; loading all the same (--keep-going)", flush=True)
    sys.exit(load(args))


if __name__ == "__main__":
    main()
