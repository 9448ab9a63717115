#!/usr/bin/env bash
# Installs what Strata's build, tests and tools need on a fresh Debian machine (run as root).
# Idempotent and quiet: only missing packages are installed.
set -euo pipefail

# The S3 tests drive real clients: the AWS CLI v2 (/usr/bin/aws), s3cmd, rclone, curl, and
# boto3 from a virtualenv (below).
packages=(xfsprogs e2fsprogs util-linux mount awscli s3cmd rclone curl python3-venv faketime)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# boto3 for tests/clients/*.py, which the S3 and CSI tests run with <repo>/.venv/bin/python,
# prometheus-client, whose parser reads the metrics pages as Prometheus does, and grpcio, a
# Python gRPC client on the CSI socket.
repo="$(cd "$(dirname "$0")/.." && pwd)"
if ! "$repo/.venv/bin/python" -c 'import boto3, prometheus_client, grpc, minio' >/dev/null 2>&1; then
  echo "installing boto3, prometheus-client and grpcio into $repo/.venv" >&2
  py=/usr/bin/python3
  [[ -x $py ]] || py=python3
  [[ -x $repo/.venv/bin/pip ]] || "$py" -m venv "$repo/.venv"
  "$repo/.venv/bin/pip" install -q --disable-pip-version-check boto3 prometheus-client grpcio minio
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install a Rust toolchain first" >&2
  exit 1
fi
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest" >&2
  cargo install --locked cargo-nextest >/dev/null
fi
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt
