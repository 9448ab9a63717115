#!/usr/bin/env bash
# Side-by-side erasure-codec benchmark, in one run on one core:
#   Strata (every kernel this CPU has)  vs  klauspost/reedsolomon (MinIO's Go codec)  vs  Intel ISA-L.
#
# Installs the peers from Debian packages (Go toolchain + klauspost source, libisal-dev),
# builds a tiny Go program and a tiny C program against them (no network beyond apt),
# builds Strata's codec_bench (src/codec/examples/), runs all three with the same shard sizes,
# data and matrix (Cauchy, so the parity checksums must agree), and prints one table.
#
# Units: GB/s (10^9 bytes per second) of DATA, i.e. k x shard length per call, single
# thread. Each figure is the best of 5 rounds (the machine may be shared).
#
# Environment: BENCH_SECS (seconds per measurement, default 1), BENCH_CPU (core to pin
# to, default 1), GEOMETRIES (default "4+2 8+4 12+4"), SIZES ("block" = 1 MiB / k per
# shard, as the engine splits a 1 MiB block; "1MiB" = 1 MiB shards; default both).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
secs="${BENCH_SECS:-1}"
cpu="${BENCH_CPU:-1}"
geometries="${GEOMETRIES:-4+2 8+4 12+4}"
sizes="${SIZES:-block 1MiB}"
work="$(mktemp -d /tmp/bench-codec.XXXXXX)"
trap 'rm -rf "$work"' EXIT

log() { printf '==> %s\n' "$*" >&2; }

install_peers() {
    local pkgs=(golang-go golang-github-klauspost-reedsolomon-dev libisal-dev)
    if dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
        return
    fi
    log "installing ${pkgs[*]} from Debian"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
}

build_go() {
    log "building the klauspost/reedsolomon benchmark (GOPATH mode, Debian's source)"
    mkdir -p "$work/go"
    cp "$here/klauspost_bench.go" "$work/go/main.go"
    (cd "$work/go" &&
        GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$work/gocache" \
            go build -o "$work/klauspost_bench" main.go)
}

build_c() {
    log "building the ISA-L benchmark"
    cc -O2 -Wall -o "$work/isal_bench" "$here/isal_bench.c" -lisal
}

build_strata() {
    log "building Strata's codec_bench (release)"
    local lock=(flock /tmp/strata-cargo.lock)
    command -v flock >/dev/null || lock=()
    (cd "$root" && "${lock[@]}" cargo build --release --quiet --example codec_bench)
    cp "$root/target/release/examples/codec_bench" "$work/codec_bench"
}

# run_all K M LEN SIZE: appends "SIZE RESULT impl k+m op gbps" / "SIZE CHECK impl k+m hash".
run_all() {
    local k=$1 m=$2 len=$3 size=$4 pin=()
    command -v taskset >/dev/null && pin=(taskset -c "$cpu")
    log "$k+$m, $size shards ($len bytes)"
    for prog in codec_bench klauspost_bench isal_bench; do
        "${pin[@]}" "$work/$prog" "$k" "$m" "$len" "$secs" | sed "s/^/$size /"
    done >>"$work/results.txt"
}

print_table() {
    python3 - "$work/results.txt" <<'EOF'
import sys, collections
res = collections.OrderedDict()
checks = collections.defaultdict(set)
impls = []
for line in open(sys.argv[1]):
    f = line.split()
    size, kind, impl, geo = f[0], f[1], f[2], f[3]
    if impl not in impls:
        impls.append(impl)
    if kind == "CHECK":
        checks[(size, geo)].add(f[4])
    else:
        res[(size, geo, f[4])] = res.get((size, geo, f[4]), {})
        res[(size, geo, f[4])][impl] = float(f[5])
strata = [i for i in impls if i.startswith("strata-") and i != "strata-portable"]
peers = [i for i in impls if not i.startswith("strata-")]
cols = [i for i in impls if i.startswith("strata-")] + peers
short = {i: i.replace("strata-", "") for i in cols}
ratios = ["best/go", "best/isa-l", "avx2/isa-l-avx2"]
hdr = ["shards", "case", "op"] + [short[c] for c in cols] + ratios
rows = []
for (size, geo, op), v in res.items():
    best = max((v.get(i, 0) for i in strata), default=0)
    def ratio(a, b):
        return f"{a / b:.2f}x" if a and b else "-"
    row = [size, geo, op] + [f"{v[c]:.2f}" if c in v else "-" for c in cols]
    row += [ratio(best, v.get("klauspost-go")), ratio(best, v.get("isa-l")),
            ratio(v.get("strata-avx2"), v.get("isa-l-avx2"))]
    rows.append(row)
w = [max(len(str(r[i])) for r in rows + [hdr]) for i in range(len(hdr))]
fmt = lambda r: "| " + " | ".join(str(x).rjust(w[i]) for i, x in enumerate(r)) + " |"
print("GB/s of data (k x shard length per second), one core; best = fastest Strata SIMD kernel")
print(fmt(hdr))
print("|" + "|".join("-" * (x + 2) for x in w) + "|")
for r in rows:
    print(fmt(r))
bad = {k: v for k, v in checks.items() if len(v) != 1}
print()
if bad:
    print("PARITY MISMATCH between implementations:", bad)
    sys.exit(1)
print(f"parity checksums identical across all implementations for {len(checks)} cases "
      "(same Cauchy matrix: ISA-L gf_gen_cauchy1_matrix, klauspost WithCauchyMatrix)")
EOF
}

main() {
    install_peers
    build_go
    build_c
    build_strata
    : >"$work/results.txt"
    for size in $sizes; do
        for geo in $geometries; do
            local k=${geo%+*} m=${geo#*+} len
            case $size in
                block) len=$(((1 << 20) / k)) ;;
                1MiB) len=$((1 << 20)) ;;
                *) echo "unknown size $size" >&2; exit 2 ;;
            esac
            run_all "$k" "$m" "$len" "$size"
        done
    done
    echo
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)"
    echo "simd: $(grep -m1 -o -w -E 'avx2|avx512f|avx512bw|avx512vl|gfni|vpclmulqdq' /proc/cpuinfo | sort -u | tr '\n' ' ')"
    echo "peers: $(dpkg-query -W -f '${Package} ${Version}, ' golang-github-klauspost-reedsolomon-dev libisal-dev golang-go)"
    echo "rustc: $(rustc --version)"
    echo
    print_table
}

main "$@"
