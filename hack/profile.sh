#!/usr/bin/env bash
# Profiles `strata server` under load: starts a release server on a 4-drive folder set, runs a
# `strata bench` workload against it while `perf` samples the server, and prints the hottest
# functions. Usage: hack/profile.sh [bench arguments...]   (default: put --size 1MiB -c 8)
# Needs linux-perf (Debian) and, for symbols, the release profile's debug info (Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
cargo build --release --quiet --bin strata
dir=$(mktemp -d /var/tmp/strata-profile.XXXXXX)
mkdir -p "$dir"/d{1..4}
STRATA_ROOT_USER=profileadmin STRATA_ROOT_PASSWORD=profilesecret target/release/strata server \
  --address 127.0.0.1:9399 "$dir"/d{1..4} >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
sleep 1
args=("$@"); [[ ${#args[@]} -gt 0 ]] || args=(put --size 1MiB -c 8)
AWS_ACCESS_KEY_ID=profileadmin AWS_SECRET_ACCESS_KEY=profilesecret \
  target/release/strata bench "${args[@]}" --duration 12s --endpoint http://127.0.0.1:9399 &
bench=$!
sleep 2
perf record -q -F 499 -g -p "$pid" -o "$dir/perf.data" -- sleep 8 2>/dev/null
wait $bench
perf report -i "$dir/perf.data" --no-children --stdio --percent-limit ${PCT:-1.5} 2>/dev/null | grep -v '^$' | head -60
