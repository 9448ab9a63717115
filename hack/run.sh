#!/usr/bin/env bash
# The "run" command (README): installs what is needed, builds, and starts Strata's object
# server on an embedded default — a 4-drive erasure set (2 data + 2 parity) in folders under
# ./.strata-dev, on http://127.0.0.1:9000 with development credentials. Extra arguments go to
# `strata server` and win over these defaults (e.g. --address 127.0.0.1:9100).
# STRATA_BIN=path runs that binary instead of installing and building (the tests do).
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${STRATA_BIN:-}"
if [[ -z "$bin" ]]; then
  hack/deps.sh
  cargo build --release --quiet --bin strata --bin drivectl
  bin=target/release/strata
fi
defaults=(--address 127.0.0.1:9000)
for arg in "$@"; do
  case "$arg" in --address | --address=*) defaults=() ;; esac
done
exec "$bin" server --dev "${defaults[@]}" "$@"
