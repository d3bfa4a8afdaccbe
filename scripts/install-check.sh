#!/usr/bin/env bash
# Installs the built Python wheel the way a user does, into fresh virtual environments with
# no Rust toolchain on PATH, and runs the demo and the Python test suite against it:
#
#   scripts/install-check.sh [WHEEL]      # default: the one wheel in target/wheels/
#
# 1. the bare wheel (no extras): the core works, and `inferwarden.fastapi` / `inferwarden.frames`
#    say which extra to install instead of failing on a missing module;
# 2. the wheel with `[fastapi,frames]` plus the test tools: examples/demo.py and tests/python.
# Run from scripts/test.sh after the wheel is built (it needs the CLI and gateway binaries the
# suite starts, and the services' environment).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
wheel="${1:-}"
if [[ -z "$wheel" ]]; then
  shopt -s nullglob
  wheels=("$root"/target/wheels/inferwarden-*.whl)
  [[ ${#wheels[@]} -eq 1 ]] || { echo "expected one wheel in target/wheels, found ${#wheels[@]}" >&2; exit 2; }
  wheel="${wheels[0]}"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# No cargo, rustc or rustup on PATH: the wheel must not need them.
source "$root/scripts/lib/no-rust-path.sh"
pip_quiet=(--quiet --disable-pip-version-check)

echo "install-check: bare wheel $(basename "$wheel")"
python3 -m venv "$work/bare"
"$work/bare/bin/pip" install "${pip_quiet[@]}" "$wheel"
"$work/bare/bin/python" - <<'PY'
import inferwarden
assert inferwarden.parse_task_ref("pool-2::t1").is_remote
try:
    import inferwarden.fastapi  # noqa: F401
except ImportError as err:
    assert "inferwarden[fastapi]" in str(err), err
else:
    raise AssertionError("inferwarden.fastapi imported without its extra")
from inferwarden.frames import frames_to_u8
try:
    frames_to_u8([[[[[0.0]]]]])
except ImportError as err:
    assert "inferwarden[frames]" in str(err), err
else:
    raise AssertionError("frames_to_u8 ran without numpy")
print("install-check: bare wheel ok (each missing extra is named)")
PY

echo "install-check: wheel[fastapi,frames] + test tools"
python3 -m venv "$work/full"
"$work/full/bin/pip" install "${pip_quiet[@]}" "${wheel}[fastapi,frames]"
grep -v -e '^maturin' -e '^#' "$root/scripts/requirements-dev.txt" > "$work/tools.txt"
"$work/full/bin/pip" install "${pip_quiet[@]}" -r "$work/tools.txt"
location="$("$work/full/bin/python" -c 'import inferwarden, os; print(os.path.dirname(inferwarden.__file__))')"
case "$location" in
  "$work/full/"*) echo "install-check: inferwarden from $location" ;;
  *) echo "install-check: inferwarden imported from $location, not the fresh environment" >&2; exit 1 ;;
esac
# The demo reads INFERWARDEN_* overrides as a user's shell would give them; the test
# harness's own variables (service URLs, requirements) are not configuration fields.
demo_env=(env)
for name in $(compgen -e | grep '^INFERWARDEN_' || true); do demo_env+=(-u "$name"); done
(cd "$work" && "${demo_env[@]}" "$work/full/bin/python" "$root/examples/demo.py" > "$work/demo.log" 2>&1) || {
  tail -n 40 "$work/demo.log" >&2
  echo "install-check: the demo failed against the installed wheel" >&2
  exit 1
}
echo "install-check: demo ok ($(wc -l < "$work/demo.log") lines)"
set +e
(cd "$root" && "$work/full/bin/python" -m pytest -q -p no:cacheprovider tests/python)
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
  echo "install-check: pytest against the installed wheel failed (exit $rc)" >&2
  exit 1
fi
echo "install-check: passed"
