#!/usr/bin/env bash
# shellcheck disable=SC2054,SC2317  # qemu arguments contain commas; cleanup runs from a trap
# hack/vm-lab/run.sh — run one command as root inside a throw-away qemu guest that boots a
# Debian kernel with XFS quota support, sees the host's root filesystem at the same paths
# (read-only 9p under a writable overlay), and returns the command's output and exit code.
#
# Why: the host kernel here has no CONFIG_XFS_QUOTA (and no modules), so `mount -o prjquota`
# fails; Strata's drive tool and CSI driver need real XFS project quotas in their tests.
# See README.md beside this file.
set -euo pipefail

usage() {
  cat >&2 <<'EOF'
usage: hack/vm-lab/run.sh [options] -- COMMAND [ARGS...]

Runs COMMAND as root in a qemu guest (Debian kernel, XFS with quotas, loop devices) that sees
the host's / read-only at the same paths, with a throw-away writable layer on top and fresh
tmpfs on /tmp, /run and /var/lib/strata. The working directory is kept. COMMAND's stdout and
stderr come back on run.sh's stdout and stderr, its exit code is run.sh's exit code.

options:
  --mem MIB            guest memory in MiB (default 2048)
  --smp N              guest CPUs (default: host CPUs, at most 4; 1 is faster on a busy host)
  --disks N            attach N empty sparse disks (default 0) with serials vmlab-disk0..;
                       as virtio disks they are /dev/vdb.. (vda is the system disk)
  --disk-size SIZE     size of each disk, as for truncate(1) (default 2G)
  --disk-file PATH     attach the image file PATH as a persistent disk (repeatable), created
                       sparse at --disk-size when missing, kept after the run; the n-th one
                       has the serial vmlab-file<n> and comes after the --disks ones
  --disk-cache MODE    qemu cache mode of the --disk-file disks (default writeback: the
                       guest sees a write cache and its flushes reach the image with
                       fdatasync); none | writethrough | directsync | unsafe (ignores flushes)
  --disk-type T[,T..]  per-disk bus: virtio | nvme | ssd | hdd (SCSI, rotation rate 1 / 7200);
                       the last type repeats for the remaining disks, --disks ones first,
                       then the --disk-file ones (default virtio)
  --root-disk-size SZ  size of the system disk /dev/vda (default 8G, sparse): an ext4 disk
                       that holds the writable layer of / (so / has a real root disk)
  --no-root-disk       keep the writable layer of / in RAM (tmpfs) instead
  --rw DIR             share host DIR read-write at the same path in the guest (repeatable);
                       everything else written in the guest is thrown away
  -e, --env NAME[=VAL] pass an environment variable (repeatable); PATH, HOME, LANG, TERM, CI,
                       RUST_*, CARGO_TERM_* and STRATA_* are always passed
  --timeout SECONDS    kill the guest and fail (exit 124) after this long (default 600)
  --power-cut-after S  cut the power S seconds (decimals allowed) after qemu started: qemu is
                       SIGKILLed, the guest's memory (page cache, unflushed buffers, requests
                       in flight) is lost; exit 123 unless COMMAND had finished already
  --pid-file PATH      write qemu's pid to PATH (removed when run.sh exits), so the caller
                       can cut the power itself with kill -KILL; a SIGKILLed qemu then also
                       means exit 123
  --qmp PATH           a QMP socket at PATH (removed when run.sh exits), to change the running
                       guest's hardware, e.g. block_set_io_throttle; the extra disks' drive
                       ids are disk0.. in bus order (--disks ones first)
  --debug              show the guest kernel log and init trace on stderr
  -h, --help           this help

exit codes: COMMAND's own; 123 when the power was cut before COMMAND finished; 124 on
  timeout; 125 when the lab itself failed.
environment: STRATA_VM_CACHE (cache dir, default ~/.cache/strata-vm-lab),
  STRATA_VM_ACCEL (tcg | kvm; default: probe kvm once, fall back to tcg),
  STRATA_VM_KERNEL_PKG (default linux-image-amd64), STRATA_VM_EXTRA_MODULES (module names),
  STRATA_VM_QEMU_EXTRA (more qemu arguments, split on spaces).
