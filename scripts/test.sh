#!/usr/bin/env bash
# Runs every check and test. CI's .ci/run calls exactly this.
# First run on a fresh machine installs what is missing (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The core is built for wasm32 by the two steps below (the app depends on it).
step "app component tests (wasm-bindgen-test in headless Chromium)"
# The runner (.cargo/config.toml) is wasm-bindgen-test-runner from setup.sh's
# wasm-bindgen-cli; it reads Chromium's options from app/webdriver.json.
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
  cargo test -p etcd-lens-app --target wasm32-unknown-unknown --locked --test components

step "build the app for the browser tests (target/e2e-dist)"
trunk build --dist target/e2e-dist

step "tests"
# One test at a time: the end-to-end tests each start etcd and a Chromium.
cargo test --workspace --locked -- --test-threads=1
