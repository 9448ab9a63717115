#!/usr/bin/env bash
# Strata side by side with the S3 servers a user could run instead, in one run on this machine.
#
#   hack/bench-peers.sh            # full table (about 15 minutes plus the first peer builds)
#   QUICK=1 hack/bench-peers.sh    # 3 s per cell, for a smoke run
#   REPEAT=3 hack/bench-peers.sh   # each cell 3 times, the servers' order reversed each
#                                  # round, the median reported
#   ONLY='MIXED|LIST' OUT=/tmp/rows.md hack/bench-peers.sh   # only matching rows, elsewhere
#   SERVERS='strata-ec4 strata-before strata-1 strata-before-1' BEFORE=/path/to/old/strata \
#     hack/bench-peers.sh          # a build of Strata from before a change, beside this one
#                                  # (strata-before: its 4-drive set, strata-before-1: one drive;
#                                  # strata-ec4 and strata-1 are then compared with their own)
#
# As root (with mkfs.xfs), every server gets its own XFS filesystems on loop devices (Strata's
# 4-drive set four of them), so that one server's syncs never pay for another's dirty pages on
# a shared filesystem; otherwise (LOOP=0) everything lives in folders under $BENCH_DIR.
# Peers are installed from crates.io into a cache outside the repository (first run only:
# garage takes a while to build): garage (Rust, replicated; one node, replication 1, fsync of
# data and metadata ON to match Strata) and s3s-fs (Rust, plain files, no fsync). Strata runs as
# a 4-drive erasure set (2+2, fsync on every write) and as a single drive. All on 127.0.0.1,
# data under $BENCH_DIR (default /var/tmp/strata-bench), same `strata bench` workloads each.
# Prints one table (rows: workloads; columns: servers; cells: throughput with the ratio to the
# best peer) and writes it to hack/BENCH-PEERS.md (or $OUT).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${STRATA_BENCH_CACHE:-$HOME/.cache/strata-bench}
BENCH_DIR=${BENCH_DIR:-/var/tmp/strata-bench}
SECS=${SECS:-8}
REPEAT=${REPEAT:-1}
[[ "${QUICK:-}" == 1 ]] && SECS=3
KEY=benchadmin
SECRET=benchsecret123
mkdir -p "$CACHE"

install_peers() {
  if [[ ! -x "$CACHE/bin/s3s-fs" ]]; then
    echo "building s3s-fs 0.14.1 into $CACHE (once)" >&2
    cargo install --quiet --locked --root "$CACHE" s3s-fs@0.14.1 --features binary
  fi
  if [[ ! -x "$CACHE/bin/garage" ]]; then
    echo "building garage 2.5.0 into $CACHE (once; slow)" >&2
    cargo install --quiet --locked --root "$CACHE" garage@2.5.0 --no-default-features --features bundled-libs,lmdb
  fi
}

PIDS=()
MOUNTS=()
LOOPS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  rm -rf "$BENCH_DIR"
}
trap cleanup EXIT
LOOP=${LOOP:-$([[ $EUID == 0 ]] && command -v mkfs.xfs >/dev/null && echo 1 || echo 0)}
# A directory that is its own XFS filesystem on a loop device (LOOP=1), else a folder.
drive_dir() { # path
  mkdir -p "$1"
  ((LOOP)) || return 0
  local img="$1.img" dev
  truncate -s "${DRIVE_SIZE:-8G}" "$img"
  dev=$(losetup --find --show "$img")
  LOOPS+=("$dev")
  mkfs.xfs -q -f "$dev"
  mount "$dev" "$1"
  MOUNTS+=("$1")
}

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

start_strata() { # name binary port drives...
  local name=$1 bin=$2 port=$3; shift 3
  for d in "$@"; do drive_dir "$d"; done
  STRATA_ROOT_USER=$KEY STRATA_ROOT_PASSWORD=$SECRET "$bin" server \
    --address "127.0.0.1:$port" "$@" >"$BENCH_DIR/$name.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
}

start_s3s_fs() { # port
  drive_dir "$BENCH_DIR/s3s-fs"
  "$CACHE/bin/s3s-fs" --host 127.0.0.1 --port "$1" --access-key $KEY --secret-key $SECRET \
    "$BENCH_DIR/s3s-fs" >"$BENCH_DIR/s3s-fs.log" 2>&1 &
  PIDS+=($!)
  wait_port "$1"
}

