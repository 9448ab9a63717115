#!/usr/bin/env bash
# The "run" command (README): installs what is needed, builds, and runs Strata's main job on
# this machine. For now that is drive discovery; the object server takes over when it lands.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/deps.sh
cargo build --quiet --bin drivectl
exec target/debug/drivectl list --all "$@"