EOF
  exit "${1:-125}"
}

die() { echo "vm-lab: $*" >&2; exit 125; }

MEM=2048
# As many guest CPUs as host CPUs (at most 4). On a host busy with other work, --smp 1 is faster:
# emulated CPUs then contend with each other and with qemu's I/O threads.
SMP=$(nproc 2>/dev/null || echo 2); ((SMP > 4)) && SMP=4
DISKS=0
DISK_SIZE=2G
DISK_TYPES=virtio
ROOT_DISK_SIZE=8G
TIMEOUT=${STRATA_VM_TIMEOUT:-600}
DEBUG=0
EXTRA_ENV=()
RW_DIRS=()
DISK_FILES=()
DISK_CACHE=writeback
POWER_CUT_AFTER=''
PID_FILE=''
QMP=''

while (($#)); do
  case "$1" in
    --mem) MEM=${2:?}; shift 2 ;;
    --smp) SMP=${2:?}; shift 2 ;;
    --disks) DISKS=${2:?}; shift 2 ;;
    --disk-size) DISK_SIZE=${2:?}; shift 2 ;;
    --disk-type) DISK_TYPES=${2:?}; shift 2 ;;
    --disk-file) DISK_FILES+=("$(readlink -f -- "${2:?}")"); shift 2 ;;
    --disk-cache) DISK_CACHE=${2:?}; shift 2 ;;
    --power-cut-after) POWER_CUT_AFTER=${2:?}; shift 2 ;;
    --pid-file) PID_FILE=$(readlink -f -- "${2:?}"); shift 2 ;;
    --qmp) QMP=$(readlink -f -- "${2:?}"); shift 2 ;;
    --root-disk-size) ROOT_DISK_SIZE=${2:?}; shift 2 ;;
    --no-root-disk) ROOT_DISK_SIZE=''; shift ;;
    --rw) RW_DIRS+=("$(readlink -f -- "${2:?}")"); shift 2 ;;
    -e|--env) EXTRA_ENV+=("${2:?}"); shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --debug) DEBUG=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) echo "vm-lab: unknown option '$1' (the command goes after --)" >&2; usage ;;
  esac
done
(($# > 0)) || usage
[[ $MEM =~ ^[0-9]+$ && $SMP =~ ^[0-9]+$ && $DISKS =~ ^[0-9]+$ && $TIMEOUT =~ ^[0-9]+$ ]] ||
  die "--mem, --smp, --disks and --timeout take numbers"
for d in "${RW_DIRS[@]}"; do [[ -d $d ]] || die "--rw $d: not a directory"; done
[[ -z $POWER_CUT_AFTER || $POWER_CUT_AFTER =~ ^[0-9]+(\.[0-9]+)?$ ]] ||
  die "--power-cut-after takes seconds"
case "$DISK_CACHE" in
  writeback|none|writethrough|directsync|unsafe) ;;
  *) die "--disk-cache: unknown mode '$DISK_CACHE' (writeback, none, writethrough, directsync, unsafe)" ;;
esac
for f in "${DISK_FILES[@]}"; do
  [[ -e $f ]] || truncate -s "$DISK_SIZE" "$f" 2>/dev/null || die "--disk-file $f: cannot create it"
  [[ -f $f && -r $f && -w $f ]] || die "--disk-file $f: not a readable and writable file"
done

SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
CACHE=${STRATA_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/strata-vm-lab}
KERNEL_PKG=${STRATA_VM_KERNEL_PKG:-linux-image-amd64}
MSIZE=262144
# Modules loaded in the guest at every boot (each after its dependencies), and per disk bus only
# when such disks are attached (each module load costs time under TCG).
MODULES="virtio_pci virtio_console virtio_rng 9pnet_virtio 9p overlay crc32c_generic crc32c_intel
  loop xfs ext4 ${STRATA_VM_EXTRA_MODULES:-}"