GARAGE_KEY=; GARAGE_SECRET=
start_garage() { # port
  local dir=$BENCH_DIR/garage conf=$BENCH_DIR/garage/garage.toml
  drive_dir "$dir"
  mkdir -p "$dir/meta" "$dir/data"
  cat >"$conf" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "lmdb"
replication_factor = 1
metadata_fsync = true
data_fsync = true
rpc_bind_addr = "127.0.0.1:$(($1 + 1))"
rpc_public_addr = "127.0.0.1:$(($1 + 1))"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[s3_api]
s3_region = "us-east-1"
api_bind_addr = "127.0.0.1:$1"
root_domain = ".s3.garage.localhost"
TOML
  "$CACHE/bin/garage" -c "$conf" server >"$BENCH_DIR/garage.log" 2>&1 &
  PIDS+=($!)
  wait_port "$1"
  local g=("$CACHE/bin/garage" -c "$conf")
  local node; node=$("${g[@]}" status 2>/dev/null | awk '/^[0-9a-f]{16}/ {print $1; exit}')
  "${g[@]}" layout assign -z dc1 -c 10G "$node" >/dev/null
  "${g[@]}" layout apply --version 1 >/dev/null
  local out; out=$("${g[@]}" key create bench)
  GARAGE_KEY=$(awk '/Key ID/ {print $NF}' <<<"$out")
  GARAGE_SECRET=$(awk '/Secret key/ {print $NF}' <<<"$out")
  "${g[@]}" key allow --create-bucket "$GARAGE_KEY" >/dev/null
}

# server name → endpoint, credentials
declare -A EP AK SK
read -r -a SERVERS <<<"${SERVERS:-strata-ec4 strata-1 s3s-fs garage}"
has() { [[ " ${SERVERS[*]} " == *" $1 "* ]]; }

