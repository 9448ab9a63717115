#!/usr/bin/env bash
# shellcheck disable=SC2317  # the cleanup functions run from traps
# hack/power-cut.sh — power-cut test of `strata server` in the VM lab (run on the host as root).
#
# The guest runs `strata server` on its own virtual disks (image files that outlive each boot,
# attached with cache=writeback, which honours the guest's flushes). A PUT/overwrite load
# (tests/clients/power_cut_load.py) logs every operation before it is sent and every
# acknowledgement after it arrived, to a host directory shared read-write. Once the load is
# running, the power is cut at a random moment: qemu is SIGKILLed, so the guest's page cache
# and everything else not yet on its disks is lost (a process kill would leave the page cache,
# and so the durability barriers, untested). The next boot first checks that every
# acknowledged write reads back byte-exact, then loads again; after the last round one more
# boot only checks. See hack/vm-lab/README.md ("Power-cut test").
#
# Exit: 0 when every check passed, 1 when a check found a lost or wrong acknowledged write (or
# the load saw errors), 2 when the harness or the lab failed.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$HERE/.." && pwd)
LOADPY=$REPO/tests/clients/power_cut_load.py

if [[ ${STRATA_VM_LAB:-} == 1 ]]; then
  # ---- inside the guest: disks, server, check, load ----------------------------------------
  : "${STRATA_PC_DIR:?}" "${STRATA_PC_ROUND:?}" "${STRATA_PC_MODE:?}" "${STRATA_PC_BIN:?}"
  DRIVES=${STRATA_PC_DRIVES:-6} PARITY=${STRATA_PC_PARITY:-2} R=$STRATA_PC_ROUND
  say() { echo "power-cut[guest $(cut -d' ' -f1 /proc/uptime)s]: $*"; }
  SPID=''
  stop_server() {
    [[ -n $SPID ]] || return 0
    kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    SPID=''
  }
  guest_cleanup() {
    local rc=$?
    set +e
    stop_server
    for ((i = 1; i <= DRIVES; i++)); do mountpoint -q "/mnt/pc/d$i" && umount "/mnt/pc/d$i"; done
    exit "$rc"
  }
  trap guest_cleanup EXIT
  # The disks by serial (no udev in the guest); builtins only, forks are slow under emulation.
  declare -A BY_SERIAL=()
  for s in /sys/block/*/serial; do
    read -r serial <"$s" || true
    b=${s%/serial}
    BY_SERIAL[$serial]=/dev/${b##*/}
  done
  for ((i = 0; i < DRIVES; i++)); do
    dev=${BY_SERIAL[vmlab-file$i]:-}
    [[ -n $dev ]] || { echo "power-cut: no disk with serial vmlab-file$i" >&2; exit 3; }
    if [[ ${STRATA_PC_FORMAT:-0} == 1 ]]; then
      mkfs.xfs -q -f -L "pc-d$((i + 1))" "$dev"
    fi
    mkdir -p "/mnt/pc/d$((i + 1))"
    mount -t xfs "$dev" "/mnt/pc/d$((i + 1))" ||
      { dmesg | tail -n 20 >&2; echo "power-cut: cannot mount $dev (vmlab-file$i)" >&2; exit 3; }
  done
  say "$DRIVES XFS disks mounted$([[ ${STRATA_PC_FORMAT:-0} == 1 ]] && echo ' (formatted)')"
  export STRATA_ROOT_USER=powercut STRATA_ROOT_PASSWORD=powercut-secret
  export S3_ENDPOINT=http://127.0.0.1:9000 S3_ACCESS_KEY=$STRATA_ROOT_USER S3_SECRET_KEY=$STRATA_ROOT_PASSWORD
  SLOG=$STRATA_PC_DIR/server-r$(printf %02d "$R").log
  WRAP=()
  [[ -n ${STRATA_PC_PRELOAD:-} ]] && WRAP=(env LD_PRELOAD="$STRATA_PC_PRELOAD")
  "${WRAP[@]}" "$STRATA_PC_BIN" server --address 127.0.0.1:9000 --parity "$PARITY" \
    "/mnt/pc/d{1...$DRIVES}" >>"$SLOG" 2>&1 &
  SPID=$!
  for ((i = 0; ; i++)); do
    curl -sf -o /dev/null http://127.0.0.1:9000/minio/health/ready && break
    if ! kill -0 "$SPID" 2>/dev/null || ((i > 900)); then
      tail -n 30 "$SLOG" >&2
      echo "power-cut: strata server did not become ready" >&2
      exit 3
    fi
    sleep 0.2
  done
  say "strata server ready ($DRIVES drives, parity $PARITY)"
  ARGS=(--log-dir "$STRATA_PC_DIR" --round "$R")
  DRV=()
  for ((i = 1; i <= DRIVES; i++)); do DRV+=("/mnt/pc/d$i"); done
  if [[ $STRATA_PC_MODE == load ]]; then
    # One Python process checks, then loads until the power is cut (it exits only when the
    # check failed, or the load itself did).
    [[ ${STRATA_PC_KEEP_GOING:-0} == 1 ]] && ARGS+=(--keep-going)
    rc=0
    python3 "$LOADPY" check-load "${ARGS[@]}" --clients "${STRATA_PC_CLIENTS:-3}" \
      --keys "${STRATA_PC_KEYS:-24}" --seed "${STRATA_PC_SEED:-1}" --drives "${DRV[@]}" || rc=$?
    ((rc == 0)) && rc=2
    echo "power-cut: the load ended (exit $rc) before the power was cut" >&2
    exit "$rc"
  fi
  rc=0
  python3 "$LOADPY" check "${ARGS[@]}" --drives "${DRV[@]}" || rc=$?
  say "check done (exit $rc)"
  stop_server
  exit "$rc"
