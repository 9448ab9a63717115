#!/usr/bin/env bash
# The "run" command (README): installs what is needed, builds, and starts Strata's object
# server on an embedded default — a 4-drive erasure set (2 data + 2 parity) in folders under
# ./.strata-dev, on http://127.0.0.1:9000 with development credentials. Extra arguments go to
# `strata server` (e.g. --address 127.0.0.1:9100).
set -euo pipefail
cd "$(dirname "$0")/.."

hack/deps.sh
cargo build --release --quiet --bin strata --bin drivectl
exec target/release/strata server --dev --address 127.0.0.1:9000 "$@"
