#!/usr/bin/env bash
# Verifies the declared minimum Rust version (`rust-version` in Cargo.toml): the published
# crates (core, cuda) with every feature must build with exactly that toolchain on the locked
# dependencies. When the active toolchain is that version, the ordinary build is the proof and
# this only checks the two agree; otherwise it installs the declared toolchain with rustup and
# checks with it (its own target directory).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
declared="$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)"
[[ -n "$declared" ]] || { echo "msrv-check: no rust-version in Cargo.toml" >&2; exit 1; }
active="$(rustc --version | awk '{print $2}')"
echo "msrv-check: declared $declared, active $active"
if [[ "$active" == "$declared" || "${active%.*}" == "$declared" ]]; then
  echo "msrv-check: the active toolchain is the declared one; the workspace build verifies it"
  exit 0
fi
rustup toolchain install "$declared" --profile minimal >&2
CARGO_TARGET_DIR="$root/target/msrv" cargo "+$declared" check --locked -p inferwarden -p inferwarden-cuda --all-features
echo "msrv-check: $declared builds core and cuda with every feature"