fi

# ---- on the host --------------------------------------------------------------------------
usage() {
  cat >&2 <<'EOF'
usage: hack/power-cut.sh [options]

Boots the VM lab ROUNDS times on the same DRIVES disk images: `strata server` on them, a check
of every write acknowledged so far, a PUT/overwrite load, and a power cut (qemu SIGKILLed) at a
random moment of the load; then boots once more to check only. Needs root (the VM lab).

options (environment variables in brackets):
  --rounds R        power cuts (default 4) [STRATA_PC_ROUNDS]
  --drives N        disks, one erasure set (default 6) [STRATA_PC_DRIVES]
  --parity P        parity shards (default 2: a 4+2 set) [STRATA_PC_PARITY]
  --seed S          integer seed of the operations and the cut moments (default: random,
                    printed) [STRATA_PC_SEED]
  --kill-window A-B cut the power between A and B seconds after the load is running
                    (default 3-20) [STRATA_PC_KILL_WINDOW]
  --clients C       concurrent load clients (default 3) [STRATA_PC_CLIENTS]
  --keys K          keys, shared out among the clients (default 24) [STRATA_PC_KEYS]
  --slow-drives N   once the load runs, throttle the last N disks to --slow-iops I/O
                    operations per second (qemu's block_set_io_throttle; default 0): drives of
                    mixed speed widen the moment in which a write is durable on some drives
                    and not yet on others (mkfs, mount and log recovery stay at full speed)
  --slow-iops IOPS  (default 15)
  --disk-size SIZE  size of each disk image (default 2G, sparse)
  --smp N           guest CPUs (default: the VM lab's)
  --boot-timeout S  give up on a boot after S seconds (default 400)
  --keep-going      after a failed check, go on with the remaining rounds (later checks
                    then show whether later acknowledged writes survive); exit 1 all the same
  --no-sync         negative control: the server's syncfs, fsync and fdatasync become no-ops
                    (an LD_PRELOAD shim, built with cc); the test should then FAIL, which
                    shows that the power cut loses what was never made durable
  --keep DIR        keep the disk images and logs in DIR (created; default: a temporary
                    directory, removed at exit)
  --no-build        do not run `cargo build --bin strata` (uses target/debug/strata)
  --strata PATH     the strata binary to run (implies --no-build)
  -h, --help        this help
EOF
  exit "${1:-2}"
}

die() { echo "power-cut: $*" >&2; exit 2; }

ROUNDS=${STRATA_PC_ROUNDS:-4}
DRIVES=${STRATA_PC_DRIVES:-6}
PARITY=${STRATA_PC_PARITY:-2}
SEED=${STRATA_PC_SEED:-}
WINDOW=${STRATA_PC_KILL_WINDOW:-3-20}
CLIENTS=${STRATA_PC_CLIENTS:-3}
KEYS=${STRATA_PC_KEYS:-24}
DISK_SIZE=2G
SLOW=${STRATA_PC_SLOW_DRIVES:-0}
SLOW_IOPS=15
SMP=''
BOOT_TIMEOUT=400
KEEP=''
KEEP_GOING=0
NO_SYNC=0
BUILD=1
BIN=$REPO/target/debug/strata
while (($#)); do
  case "$1" in
    --rounds) ROUNDS=${2:?}; shift 2 ;;
    --drives) DRIVES=${2:?}; shift 2 ;;
    --parity) PARITY=${2:?}; shift 2 ;;
    --seed) SEED=${2:?}; shift 2 ;;
    --kill-window) WINDOW=${2:?}; shift 2 ;;
    --clients) CLIENTS=${2:?}; shift 2 ;;
    --keys) KEYS=${2:?}; shift 2 ;;
    --disk-size) DISK_SIZE=${2:?}; shift 2 ;;
    --slow-drives) SLOW=${2:?}; shift 2 ;;
    --slow-iops) SLOW_IOPS=${2:?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --boot-timeout) BOOT_TIMEOUT=${2:?}; shift 2 ;;
    --keep) KEEP=${2:?}; shift 2 ;;
    --keep-going) KEEP_GOING=1; shift ;;
    --no-sync) NO_SYNC=1; shift ;;
    --no-build) BUILD=0; shift ;;
    --strata) BIN=$(readlink -f -- "${2:?}"); BUILD=0; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "power-cut: unknown option '$1'" >&2; usage ;;
  esac