declare -A BUS_MODULES=([virtio]="virtio_blk" [nvme]="nvme" [scsi]="virtio_scsi sd_mod")

# Everything this run starts or creates is undone on exit, however it exits.
TMPS=() QPID='' READERS=() CUTTER=''
cleanup() {
  local rc=$?
  set +e
  [[ -n $CUTTER ]] && kill "$CUTTER" 2>/dev/null && wait "$CUTTER" 2>/dev/null
  [[ -n $QPID ]] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
  [[ -n $PID_FILE ]] && rm -f "$PID_FILE"
  [[ -n $QMP ]] && rm -f "$QMP"
  for p in "${READERS[@]}"; do kill "$p" 2>/dev/null; done
  for d in "${TMPS[@]}"; do rm -rf "$d"; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$CACHE"
INSTALL_LOG=$CACHE/install.log

# ---------------------------------------------------------------------------------------------
# Install step: host packages, the Debian kernel (extracted, never installed), the initramfs.
# ---------------------------------------------------------------------------------------------
apt_quiet() {
  # Run apt-get quietly; on failure refresh the package lists once and retry.
  local a=(apt-get -q -y -o DPkg::Lock::Timeout=600 -o APT::Sandbox::User=root)
  if ! DEBIAN_FRONTEND=noninteractive "${a[@]}" "$@" >>"$INSTALL_LOG" 2>&1; then
    DEBIAN_FRONTEND=noninteractive "${a[@]}" update >>"$INSTALL_LOG" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive "${a[@]}" "$@" >>"$INSTALL_LOG" 2>&1 ||
      { tail -n 30 "$INSTALL_LOG" >&2; die "apt-get $* failed (log: $INSTALL_LOG)"; }
  fi
}

ensure_host_packages() {
  local need=()
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
  [[ $(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null || true) == installed ]] ||
    need+=(busybox-static)
  ((${#need[@]})) || return 0
  ((EUID == 0)) || die "missing ${need[*]}: run as root (or: apt-get install ${need[*]})"
  apt_quiet install --no-install-recommends "${need[@]}"
}

ensure_kernel() {
  # Sets KDIR: $CACHE/<pkg>_<version>/ with vmlinuz, config, release and the .deb.
  if [[ -f $CACHE/kernel && -f $CACHE/$(cat "$CACHE/kernel")/vmlinuz ]]; then
    KDIR=$CACHE/$(cat "$CACHE/kernel"); return 0
  fi
  ((EUID == 0)) || die "the kernel is not cached yet: run once as root"
  local dl; dl=$(mktemp -d "$CACHE/download.XXXXXX")
  TMPS+=("$dl")
  (cd "$dl" && apt_quiet download "$KERNEL_PKG")
  local meta dep pkg ver deb
  meta=$(ls "$dl"/*.deb)
  dep=$(dpkg-deb -f "$meta" Depends)          # e.g. "linux-image-6.1.0-56-amd64 (= 6.1.192-2)"
  pkg=${dep%% *}
  ver=$(sed -n 's/.*(= *\([^)]*\)).*/\1/p' <<<"$dep")
  [[ $pkg == linux-image-* ]] || pkg=$KERNEL_PKG  # not a metapackage: use it as it is
  if [[ $pkg != "$KERNEL_PKG" ]]; then
    (cd "$dl" && apt_quiet download "$pkg${ver:+=$ver}")
    deb=$(ls "$dl"/"$pkg"_*.deb)
  else
    deb=$meta
  fi
  ver=$(dpkg-deb -f "$deb" Version)
  local id="${pkg}_${ver}" x="$dl/x"
  mkdir -p "$x"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$x" ./boot
  local cfg; cfg=$(ls "$x"/boot/config-*)
  grep -q '^CONFIG_XFS_QUOTA=y' "$cfg" || die "$pkg has no CONFIG_XFS_QUOTA=y"
  grep -Eq '^CONFIG_9P_FS=[ym]' "$cfg" || die "$pkg has no 9p filesystem"
  rm -rf "${CACHE:?}/$id.tmp"; mkdir -p "$CACHE/$id.tmp"
  cp "$x"/boot/vmlinuz-* "$CACHE/$id.tmp/vmlinuz"
  cp "$cfg" "$CACHE/$id.tmp/config"
  basename "$cfg" | sed 's/^config-//' >"$CACHE/$id.tmp/release"
  mv "$deb" "$CACHE/$id.tmp/kernel.deb"
  rm -rf "${CACHE:?}/$id"; mv "$CACHE/$id.tmp" "$CACHE/$id"
  echo "$id" >"$CACHE/kernel.tmp"; mv "$CACHE/kernel.tmp" "$CACHE/kernel"
  KDIR=$CACHE/$id
  rm -rf "$dl"
}

# The guest's PID 1 in the initramfs: load modules, build the root, switch to it.
write_init() {
  cat <<'EOF'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
DEBUG=0 BUSES= ROOTDISK=
for a in $(cat /proc/cmdline); do
  case "$a" in
    vmlab.debug) DEBUG=1 ;;
    vmlab.buses=*) BUSES=$(echo "${a#vmlab.buses=}" | tr , ' ') ;;
    vmlab.rootdisk=*) ROOTDISK=${a#vmlab.rootdisk=} ;;
    vmlab.probe) echo VMLAB-PROBE-OK >/dev/ttyS0; poweroff -f ;;
  esac
done
[ "$DEBUG" = 1 ] && set -x
fail() { echo "vm-lab init: $*" >/dev/ttyS0; poweroff -f; sleep 10; }
for l in /modules.list $(for b in $BUSES; do echo "/modules-$b.list"; done); do
  while read -r m; do
    [ -z "$m" ] || [ -d "/sys/module/$m" ] || insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
  done <"$l"
done
O9P="trans=virtio,version=9p2000.L,msize=MSIZE"
mkdir -p /lower /upper /newroot
mount -t 9p -o "$O9P,ro,cache=loose" hostroot /lower || fail "cannot mount the host root (9p)"
if [ -n "$ROOTDISK" ]; then
  # The writable layer of / lives on the system disk, which then is /'s real root disk.
  i=0; while [ ! -b "$ROOTDISK" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  mount -t ext4 -o noinit_itable "$ROOTDISK" /upper || fail "cannot mount the system disk $ROOTDISK"
  SRC=$ROOTDISK
else
  mount -t tmpfs -o mode=0755 vmlab-upper /upper
  SRC=vmlab-root
fi
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work,index=off,xino=off,redirect_dir=off,metacopy=off "$SRC" /newroot ||
  fail "cannot mount the overlay root"
R=/newroot
for d in tmp run var/lib/strata dev proc sys; do mkdir -p "$R/$d"; done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$R/tmp"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$R/run"
mount -t tmpfs -o mode=0755 tmpfs "$R/var/lib/strata"
mkdir -p "$R/run/vm-lab/xfer" "$R/run/vm-lab/bin"
if [ -n "$ROOTDISK" ]; then
  mkdir -p "$R/run/vm-lab/rootdisk" && mount --move /upper "$R/run/vm-lab/rootdisk"
fi
mount -t 9p -o "$O9P,cache=none" vmlabxfer "$R/run/vm-lab/xfer" || fail "cannot mount the transfer dir"
if [ -f "$R/run/vm-lab/xfer/rw.list" ]; then
  while read -r tag path; do
    mkdir -p "$R$path" && mount -t 9p -o "$O9P,cache=none" "$tag" "$R$path" || fail "cannot mount --rw $path"
  done <"$R/run/vm-lab/xfer/rw.list"
fi
cp /bin/busybox /stage2 "$R/run/vm-lab/"
# As on an installed Debian system, the kernel's config is at /boot/config-$(uname -r).
mkdir -p "$R/boot" && cp /kconfig "$R/boot/config-$(uname -r)"
mount --move /dev "$R/dev"
mount --move /proc "$R/proc"
mount --move /sys "$R/sys"
exec switch_root "$R" /run/vm-lab/busybox sh /run/vm-lab/stage2 "$DEBUG"
EOF
}

# PID 1 after switch_root: finish /dev, bring up lo, run the command, report, power off.
write_stage2() {
  cat <<'EOF'
#!/run/vm-lab/busybox sh
/run/vm-lab/busybox --install -s /run/vm-lab/bin
export PATH=/run/vm-lab/bin
[ "$1" = 1 ] && set -x
X=/run/vm-lab/xfer
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
ln -sf /proc/kcore /dev/core
ifconfig lo 127.0.0.1 netmask 255.0.0.0 up
hostname vm-lab
# Wait for the extra disks (NVMe probes asynchronously).
want=$(cat $X/disks 2>/dev/null || echo 0)
i=0
while [ "$(ls /sys/block | grep -Ecv '^(loop|ram|zram)')" -lt "$want" ] && [ $i -lt 300 ]; do
  sleep 0.1; i=$((i + 1))
done
out=/dev/ttyS0 err=/dev/ttyS0
for p in /sys/class/virtio-ports/*; do
  case "$(cat "$p/name" 2>/dev/null)" in
    vmlab.stdout) out=/dev/${p##*/} ;;
    vmlab.stderr) err=/dev/${p##*/} ;;
  esac
done
env -i /bin/bash --noprofile --norc $X/cmd.sh </dev/null >"$out" 2>"$err"
echo $? >$X/rc.tmp && mv $X/rc.tmp $X/rc
sync
poweroff -f
EOF
}

module_file() { # name -> path of its .ko under $1 (names use _ where files may use -)
  local n=$2
  grep -m1 -E "/(${n//_/[-_]})\.ko\$" "$1/ko.list" || return 1
}

ensure_initramfs() {
  # Sets INITRD. Rebuilt when run.sh, the kernel, busybox or the extra modules change.
  local key
  key=$( { cat "$SELF"; cat "$KDIR/release"; sha256sum /bin/busybox; echo "$MODULES ${BUS_MODULES[*]} $MSIZE"; } |
    sha256sum | cut -c1-16)
  INITRD=$CACHE/initramfs-$(basename "$KDIR")-$key.img
  [[ -f $INITRD ]] && return 0
  local t; t=$(mktemp -d "$CACHE/initramfs.XXXXXX")
  TMPS+=("$t")
  local rel; rel=$(cat "$KDIR/release")
  dpkg-deb --fsys-tarfile "$KDIR/kernel.deb" | tar -x -C "$t" "./lib/modules/$rel/kernel"
  local mroot="$t/lib/modules/$rel/kernel"
  find "$mroot" -name '*.ko' >"$t/ko.list"
  local root="$t/root"
  mkdir -p "$root"/{bin,dev,proc,sys,lib/modules,newroot}
  cp /bin/busybox "$root/bin/busybox"
  for a in sh mount insmod mkdir cat cp echo poweroff sleep switch_root uname tr; do ln -s busybox "$root/bin/$a"; done
  # Resolve dependencies from each module's .modinfo "depends=" (no kmod needed on the host).
  declare -A seen=() base=()
  local order=()
  add_module() {
    local n=${1//-/_} f deps d
    [[ -n ${seen[$n]:-} ]] && return 0
    seen[$n]=1
    # Not a loadable module: built into the kernel (or absent; the required ones are checked).
    f=$(module_file "$t" "$n") || return 0
    deps=$(tr '\0' '\n' <"$f" | sed -n 's/^depends=//p' | head -n1)
    for d in ${deps//,/ }; do add_module "$d"; done
    order+=("$n")
    cp "$f" "$root/lib/modules/$n.ko"
  }
  local m g
  for m in $MODULES; do add_module "$m"; done
  printf '%s\n' "${order[@]}" >"$root/modules.list"
  for m in "${order[@]}"; do base[$m]=1; done
  for g in "${!BUS_MODULES[@]}"; do
    seen=(); for m in "${!base[@]}"; do seen[$m]=1; done
    order=()
    for m in ${BUS_MODULES[$g]}; do add_module "$m"; done
    printf '%s\n' "${order[@]}" >"$root/modules-$g.list"
  done
  for m in 9p 9pnet_virtio xfs loop overlay virtio_pci virtio_blk nvme sd_mod; do
    [[ -f $root/lib/modules/$m.ko ]] || die "kernel module $m not found in $(basename "$KDIR")"
  done
  write_init | sed "s/MSIZE/$MSIZE/" >"$root/init"
  write_stage2 >"$root/stage2"
  cp "$KDIR/config" "$root/kconfig"
  chmod 0755 "$root/init" "$root/stage2"
  (cd "$root" && find . | busybox cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 >"$t/initramfs.img"
  # Old images (another checkout's run.sh) are dropped after a week unused.
  find "$CACHE" -maxdepth 1 -name 'initramfs-*.img' -atime +7 -delete
  mv "$t/initramfs.img" "$INITRD"
  rm -rf "$t"
}

# Does -accel kvm boot a guest here? (On this platform /dev/kvm exists but cannot run a normal
# guest kernel.) Probed once per host kernel and cached; STRATA_VM_ACCEL overrides.
choose_accel() {
  if [[ -n ${STRATA_VM_ACCEL:-} ]]; then ACCEL=$STRATA_VM_ACCEL; return 0; fi
  ACCEL=tcg
  [[ -r /dev/kvm && -w /dev/kvm ]] || return 0
  local f; f="$CACHE/accel-$(uname -r)"
  if [[ -f $f ]]; then ACCEL=$(cat "$f"); return 0; fi
  if timeout -k 2 20 qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
      -accel kvm -cpu host -m 256 -kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
      -append "console=ttyS0 quiet loglevel=0 panic=-1 vmlab.probe" -serial stdio \
      </dev/null 2>/dev/null | grep -q VMLAB-PROBE-OK; then
    ACCEL=kvm
  fi
  echo "$ACCEL" >"$f"
}

exec 9>"$CACHE/lock"
flock 9
ensure_host_packages
ensure_kernel
ensure_initramfs
choose_accel
exec 9>&-

# ---------------------------------------------------------------------------------------------
# One run.
# ---------------------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-vm-lab.XXXXXX")
TMPS+=("$WORK")
XFER=$WORK/xfer
mkdir -p "$XFER"

# The command script: working directory, environment, command, all quoted for bash.
{
  echo "# generated by hack/vm-lab/run.sh"
  printf 'cd -- %q || { echo "vm-lab: no working directory %s in the guest (/tmp, /run and /var/lib/strata are fresh tmpfs there; share a host directory with --rw)" >&2; exit 125; }\n' \
    "$PWD" "${PWD//[\"\$\`\\]/_}"
  printf 'export STRATA_VM_LAB=1\n'
  printf 'export PWD=%q\n' "$PWD"
  while IFS= read -r name; do
    case "$name" in
      PATH|HOME|USER|LOGNAME|LANG|LANGUAGE|LC_*|TERM|TZ|CI|NO_COLOR|CLICOLOR*|TMPDIR) ;;
      RUST_*|CARGO_TERM_*|STRATA_*) ;;
      *) continue ;;
    esac
    [[ $name == STRATA_VM_LAB ]] && continue
    printf 'export %s=%q\n' "$name" "${!name}"
  done < <(compgen -e)
  for kv in "${EXTRA_ENV[@]}"; do
    if [[ $kv == *=* ]]; then
      printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
    elif [[ -n ${!kv+x} ]]; then
      printf 'export %s=%q\n' "$kv" "${!kv}"
    fi
  done
  printf 'exec'; printf ' %q' "$@"; printf '\n'
} >"$XFER/cmd.sh"
echo $((DISKS + ${#DISK_FILES[@]} + (${#ROOT_DISK_SIZE} > 0))) >"$XFER/disks"
QPIDFILE=${PID_FILE:-$WORK/qemu.pid}

QEMU=(qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot
  -machine pc -m "$MEM" -smp "$SMP"
  -kernel "$KDIR/vmlinuz" -initrd "$INITRD" -pidfile "$QPIDFILE"
  -device virtio-rng-pci
  -virtfs "local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap"
  -virtfs "local,path=$XFER,mount_tag=vmlabxfer,security_model=passthrough,multidevs=remap"
  -chardev "pipe,id=con,path=$WORK/con" -serial chardev:con
  -device virtio-serial-pci,id=vser
  -chardev "pipe,id=out,path=$WORK/out" -device virtserialport,bus=vser.0,chardev=out,name=vmlab.stdout
  -chardev "pipe,id=err,path=$WORK/err" -device virtserialport,bus=vser.0,chardev=err,name=vmlab.stderr)
# qboot starts a -kernel guest faster than SeaBIOS.
[[ -f /usr/share/qemu/qboot.rom ]] && QEMU+=(-bios /usr/share/qemu/qboot.rom)
# shellcheck disable=SC2206
QEMU+=(${STRATA_VM_QEMU_EXTRA:-})
if [[ $ACCEL == kvm ]]; then QEMU+=(-accel kvm -cpu host); else QEMU+=(-accel tcg,thread=multi -cpu max); fi
[[ -n $QMP ]] && QEMU+=(-qmp "unix:${QMP//,/,,},server=on,wait=off")

i=0
for d in "${RW_DIRS[@]}"; do
  QEMU+=(-virtfs "local,path=$d,mount_tag=vmlabrw$i,security_model=passthrough,multidevs=remap")
  printf 'vmlabrw%d %s\n' "$i" "$d" >>"$XFER/rw.list"
  i=$((i + 1))
done

BUSES=
if [[ -n $ROOT_DISK_SIZE ]]; then
  truncate -s "$ROOT_DISK_SIZE" "$WORK/root.img"
  mkfs.ext4 -q -F -L vmlab-root -O ^has_journal "$WORK/root.img"
  QEMU+=(-drive "file=$WORK/root.img,if=none,id=rootdisk,format=raw,cache=unsafe,discard=unmap"
    -device "virtio-blk-pci,drive=rootdisk,serial=vmlab-root")
  BUSES+=,virtio
fi
IFS=, read -r -a types <<<"$DISK_TYPES"
scsi=0
# The throw-away disks (cache=unsafe: nothing of them outlives the run, flushes would only cost
# time), then the --disk-file ones, in the order given, so device names and serials are the
# same in every run with the same options.
for ((i = 0; i < DISKS + ${#DISK_FILES[@]}; i++)); do
  t=${types[i]:-${types[${#types[@]}-1]}}
  if ((i < DISKS)); then
    truncate -s "$DISK_SIZE" "$WORK/disk$i.img"
    file=$WORK/disk$i.img cache=unsafe serial=vmlab-disk$i
  else
    file=${DISK_FILES[i - DISKS]} cache=$DISK_CACHE serial=vmlab-file$((i - DISKS))
  fi
  QEMU+=(-drive "file=${file//,/,,},if=none,id=disk$i,format=raw,cache=$cache,discard=unmap")
  case "$t" in
    virtio) QEMU+=(-device "virtio-blk-pci,drive=disk$i,serial=$serial"); BUSES+=,virtio ;;
    nvme) QEMU+=(-device "nvme,drive=disk$i,serial=$serial"); BUSES+=,nvme ;;
    ssd|hdd)
      BUSES+=,scsi
      ((scsi)) || { QEMU+=(-device virtio-scsi-pci,id=scsi0); scsi=1; }
      rr=1; [[ $t == hdd ]] && rr=7200
      QEMU+=(-device "scsi-hd,bus=scsi0.0,drive=disk$i,serial=$serial,rotation_rate=$rr") ;;
    *) die "--disk-type: unknown type '$t' (virtio, nvme, ssd, hdd)" ;;
  esac
done

if ((DEBUG)); then
  APPEND="console=ttyS0 loglevel=7 panic=-1 vmlab.debug"
else
  APPEND="console=ttyS0 quiet loglevel=0 panic=-1"
fi
[[ -n $BUSES ]] && APPEND+=" vmlab.buses=${BUSES#,}"
[[ -n $ROOT_DISK_SIZE ]] && APPEND+=" vmlab.rootdisk=/dev/vda"
APPEND+=" rdinit=/init mitigations=off tsc=reliable no_timer_check random.trust_cpu=on"
QEMU+=(-append "$APPEND")

for c in con out err; do mkfifo "$WORK/$c.in" "$WORK/$c.out"; done
cat "$WORK/out.out" & READERS+=($!)
cat "$WORK/err.out" >&2 & READERS+=($!)
if ((DEBUG)); then
  cat "$WORK/con.out" >&2 & READERS+=($!)
else
  cat "$WORK/con.out" >"$WORK/console.log" & READERS+=($!)
fi

# The power cut: SIGKILL, so qemu neither shuts the guest down nor flushes anything for it.
# What the guest had handed to its disks stays in the images (the host's page cache outlives
# qemu); what was still in guest memory is gone.
CUT=$WORK/power-cut
power_cut_after() {
  local s='' pid i
  trap '[[ -n $s ]] && kill "$s" 2>/dev/null; exit 0' TERM
  sleep "$1" & s=$!
  wait "$s"; s=''
  for ((i = 0; i < 50; i++)); do [[ -s $QPIDFILE ]] && break; sleep 0.1; done
  pid=$(cat "$QPIDFILE" 2>/dev/null) || exit 0
  touch "$CUT"
  kill -KILL "$pid" 2>/dev/null || rm -f "$CUT"
}

START=$SECONDS
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null 2>"$WORK/qemu.log" &
QPID=$!
if [[ -n $POWER_CUT_AFTER ]]; then
  power_cut_after "$POWER_CUT_AFTER" &
  CUTTER=$!
fi
QRC=0
# (bash reports a SIGKILLed job on stderr after the wait; the redirection keeps that quiet.)
{ wait "$QPID" || QRC=$?; } 2>/dev/null
QPID=''
if [[ -n $CUTTER ]]; then
  kill "$CUTTER" 2>/dev/null || true
  wait "$CUTTER" 2>/dev/null || true
  CUTTER=''
fi
# qemu has exited: the readers see end-of-file once the pipes are drained. A reader still
# waiting to open its pipe (qemu failed before opening it) is released by a brief open here.
for c in con out err; do : <>"$WORK/$c.out"; done
for p in "${READERS[@]}"; do wait "$p" 2>/dev/null || true; done
READERS=()

if [[ -f $XFER/rc ]]; then
  exit "$(cat "$XFER/rc")"
fi
# A SIGKILLed qemu (timeout(1) reports 137 then) is a power cut when run.sh cut it, or when a
# caller holding the pid file may have; otherwise (say, the OOM killer) a lab failure.
if [[ -f $CUT ]] || { [[ -n $PID_FILE ]] && ((QRC == 137 && SECONDS - START < TIMEOUT)); }; then
  echo "vm-lab: power cut after $((SECONDS - START))s: qemu SIGKILLed before the command finished" >&2
  exit 123
fi
if ((QRC == 124)); then
  echo "vm-lab: timed out after ${TIMEOUT}s; guest killed" >&2
  RC=124
else
  echo "vm-lab: the guest stopped after $((SECONDS - START))s without running the command (qemu exit $QRC)" >&2
  RC=125
fi
[[ -s $WORK/qemu.log ]] && sed 's/^/vm-lab: qemu: /' "$WORK/qemu.log" >&2
[[ -s $WORK/console.log ]] && tail -n 40 "$WORK/console.log" | sed 's/^/vm-lab: console: /' >&2
exit "$RC"
