#!/usr/bin/env bash
# The one test command: installs what it needs, builds every surface once (sharing target/),
# runs every check, and exits non-zero on any failure.
#
#   scripts/test.sh
#
# Steps: rustfmt check, clippy -D warnings, PostgreSQL + Redis started on loopback,
# cargo test (core, cuda, cli, cross-surface), rustdoc -D warnings + publish dry run + MSRV,
# Python wheel via maturin + pytest, Node addon via @napi-rs/cli + node:test, the generated
# index.js / index.d.ts drift check, then the release artifacts (scripts/release.sh --dev) and
# their install checks: the manylinux wheel and the npm tarballs in fresh environments without
# Rust (scripts/install-check.sh, scripts/node-install-check.sh) and a wheel built from the
# sdist (scripts/sdist-check.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_INCREMENTAL=0

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version; rustc --version; python3 --version; node --version; npm --version

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "services: PostgreSQL and Redis on loopback (stopped on exit)"
trap 'scripts/services.sh stop' EXIT
eval "$(scripts/services.sh start)"
export INFERWARDEN_REQUIRE_SERVICES=1

step "python tools (venv: maturin, pytest, numpy, fastapi, NVRTC from the nvidia-cuda-nvrtc-cu12 wheel)"
scripts/setup-python.sh --tools-only
nvrtc_lib="$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/nvidia/cuda_nvrtc/lib"
export LD_LIBRARY_PATH="$nvrtc_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export INFERWARDEN_REQUIRE_NVRTC=1

step "cargo test (workspace, bindings excluded: they are tested through Python and Node)"
cargo test --workspace --locked --exclude inferwarden-python --exclude inferwarden-node

step "rust crates: docs build with -D warnings, declared MSRV (the publish dry run is in the release step)"
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --locked -p inferwarden -p inferwarden-cuda --all-features
scripts/msrv-check.sh

step "SARIF 2.1.0 schema (official OASIS schema, shipped in the serde-sarif crate from crates.io)"
INFERWARDEN_SARIF_SCHEMA="$(scripts/sarif-schema.sh)"
export INFERWARDEN_SARIF_SCHEMA INFERWARDEN_REQUIRE_SARIF_SCHEMA=1
echo "$INFERWARDEN_SARIF_SCHEMA"

step "python: venv, maturin wheel, install"
scripts/setup-python.sh

step "pytest"
set +e
.venv/bin/python -m pytest -q tests/python
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  echo "pytest failed (exit $rc; 5 means no tests ran, which is a failure too)" >&2
  exit 1
fi

step "node: npm ci, napi build, generated file drift"
(cd bindings-node && npm ci --no-audit --no-fund --loglevel=error)
(cd bindings-node && npx napi build --platform)
if ! git diff --exit-code -- bindings-node/index.js bindings-node/index.d.ts; then
  echo "bindings-node/index.js or index.d.ts is stale: run 'cd bindings-node && npx napi build --platform' and commit" >&2
  exit 1
fi

step "node --test"
node --test tests/node/

step "release artifacts: scripts/release.sh --dev (manylinux_2_28 wheel + sdist, npm tarballs, crates through cargo publish --dry-run, CLI, SBOMs, SHA256SUMS)"
scripts/release.sh --dev
shopt -s nullglob
release_wheels=(dist/python/inferwarden-*.whl)
release_sdists=(dist/python/inferwarden-*.tar.gz)
shopt -u nullglob
[[ ${#release_wheels[@]} -eq 1 && ${#release_sdists[@]} -eq 1 ]] || { echo "expected one wheel and one sdist in dist/python" >&2; exit 1; }

step "python: the release wheel installed into fresh environments without Rust (demo + pytest)"
scripts/install-check.sh "${release_wheels[0]}"

step "python: a wheel built from the release sdist (PEP 517, as pip does)"
scripts/sdist-check.sh "${release_sdists[0]}"

step "node: the release tarballs installed into a fresh project without Rust (types, bin, vite build, node:test)"
scripts/node-install-check.sh dist/node

step "all checks passed"