done
[[ -z $SEED ]] && SEED=$((RANDOM * 32768 + RANDOM))
for v in ROUNDS DRIVES PARITY SEED CLIENTS KEYS BOOT_TIMEOUT SLOW SLOW_IOPS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "--${v,,} takes a number (got '${!v}')"
done
[[ $WINDOW =~ ^([0-9]+)-([0-9]+)$ ]] || die "--kill-window takes MIN-MAX seconds (got '$WINDOW')"
KMIN=${BASH_REMATCH[1]} KMAX=${BASH_REMATCH[2]}
((KMIN <= KMAX)) || die "--kill-window $WINDOW: MIN is above MAX"
((ROUNDS >= 1 && DRIVES >= 2 && DRIVES <= 16 && PARITY >= 1 && 2 * PARITY <= DRIVES)) ||
  die "need rounds >= 1, 2..16 drives, 1 <= parity <= drives/2"
((SLOW <= DRIVES && SLOW_IOPS > 0)) || die "--slow-drives: at most --drives; --slow-iops: above 0"
((EUID == 0)) || die "run as root (the VM lab needs it)"

say() { echo "power-cut: $*"; }

if ((BUILD)); then
  say "building strata (cargo build --bin strata)"
  (cd "$REPO" && nice -n 15 cargo build --quiet --bin strata) || die "cargo build failed"
