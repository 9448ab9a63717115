#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is needed, checks formatting and lints,
# runs every test. Tests use real loop devices and mounts, so this runs as root.
#
# The drive and CSI tests run twice: on this host (whose kernel may lack XFS quotas: then
# formatting must refuse cleanly and volumes go unlimited) and inside the VM lab, whose Debian
# kernel has XFS project quotas, with STRATA_REQUIRE_QUOTA=1 so that quotas must really be
# enabled and enforced.
set -euo pipefail
cd "$(dirname "$0")/.."

hack/deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Ends with the codec's kernel coverage table (.config/nextest.toml): which SIMD kernels ran
# on this CPU and which it could not run.
cargo nextest run --no-fail-fast

if [[ "${STRATA_SKIP_VM_LAB:-}" == 1 ]]; then
  echo "VM lab skipped (STRATA_SKIP_VM_LAB=1)" >&2
  exit 0
fi
# The tests that need XFS project quotas: drivectl's, the quota syscalls', the CSI driver's
# (modules of the end-to-end test binary).
mapfile -t exes < <(cargo test --no-run --test e2e --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])')
((${#exes[@]} == 1)) || { echo "expected the e2e test binary, found: ${exes[*]}" >&2; exit 1; }
rw=()
case "$PWD" in /tmp/*) rw=(--rw "$PWD") ;; esac
echo "running the drive and CSI tests in the VM lab (kernel with XFS project quotas)" >&2
# One guest (booting one costs ~10 s); the harness takes several name filters.
hack/vm-lab/run.sh "${rw[@]}" -e STRATA_REQUIRE_QUOTA=1 -- \
  "${exes[0]}" --test-threads 2 drive_loop:: csi_quota:: csi_driver::

# Power cuts: strata server in the VM lab on its own disks (4+2), a PUT/overwrite load, the VM
# killed at random moments and rebooted; every acknowledged write must read back byte-exact.
echo "running the power-cut test in the VM lab (about 4 minutes)" >&2
hack/power-cut.sh --no-build --strata "$(realpath "${CARGO_TARGET_DIR:-target}")/debug/strata"
