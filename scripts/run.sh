#!/usr/bin/env bash
# The main job: install what is missing, build the app (optimised) and serve it
# on http://127.0.0.1:8080/ with the default data folder. Extra arguments go to
# `etcd-lens serve` (e.g. --addr 127.0.0.1:9000, --data-dir DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="/opt/etcd-lens-tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
trunk build --release
cargo build --release --locked -p etcd-lens-server --bin etcd-lens
exec target/release/etcd-lens serve --dist dist "$@"
