#!/usr/bin/env bash
# Runs every check and test. CI's .ci/run calls exactly this.
# First run on a fresh machine installs what is missing (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
# A test whose reference tool (Go bbolt, etcd 3.5/3.6/3.7, ssh-keygen, zstd) is
# missing fails here instead of passing quietly.
export ETCD_LENS_REQUIRE_ORACLES=1

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "the Kubernetes descriptor tables are what tools/k8s-descgen generates"
# From the pinned releases' protos that setup.sh put in Go's module cache (offline).
CARGO_TARGET_DIR=target/descgen cargo run --quiet --locked \
  --manifest-path tools/k8s-descgen/Cargo.toml -- "$PWD"
git diff --exit-code --stat -- wasm-core/src/k8s/generated.rs wasm-core/tests/k8s_every_kind/generated.rs \
  || { echo "generated.rs differs from the generator's output: rerun tools/k8s-descgen and commit"; exit 1; }

# The core is built for wasm32 by the two steps below (the app depends on it).
step "app component tests (wasm-bindgen-test in headless Chromium)"
# The runner (.cargo/config.toml) is wasm-bindgen-test-runner from setup.sh's
# wasm-bindgen-cli; it reads Chromium's options from app/webdriver.json.
CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver} \
  cargo test -p etcd-lens-app --target wasm32-unknown-unknown --locked --test components

step "build the app for the browser tests (target/e2e-dist)"
trunk build --dist target/e2e-dist

step "tests"
# One `cargo test` for the whole workspace: one feature resolution, so every
# crate is built once (two invocations, with and without the end-to-end
# crate, resolved features apart and rebuilt ~200 crates: 5.7 min cold).
# Test binaries run one after another; inside one, tests run side by side
# (each real etcd on its own random loopback ports), and the end-to-end tests
# take turns at the browser (tests/src/browser.rs: Turn).
cargo test --workspace --locked
