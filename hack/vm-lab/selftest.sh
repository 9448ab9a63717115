#!/usr/bin/env bash
# hack/vm-lab/selftest.sh — proves that the VM lab gives real XFS project quotas.
#
# On the host it boots the lab (run.sh) and runs itself inside the guest, where it: makes a
# 1 GiB sparse file, attaches it with losetup, runs mkfs.xfs, mounts it with -o prjquota,
# puts a 10 MiB hard limit on project 42 for a directory, and checks that writing 20 MiB there
# fails after at most 10 MiB while the same write outside the directory succeeds. Exits
# non-zero if the quota is not enforced.
#
# Note: XFS reports a full *project* quota as ENOSPC ("No space left on device"), not EDQUOT
# ("Disk quota exceeded", which it uses for user and group quotas): xfs_trans_dqresv() returns
# -ENOSPC for project dquots so that a directory quota looks like a full filesystem, and df on
# the directory shows the limit as the size. Both errors are accepted here.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

if [[ ${STRATA_VM_LAB:-} != 1 ]]; then
  # Host side: the guest runs the host's binaries, so xfsprogs must be on the host.
  if ! command -v mkfs.xfs >/dev/null || ! command -v xfs_quota >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
      install --no-install-recommends xfsprogs >/dev/null
  fi
  exec "$HERE/run.sh" "$@" -- "$HERE/selftest.sh"
fi

# ---- inside the guest -----------------------------------------------------------------------
echo "selftest: kernel $(uname -r), $(nproc) CPU(s)"
T=$(mktemp -d /tmp/vm-lab-selftest.XXXXXX)
LOOP=''
cleanup() {
  mountpoint -q "$T/mnt" 2>/dev/null && umount "$T/mnt"
  [[ -n $LOOP ]] && losetup -d "$LOOP"
  rm -rf "$T"
}
trap cleanup EXIT

truncate -s 1G "$T/disk.img"
LOOP=$(losetup --find --show "$T/disk.img")
echo "selftest: attached $T/disk.img as $LOOP"
mkfs.xfs -q "$LOOP"
mkdir -p "$T/mnt"
mount -o prjquota "$LOOP" "$T/mnt"
grep -E " $T/mnt xfs " /proc/self/mounts | sed 's/^/selftest: mounted /'

mkdir "$T/mnt/vol"
xfs_quota -x -c "project -s -p $T/mnt/vol 42" -c 'limit -p bhard=10m 42' "$T/mnt" >/dev/null
xfs_quota -x -c 'report -p -b -h' "$T/mnt" | sed 's/^/selftest: /'

set +e
out=$(dd if=/dev/zero of="$T/mnt/vol/blob" bs=1M count=20 conv=fsync 2>&1)
rc=$?
set -e
while IFS= read -r line; do echo "selftest: dd: $line"; done <<<"$out"
used=$(du -m "$T/mnt/vol/blob" | cut -f1)
echo "selftest: dd exit $rc, $used MiB landed in the project directory"
if ((rc != 0)) && grep -Eq 'No space left on device|Disk quota exceeded' <<<"$out" && ((used <= 10)); then
  echo "selftest: PASS: the 10 MiB project quota stopped a 20 MiB write ($(grep -Eo 'No space left on device|Disk quota exceeded' <<<"$out"))"
else
  echo "selftest: FAIL: the project quota was not enforced" >&2
  exit 1
fi

df -h "$T/mnt/vol" | sed 's/^/selftest: df (project dir): /'

# Outside the project directory the same write succeeds: the filesystem itself was not full.
dd if=/dev/zero of="$T/mnt/free" bs=1M count=20 conv=fsync status=none
echo "selftest: PASS: the same write outside the project directory succeeds"
