#!/usr/bin/env bash
# Builds a wheel from the Python sdist the way pip does for a platform with no matching
# wheel (PEP 517, maturin fetched from PyPI into pip's isolated build environment), installs
# it into a fresh virtual environment and runs a smoke check against it:
#
#   scripts/sdist-check.sh [SDIST]     # default: a fresh `maturin sdist` of bindings-python
#
# The build uses the sdist's own Cargo.lock and a dev profile on this workspace's
# target/ so the registry crates already compiled here are reused; only inferwarden's own
# crates compile again, from the unpacked sdist.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sdist="${1:-}"
if [[ -z "$sdist" ]]; then
  "$root/.venv/bin/maturin" sdist -m "$root/bindings-python/Cargo.toml" --out "$work/sdist" >/dev/null
  sdist="$(ls "$work"/sdist/inferwarden-*.tar.gz)"
fi
echo "sdist-check: $(basename "$sdist")"
tar -tzf "$sdist" > "$work/contents"
for required in Cargo.lock pyproject.toml python/inferwarden/py.typed python/inferwarden/_native.pyi core/Cargo.toml cuda/kernels/frames.cu; do
  grep -q "^[^/]*/$required\$" "$work/contents" || { echo "sdist-check: the sdist lacks $required" >&2; exit 1; }
done
# The sdist's workspace lists only the crates the wheel needs, so cargo prunes the packed
# Cargo.lock to them when it builds (hence no --locked below): check that pruning it keeps
# every remaining crate at the version this repository locks.
mkdir -p "$work/unpacked"
tar -xzf "$sdist" -C "$work/unpacked"
unpacked="$(ls -d "$work"/unpacked/inferwarden-*)"
cp "$unpacked/Cargo.lock" "$work/Cargo.lock.packed"
(cd "$unpacked" && cargo metadata --offline --format-version 1 >/dev/null)
python3 - "$work/Cargo.lock.packed" "$unpacked/Cargo.lock" <<'PY'
import sys, tomllib
packed, pruned = ({(p["name"], p["version"]) for p in tomllib.load(open(f, "rb"))["package"]} for f in sys.argv[1:])
changed = pruned - packed
assert not changed, f"building the sdist re-resolves {sorted(changed)}"
print(f"sdist-check: its build uses {len(pruned)} of the {len(packed)} locked crates, every one at its locked version")
PY
python3 -m venv "$work/venv"
pip_quiet=(--quiet --disable-pip-version-check)
"$work/venv/bin/pip" install "${pip_quiet[@]}" --upgrade pip
CARGO_TARGET_DIR="$root/target" \
  MATURIN_PEP517_ARGS="--profile dev" \
  "$work/venv/bin/pip" wheel "${pip_quiet[@]}" --no-deps --wheel-dir "$work/wheel" "$sdist"
wheel="$(ls "$work"/wheel/inferwarden-*.whl)"
echo "sdist-check: built $(basename "$wheel")"
"$work/venv/bin/pip" install "${pip_quiet[@]}" "$wheel"
(cd "$work" && VIRTUAL_ENV_DIR="$work/venv" "$work/venv/bin/python" - <<'PY'
import os
import inferwarden
from inferwarden.errors import InferwardenError
assert os.path.dirname(inferwarden.__file__).startswith(os.environ["VIRTUAL_ENV_DIR"]), inferwarden.__file__
assert inferwarden.parse_task_ref("pool-2::t1").workspace == "pool-2"
try:
    inferwarden.parse_task_ref("ws::a::b")
except InferwardenError as err:
    assert err.code == "proxy_target_invalid", err.code
else:
    raise AssertionError("a malformed task id was accepted")
print("sdist-check: the wheel built from the sdist imports and decides")
PY
) 