# One measurement: `strata bench` against server $4, round $5; prints MiB/s or ops/s ("!" when
# requests failed, "fail" when there is no result).
cell() {
  local label=$1 args=$2 metric=$3 s=$4 round=$5
  local safe=${label//[^A-Za-z0-9]/_}
  local f="$BENCH_DIR/results/${s}-${safe}-${round}.json"
  echo "== $label on $s (round $round)" >&2
  # The previous cell's dirty pages are written back now, not during this one (with loop
  # drives they land on one disk: the next server in the row paid for the last one's).
  sync
  # The images of loop drives keep every block ever written unless freed ones are
  # trimmed: without this the host disk fills up over a run.
  for m in "${MOUNTS[@]}"; do fstrim "$m" 2>/dev/null || true; done
  # shellcheck disable=SC2086
  "${CARGO_TARGET_DIR:-target}"/release/strata bench $args --duration "${SECS}s" --endpoint "${EP[$s]}" \
    --access-key "${AK[$s]}" --secret-key "${SK[$s]}" --json "$f" >/dev/null 2>"$f.err" || true
  python3 - "$f" "$metric" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("fail"); sys.exit()
tot = sum(x["mib_per_sec"] if sys.argv[2] == "mib" else x["ops_per_sec"] for x in r["results"])
errs = sum(x["errors"] for x in r["results"])
print(f"{tot:.1f}" + ("!" if errs else ""))
PY
}

# The median of the rounds' values ("fail" if any round failed; "!" if any had errors).
median() {
  python3 - "$@" <<'PY'
import statistics, sys
v = sys.argv[1:]
if not v or "fail" in v:
    print("fail"); sys.exit()
bang = any(x.endswith("!") for x in v)
print(f"{statistics.median(float(x.rstrip('!')) for x in v):.1f}" + ("!" if bang else ""))
PY
}

main() {
  if has s3s-fs || has garage; then install_peers; fi
  cargo build --release --quiet --bin strata
  rm -rf "$BENCH_DIR"; mkdir -p "$BENCH_DIR"
  local new=${CARGO_TARGET_DIR:-target}/release/strata
  if has strata-ec4; then start_strata strata-ec4 "$new" 9301 "$BENCH_DIR"/ec4/d{1..4}; fi
  if has strata-1; then start_strata strata-1 "$new" 9302 "$BENCH_DIR/single"; fi
  if has strata-before || has strata-before-1; then
    [[ -x ${BEFORE:-} ]] || { echo "strata-before needs BEFORE=<strata binary>" >&2; exit 1; }
  fi
  if has strata-before; then start_strata strata-before "$BEFORE" 9305 "$BENCH_DIR"/before/d{1..4}; fi
  if has strata-before-1; then start_strata strata-before-1 "$BEFORE" 9306 "$BENCH_DIR/before-single"; fi
  if has s3s-fs; then start_s3s_fs 9303; fi
  if has garage; then start_garage 9304; fi
  EP=([strata-ec4]=http://127.0.0.1:9301 [strata-1]=http://127.0.0.1:9302 [s3s-fs]=http://127.0.0.1:9303 [garage]=http://127.0.0.1:9304 [strata-before]=http://127.0.0.1:9305 [strata-before-1]=http://127.0.0.1:9306)
  AK=([strata-ec4]=$KEY [strata-1]=$KEY [s3s-fs]=$KEY [garage]=$GARAGE_KEY [strata-before]=$KEY [strata-before-1]=$KEY)
  SK=([strata-ec4]=$SECRET [strata-1]=$SECRET [s3s-fs]=$SECRET [garage]=$GARAGE_SECRET [strata-before]=$SECRET [strata-before-1]=$SECRET)

  # workload label | bench arguments | metric (mib or ops)
  local rows=(
    "PUT 4KiB c1|put --size 4KiB -c 1|ops"
    "PUT 4KiB c32|put --size 4KiB -c 32|ops"
    "GET 4KiB c1|get --size 4KiB -c 1 --objects 100|ops"
    "GET 4KiB c32|get --size 4KiB -c 32 --objects 200|ops"
    "PUT 1MiB c1|put --size 1MiB -c 1|mib"
    "PUT 1MiB c8|put --size 1MiB -c 8|mib"
    "PUT 1MiB c32|put --size 1MiB -c 32|mib"
    "GET 1MiB c1|get --size 1MiB -c 1 --objects 50|mib"
    "GET 1MiB c32|get --size 1MiB -c 32 --objects 100|mib"
    "PUT 64MiB c1|put --size 64MiB -c 1|mib"
    "PUT 64MiB c8|put --size 64MiB -c 8 --ops 32|mib"
    "PUT 64MiB c32|put --size 64MiB -c 32 --ops 64|mib"
    "GET 64MiB c1|get --size 64MiB -c 1 --objects 4|mib"
    "GET 64MiB c32|get --size 64MiB -c 32 --objects 8|mib"
    "MIXED 64KiB 50/50 c32|mixed --size 64KiB -c 32 --mix get=50,put=50 --objects 200|mib"
    "LIST 10k objects|list --size 1KiB -c 1 --objects 10000|ops"
  )
  local out=$BENCH_DIR/results; mkdir -p "$out"
  local table="| workload |"; for s in "${SERVERS[@]}"; do table+=" $s |"; done
  table+=$'\n'"|---|"; for _ in "${SERVERS[@]}"; do table+="---|"; done
  for row in "${rows[@]}"; do
    IFS='|' read -r label args metric <<<"$row"
    [[ -n "${ONLY:-}" && ! "$label" =~ $ONLY ]] && continue
    declare -A val=() runs=()
    # REPEAT rounds, alternating the servers' order: on loop drives the order alone moves a
    # cell by a third (the first server of a row tends to lose), the median of rounds in both
    # orders does not.
    local order=("${SERVERS[@]}") round
    for ((round = 1; round <= REPEAT; round++)); do
      for s in "${order[@]}"; do
        runs[$s]+="$(cell "$label" "$args" "$metric" "$s" "$round") "
      done
      local rev=(); for ((i = ${#order[@]} - 1; i >= 0; i--)); do rev+=("${order[i]}"); done
      order=("${rev[@]}")
    done
    for s in "${SERVERS[@]}"; do val[$s]=$(median ${runs[$s]}); done
    local best_peer=0
    # Ratios to the best peer, or to the build from before the change when it is the peer.
    for s in s3s-fs garage strata-before strata-before-1; do
      has "$s" || continue
      local v=${val[$s]%!}; [[ $v == fail ]] && continue
      best_peer=$(python3 -c "print(max($best_peer, $v))")
    done
    table+=$'\n'"| $label ($metric/s) |"
    for s in "${SERVERS[@]}"; do
      local v=${val[$s]%!} base=$best_peer
      # A build from before a change is the baseline of the same layout.
      local own=; [[ $s == strata-ec4 ]] && own=strata-before; [[ $s == strata-1 ]] && own=strata-before-1
      if [[ -n $own ]] && has "$own"; then base=${val[$own]%!}; [[ $base == fail ]] && base=0; fi
      # ... and that build's own cells are the baseline: plain numbers.
      [[ $s == strata-before ]] && has strata-ec4 && base=0
      [[ $s == strata-before-1 ]] && has strata-1 && base=0
      if [[ $v == fail || $base == 0 ]]; then table+=" ${val[$s]} |"; continue; fi
      table+=" ${val[$s]} ($(python3 -c "print(f'{$v/$base:.2f}x')")) |"
    done
  done
  local when; when=$(date -u +%Y-%m-%dT%H:%MZ)
  {
    echo "# Strata and its peers, side by side"
    echo
    echo "Command: \`SERVERS='${SERVERS[*]}' hack/bench-peers.sh\` (${SECS} s per cell, median of ${REPEAT} round(s) alternating the order), $when, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB, drives $( ((LOOP)) && echo "on their own XFS loop devices" || echo "folders on one filesystem")."
    echo "Ratios are to the best peer (s3s-fs, garage, or strata-before: a build from before a change) in the row; strata-ec4 and strata-1 beside a build from before are compared with that build's same layout (strata-before, strata-before-1); \`!\` marks a cell with failed requests."
    echo "Durability: Strata ON (every write on stable storage before the reply: syncfs barriers), garage ON (data_fsync, metadata_fsync), s3s-fs OFF (never syncs)."
    echo
    echo "$table"
  } | tee "${OUT:-hack/BENCH-PEERS.md}"
}

main "$@"
