# Sourced by scripts/gpu-check.sh and scripts/cpu-bench.sh: `step NAME CMD...` runs one
# check, prints it between `=== NAME` markers, keeps its output in $out/NAME.log when $out
# is set, and records a failure in the `failed` array (returning 1) without stopping.
failed=()
step() {
  local name="$1"; shift
  echo
  echo "=== $name"
  local log=/dev/null
  [[ -n "${out:-}" ]] && { mkdir -p "$out"; log="$out/$name.log"; }
  if "$@" 2>&1 | tee "$log"; then
    echo "=== $name: ok"
  else
    echo "=== $name: FAILED"; failed+=("$name"); return 1
  fi
}
