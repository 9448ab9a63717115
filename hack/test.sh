#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is needed, checks formatting and lints,
# runs every test. Tests use real loop devices and mounts, so this runs as root.
#
# The drive tests run twice: on this host (whose kernel may lack XFS quotas: then formatting
# must refuse cleanly) and inside the VM lab, whose Debian kernel has XFS project quotas, with
# STRATA_REQUIRE_QUOTA=1 so that quotas must really be enabled and enforced.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo nextest run --no-fail-fast

if [[ "${STRATA_SKIP_VM_LAB:-}" == 1 ]]; then
  echo "VM lab skipped (STRATA_SKIP_VM_LAB=1)" >&2
  exit 0
fi
exe=$(cargo test --no-run --test drive_loop --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])')
rw=()
case "$PWD" in /tmp/*) rw=(--rw "$PWD") ;; esac
echo "running the drive tests in the VM lab (kernel with XFS project quotas)" >&2
hack/vm-lab/run.sh "${rw[@]}" -e STRATA_REQUIRE_QUOTA=1 -- "$exe" --test-threads 2
