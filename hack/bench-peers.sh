#!/usr/bin/env bash
# Strata side by side with the S3 servers a user could run instead, in one run on this machine.
#
#   hack/bench-peers.sh            # full table (about 15 minutes plus the first peer builds)
#   QUICK=1 hack/bench-peers.sh    # 3 s per cell, for a smoke run
#   ONLY='MIXED|LIST' OUT=/tmp/rows.md hack/bench-peers.sh   # only matching rows, elsewhere
#
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
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$BENCH_DIR"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

start_strata() { # name port drives...
  local name=$1 port=$2; shift 2
  mkdir -p "$@"
  STRATA_ROOT_USER=$KEY STRATA_ROOT_PASSWORD=$SECRET target/release/strata server \
    --address "127.0.0.1:$port" "$@" >"$BENCH_DIR/$name.log" 2>&1 &
  PIDS+=($!)
  wait_port "$port"
}

start_s3s_fs() { # port
  mkdir -p "$BENCH_DIR/s3s-fs"
  "$CACHE/bin/s3s-fs" --host 127.0.0.1 --port "$1" --access-key $KEY --secret-key $SECRET \
    "$BENCH_DIR/s3s-fs" >"$BENCH_DIR/s3s-fs.log" 2>&1 &
  PIDS+=($!)
  wait_port "$1"
}

GARAGE_KEY=; GARAGE_SECRET=
start_garage() { # port
  local dir=$BENCH_DIR/garage conf=$BENCH_DIR/garage/garage.toml
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
SERVERS=(strata-ec4 strata-1 s3s-fs garage)

main() {
  install_peers
  cargo build --release --quiet --bin strata
  rm -rf "$BENCH_DIR"; mkdir -p "$BENCH_DIR"
  start_strata strata-ec4 9301 "$BENCH_DIR"/ec4/d{1..4}
  start_strata strata-1 9302 "$BENCH_DIR/single"
  start_s3s_fs 9303
  start_garage 9304
  EP=([strata-ec4]=http://127.0.0.1:9301 [strata-1]=http://127.0.0.1:9302 [s3s-fs]=http://127.0.0.1:9303 [garage]=http://127.0.0.1:9304)
  AK=([strata-ec4]=$KEY [strata-1]=$KEY [s3s-fs]=$KEY [garage]=$GARAGE_KEY)
  SK=([strata-ec4]=$SECRET [strata-1]=$SECRET [s3s-fs]=$SECRET [garage]=$GARAGE_SECRET)

  # workload label | bench arguments | metric (mib or ops)
  local rows=(
    "PUT 4KiB c1|put --size 4KiB -c 1|ops"
    "PUT 4KiB c32|put --size 4KiB -c 32|ops"
    "GET 4KiB c1|get --size 4KiB -c 1 --objects 100|ops"
    "GET 4KiB c32|get --size 4KiB -c 32 --objects 200|ops"
    "PUT 1MiB c1|put --size 1MiB -c 1|mib"
    "PUT 1MiB c32|put --size 1MiB -c 32|mib"
    "GET 1MiB c1|get --size 1MiB -c 1 --objects 50|mib"
    "GET 1MiB c32|get --size 1MiB -c 32 --objects 100|mib"
    "PUT 64MiB c1|put --size 64MiB -c 1|mib"
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
    declare -A val=()
    for s in "${SERVERS[@]}"; do
      local safe=${label//[^A-Za-z0-9]/_}
      local f="$out/${s}-${safe}.json"
      echo "== $label on $s" >&2
      # shellcheck disable=SC2086
      target/release/strata bench $args --duration "${SECS}s" --endpoint "${EP[$s]}" \
        --access-key "${AK[$s]}" --secret-key "${SK[$s]}" --json "$f" >/dev/null 2>"$f.err" || true
      val[$s]=$(python3 - "$f" "$metric" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("fail"); sys.exit()
tot = sum(x["mib_per_sec"] if sys.argv[2] == "mib" else x["ops_per_sec"] for x in r["results"])
errs = sum(x["errors"] for x in r["results"])
print(f"{tot:.1f}" + ("!" if errs else ""))
PY
)
    done
    local best_peer=0
    for s in s3s-fs garage; do
      local v=${val[$s]%!}; [[ $v == fail ]] && continue
      best_peer=$(python3 -c "print(max($best_peer, $v))")
    done
    table+=$'\n'"| $label ($metric/s) |"
    for s in "${SERVERS[@]}"; do
      local v=${val[$s]%!}
      if [[ $v == fail || $best_peer == 0 ]]; then table+=" ${val[$s]} |"; continue; fi
      table+=" ${val[$s]} ($(python3 -c "print(f'{$v/$best_peer:.2f}x')")) |"
    done
  done
  local when; when=$(date -u +%Y-%m-%dT%H:%MZ)
  {
    echo "# Strata and its peers, side by side"
    echo
    echo "Command: \`hack/bench-peers.sh\` (${SECS} s per cell), $when, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB."
    echo "Ratios are to the best peer (s3s-fs, garage) in the row; \`!\` marks a cell with failed requests."
    echo "Durability: Strata ON (every write on stable storage before the reply: syncfs barriers), garage ON (data_fsync, metadata_fsync), s3s-fs OFF (never syncs)."
    echo
    echo "$table"
  } | tee "${OUT:-hack/BENCH-PEERS.md}"
}

main "$@"
