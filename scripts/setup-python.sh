#!/usr/bin/env bash
# Creates .venv (if missing) with the pinned build/test tools, builds the Python wheel with
# maturin (sharing the workspace target/ directory) and installs it into .venv.
# Usage: scripts/setup-python.sh [--release | --tools-only]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
profile_args=()
tools_only=0
if [[ "${1:-}" == "--release" ]]; then profile_args=(--release); fi
if [[ "${1:-}" == "--tools-only" ]]; then tools_only=1; fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-dev.txt
if [[ $tools_only -eq 1 ]]; then exit 0; fi

rm -rf target/wheels
.venv/bin/maturin build --quiet "${profile_args[@]}" -m bindings-python/Cargo.toml --interpreter .venv/bin/python --out target/wheels
.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/inferwarden-*.whl
