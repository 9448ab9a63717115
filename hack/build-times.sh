#!/usr/bin/env bash
# Build and test times of a source tree, as hack/BENCHMARKS.md records them:
#   hack/build-times.sh SRC_DIR S3_FILE LABEL
# a clean debug build of every test binary into an empty target directory, a rebuild after a
# comment line is appended to S3_FILE (removed again afterwards), then the whole test suite.
# Run it under the cargo lock, one tree at a time; the target directory is removed at the end.
set -euo pipefail
[[ $# == 3 ]] || { echo "usage: $0 SRC_DIR S3_FILE LABEL" >&2; exit 2; }
src=$1 file=$2 label=$3
cd "$src"
export CARGO_TARGET_DIR=/tmp/build-times-$label
rm -rf "$CARGO_TARGET_DIR"
trap 'rm -rf "$CARGO_TARGET_DIR"' EXIT
# Seconds the command took (its output goes to the log; a failure is said, not fatal).
timed() {
  local s e rc=0
  s=$(date +%s.%N)
  "$@" >>"/tmp/build-times-$label.log" 2>&1 || rc=$?
  e=$(date +%s.%N)
  echo "$(echo "$e - $s" | bc)$( ((rc == 0)) || echo " (failed, exit $rc)")"
}
echo "$label clean build: $(timed cargo nextest run --workspace --no-run) s"
echo "// build-times edit" >>"$file"
t=$(timed cargo nextest run --workspace --no-run)
sed -i '$ d' "$file"
echo "$label rebuild after editing $file: $t s"
echo "$label test run: $(timed cargo nextest run --workspace --no-fail-fast) s"
echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