fi
[[ -x $BIN ]] || die "no strata binary at $BIN (build it, or --strata PATH)"
# The guest sees the host's / except /tmp (a fresh tmpfs there): a checkout or binary under
# /tmp (a CI clone) is shared into the guest at the same path.
SHARE=()
for p in "$REPO" "$BIN"; do
  if [[ $p == /tmp/* ]]; then
    [[ $p == "$REPO"/* || $p == "$REPO" ]] || die "$p is under /tmp, which the VM lab's guest cannot see"
    SHARE=(--rw "$REPO")
  fi
done
command -v python3 >/dev/null || die "python3 is missing"

# Everything lives in WORK: disk images, the shared log directory, the qemu pid file.
RUNPID=''
if [[ -n $KEEP ]]; then
  mkdir -p "$KEEP"
  WORK=$(readlink -f -- "$KEEP")
  [[ -z $(ls -A "$WORK") ]] || die "--keep $WORK: not empty"
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-power-cut.XXXXXX")
fi
cleanup() {
  local rc=$?
  set +e
  if [[ -n $RUNPID ]]; then
    kill "$RUNPID" 2>/dev/null   # run.sh stops its qemu and removes its files
    wait "$RUNPID" 2>/dev/null
  fi
  if [[ -z $KEEP ]]; then rm -rf "$WORK"; else say "kept $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

LOGS=$WORK/logs
mkdir -p "$LOGS"
PRELOAD=''
if ((NO_SYNC)); then
  # In the shared directory: the guest does not see the host's /tmp.
  PRELOAD=$LOGS/nosync.so
  command -v cc >/dev/null || die "--no-sync needs a C compiler (cc)"
  cc -shared -fPIC -O2 -o "$PRELOAD" -x c - <<'EOF' || die "cannot build the no-sync shim"
int syncfs(int fd) { (void)fd; return 0; }
int fsync(int fd) { (void)fd; return 0; }
int fdatasync(int fd) { (void)fd; return 0; }
void sync(void) {}
EOF
fi
LAB=("$HERE/vm-lab/run.sh" --timeout "$BOOT_TIMEOUT" --pid-file "$WORK/qemu.pid" --rw "$LOGS"
  --disk-size "$DISK_SIZE" "${SHARE[@]}")
[[ -n $SMP ]] && LAB+=(--smp "$SMP")
for ((i = 0; i < DRIVES; i++)); do LAB+=(--disk-file "$WORK/disk$i.img"); done
((SLOW)) && LAB+=(--qmp "$WORK/qmp.sock")

# block_set_io_throttle over QMP for the drive ids (run.sh calls them disk0.. in bus order).
throttle() { # IOPS DRIVE-ID...
  python3 - "$WORK/qmp.sock" "$@" <<'EOF'
import json, socket, sys
path, iops, ids = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
sock = socket.socket(socket.AF_UNIX)
sock.connect(path)
f = sock.makefile("rw")
def call(cmd, **args):
    f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n")
    f.flush()
    while True:  # skip events
        r = json.loads(f.readline())
        if "return" in r:
            return
        if "error" in r:
            sys.exit(f"QMP {cmd}: {r['error']}")
json.loads(f.readline())  # the greeting
call("qmp_capabilities")
for d in ids:
    call("block_set_io_throttle", device=d, bps=0, bps_rd=0, bps_wr=0, iops=iops, iops_rd=0, iops_wr=0)
EOF
}

RANDOM=$SEED
((NO_SYNC)) && say "NEGATIVE CONTROL (--no-sync): the server never syncs; this run should FAIL"
say "seed $SEED: $ROUNDS rounds, $DRIVES drives with parity $PARITY (a $((DRIVES - PARITY))+$PARITY set)," \
  "$CLIENTS clients on $KEYS keys, power cut ${KMIN}-${KMAX}s into the load$(
    ((SLOW)) && echo ", the last $SLOW disks at $SLOW_IOPS IOPS"); work dir $WORK"

acks() { cat "$LOGS"/r*-load-c*.log 2>/dev/null | grep -c '^ACK ' || true; }
# The check's JSON summary (its last line starting with '{') in a boot's output, or nothing.
summary() { grep '^{' "$1" | tail -n 1 || true; }
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

T0=$SECONDS
STATUS=0 CUTS=0 REPORT=()
for ((r = 1; r <= ROUNDS + 1; r++)); do
  mode=load; ((r > ROUNDS)) && mode=check
  out=$LOGS/guest-r$(printf %02d "$r").out
  marker=$LOGS/r$(printf %02d "$r").loading
  tb=$SECONDS
  say "boot $r/$((ROUNDS + 1)): $([[ $mode == load ]] && echo 'check, then load until the power cut' || echo 'final check')"
  "${LAB[@]}" -e STRATA_PC_MODE=$mode -e STRATA_PC_ROUND="$r" -e STRATA_PC_DIR="$LOGS" \
    -e STRATA_PC_FORMAT=$((r == 1)) -e STRATA_PC_BIN="$BIN" -e STRATA_PC_DRIVES="$DRIVES" \
    -e STRATA_PC_PARITY="$PARITY" -e STRATA_PC_CLIENTS="$CLIENTS" -e STRATA_PC_KEYS="$KEYS" \
    -e STRATA_PC_SEED="$SEED" -e STRATA_PC_KEEP_GOING=$KEEP_GOING -e STRATA_PC_PRELOAD="$PRELOAD" \
    -- "$HERE/power-cut.sh" >"$out" 2>&1 &
  RUNPID=$!
  cut=''
  if [[ $mode == load ]]; then
    while kill -0 "$RUNPID" 2>/dev/null && [[ ! -e $marker ]]; do sleep 0.2; done
    if [[ -e $marker ]]; then
      tenths=$((KMIN * 10 + RANDOM % ((KMAX - KMIN) * 10 + 1)))
      cut=$((tenths / 10)).$((tenths % 10))
      say "  load running after $((SECONDS - tb))s; cutting the power in ${cut}s"
      if ((SLOW)); then
        ids=()
        for ((i = DRIVES - SLOW; i < DRIVES; i++)); do ids+=("disk$i"); done
        throttle "$SLOW_IOPS" "${ids[@]}" || die "could not throttle ${ids[*]}"
      fi
      sleep "$cut"
      if kill -0 "$RUNPID" 2>/dev/null && [[ -s $WORK/qemu.pid ]]; then
        date +%s.%N >"${marker%.loading}.cut"
        kill -KILL "$(cat "$WORK/qemu.pid")" 2>/dev/null || true
      fi
    fi
  fi
  rc=0
  wait "$RUNPID" || rc=$?
  RUNPID=''
  sed 's/^/  | /' "$out"
  js=$(summary "$out")
  if [[ -n $js ]]; then
    if (($(field "$js" failures) > 0)); then
      STATUS=1
      say "  CHECK FAILED: acknowledged writes lost, wrong or unreadable (details above)"
    fi
    REPORT+=("boot $r: check of $(field "$js" keys_checked) keys after $(field "$js" acked_ops) acked ops: $(
      field "$js" present) present, $(field "$js" absent) absent, $(field "$js" in_doubt) in doubt ($(
      field "$js" in_doubt_took_effect) took effect), $(field "$js" failures) failures")
  fi
  if [[ $mode == load && $rc == 123 ]]; then
    CUTS=$((CUTS + 1))
    say "  power cut ${cut}s into the load, $((SECONDS - tb))s after boot; $(acks) operations acknowledged so far"
    REPORT+=("boot $r: power cut ${cut}s into the load ($(acks) acked ops in total by then)")
    continue
  fi
  if [[ $mode == check && $rc == 0 ]]; then
    say "  final check passed ($((SECONDS - tb))s)"
    continue
  fi
  case $rc in
    1) STATUS=1 ;;
    123) say "  the power was cut, but not by this script (lab failure?)" ;;
    124) say "  the boot timed out after ${BOOT_TIMEOUT}s" ;;
    0) say "  the load ended before the power cut" ;;
    *) say "  the boot failed (exit $rc; 2 harness error, 3 guest setup, 125 lab)" ;;
  esac
  ((STATUS == 0)) && STATUS=2
  f=$LOGS/server-r$(printf %02d "$r").log
  [[ -s $f ]] && { echo "  last lines of $(basename "$f"):"; tail -n 15 "$f" | sed 's/^/  | /'; }
  break
done

echo
say "summary (seed $SEED, $DRIVES drives, parity $PARITY):"
for l in "${REPORT[@]}"; do echo "  $l"; done
js=''
for f in "$LOGS"/guest-r*.out; do s=$(summary "$f"); [[ -n $s ]] && js=$s; done
checked=0
[[ -n $js ]] && checked=$(field "$js" keys_checked)
say "rounds with a power cut: $CUTS/$ROUNDS; acknowledged operations: $(acks);" \
  "keys checked (last check): $checked; time $((SECONDS - T0))s;" \
  "status: $(case $STATUS in 0) echo PASS ;; 1) echo FAIL ;; *) echo 'ERROR (harness or lab)' ;; esac) (exit $STATUS)"
exit "$STATUS"
