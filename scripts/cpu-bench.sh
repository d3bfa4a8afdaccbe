#!/usr/bin/env bash
# CPU benchmarks on another machine: the figures of BENCHMARKS.md that this project's
# 2-vCPU development VM measures noisily, rerun on a host without a Rust toolchain (the
# lent GPU machines have none). Runs, each with the machine's facts first:
#   - the stale sweep on SQLite (bench binary `sweep_bench`, N = 1e4 and 1e6);
#   - the stale sweep on PostgreSQL (`sweep_bench_pg`), against a PostgreSQL 16 taken from
#     the `pgserver` wheel on PyPI (a relocatable build), started on loopback and stopped;
#   - remote-workspace resolution (the criterion bench `routing`);
#   - `validate_request` from Python against Pydantic v2 (benches/python/bench_catalogue.py).
#
# Usage:
#   scripts/cpu-bench.sh --bundle DIR   build here: bench binaries, the release wheel, wheels
#                                      of pydantic for CPython 3.10-3.13, PostgreSQL
#   scripts/cpu-bench.sh --from DIR     run a bundle on the other machine (from the
#                                      repository root, which holds the benches' inputs)
#   scripts/cpu-bench.sh                both, here
# Results: stdout, and one log per step in $OUT when it is set.
set -uo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
mode=all
bundle=""
case "${1:-}" in
  --bundle) mode=bundle; bundle="$2" ;;
  --from) mode=from; bundle="$2" ;;
  "") ;;
  *) echo "usage: $0 [--bundle DIR | --from DIR]" >&2; exit 2 ;;
esac
out="${OUT:-}"

build_bundle() {
  local dest="$1"
  rm -rf "$dest" && mkdir -p "$dest/wheels" "$dest/pg" || return 1
  cargo build --release --locked -p inferwarden-benches \
    --bin sweep_bench --bin sweep_bench_pg || return 1
  cp target/release/sweep_bench target/release/sweep_bench_pg "$dest/" || return 1
  local routing
  routing="$(cargo bench --locked -p inferwarden-benches --bench routing --no-run \
    --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "routing":
        print(m["executable"])
')"
  [[ -x "$routing" ]] || { echo "routing bench binary not found" >&2; return 1; }
  cp "$routing" "$dest/routing_bench" || return 1
  scripts/setup-python.sh --release >/dev/null || return 1
  cp target/wheels/inferwarden-*.whl "$dest/wheels/" || return 1
  local v
  for v in 3.10 3.11 3.12 3.13; do
    .venv/bin/python -m pip download -q --only-binary=:all: --python-version "$v" \
      --platform manylinux2014_x86_64 -d "$dest/wheels" pydantic==2.14.4 || return 1
  done
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux2014_x86_64 -d "$dest/pg" pgserver==0.1.4 || return 1
  (cd "$dest/pg" && python3 -m zipfile -e pgserver-*.whl x && rm pgserver-*.whl) || return 1
  # Only what initdb and the server need.
  rm -rf "$dest/pg/x/pgserver/pginstall/include" "$dest/pg/x/pgserver/pginstall/lib/"*.a \
    "$dest/pg/x/pgserver/pginstall/lib/postgresql/pgxs"
  find "$dest/pg/x/pgserver/pginstall/bin" -type f ! -name postgres ! -name initdb \
    ! -name pg_ctl ! -name psql -delete
  # Python's zipfile does not keep the executable bits.
  chmod +x "$dest/pg/x/pgserver/pginstall/bin/"*
  du -sh "$dest"
}

if [[ $mode == bundle ]]; then
  build_bundle "$bundle" || { echo "bundle failed" >&2; exit 1; }
  exit 0
fi
if [[ $mode == all ]]; then
  bundle="$root/target/cpu-bench"
  build_bundle "$bundle" || { echo "bundle failed" >&2; exit 1; }
fi
bundle="$(cd "$bundle" && pwd)"

# shellcheck source=scripts/step.sh
source "$root/scripts/step.sh"

machine() {
  date -u
  nproc
  grep -m1 'model name' /proc/cpuinfo
  uname -r
  python3 --version
}
step machine machine

step sweep-sqlite "$bundle/sweep_bench" 10000 1000000

# PostgreSQL as an unprivileged user (it refuses root), data and socket under /tmp.
pg_state="$(mktemp -d /tmp/iw-pg.XXXXXX)"
cp -r "$bundle/pg/x" "$pg_state/install"
chmod -R a+rX "$pg_state" && chmod a+x "$pg_state/install/pgserver/pginstall/bin/"*
pg_bin="$pg_state/install/pgserver/pginstall/bin"
as_pg=()
if [[ $(id -u) == 0 ]]; then as_pg=(runuser -u nobody --); chown -R nobody "$pg_state"; fi
pg_port=55433
pg_start() {
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_state/data" -A trust -U postgres >/dev/null &&
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_state/data" -l "$pg_state/pg.log" -w \
      -o "-p $pg_port -k $pg_state -c listen_addresses=127.0.0.1" start >/dev/null &&
    "${as_pg[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
      "CREATE DATABASE iw_bench" >/dev/null &&
    "${as_pg[@]}" "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
      "SELECT version(), current_setting('synchronous_commit'), current_setting('fsync')"
}
if step postgres-start pg_start; then
  step sweep-postgres env INFERWARDEN_BENCH_POSTGRES_URL="postgres://postgres@127.0.0.1:$pg_port/iw_bench" \
    "$bundle/sweep_bench_pg" 10000 1000000
fi
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_state/data" -m fast stop >/dev/null 2>&1 || true
rm -rf "$pg_state"

step routing "$bundle/routing_bench" --bench --warm-up-time 2 --measurement-time 4 --noplot

py_site="$(mktemp -d)"
if python3 -m pip install -q --no-index --find-links "$bundle/wheels" --target "$py_site" \
  inferwarden pydantic==2.14.4; then
  for i in 1 2 3; do
    step "catalogue-python-$i" env PYTHONPATH="$py_site" python3 benches/python/bench_catalogue.py
  done
else
  failed+=(python-install)
fi
rm -rf "$py_site"

echo
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all benchmarks ran"
