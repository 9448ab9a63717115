#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is needed, checks formatting and lints,
# runs every test. Tests use real loop devices and mounts, so this runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo nextest run --no-fail-fast
