#!/usr/bin/env bash
# Reruns the benchmarks recorded in BENCHMARKS.md: criterion (Rust), then the Python and
# Node call costs against release builds. Prints results; copy them into BENCHMARKS.md with
# the machine and date.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cargo bench -p inferwarden-benches -- --noplot
cargo run --release -q -p inferwarden-benches --bin proxy_bench -- 3000
# Audit log appends (SQLite; PostgreSQL too with INFERWARDEN_BENCH_POSTGRES_URL), full
# verification of 1,000,000 records and inclusion proofs.
cargo run --release -q -p inferwarden-benches --bin audit_bench -- 1000000
# One session lookup per store (PostgreSQL with INFERWARDEN_BENCH_POSTGRES_URL).
cargo run --release -q -p inferwarden-benches --bin session_bench -- 20000
scripts/setup-python.sh --release
.venv/bin/python benches/python/bench_task_ref.py
.venv/bin/python benches/python/bench_gate.py
# The gate on a real FastAPI request path under wrk (needs `apt-get install wrk`; PostgreSQL
# and Redis rows with INFERWARDEN_TEST_POSTGRES_URL / INFERWARDEN_TEST_REDIS_URL).
if command -v wrk >/dev/null; then .venv/bin/python benches/python/bench_gate_http.py 10; fi
(cd bindings-node && npm ci --no-audit --no-fund --loglevel=error && npx napi build --platform --release)
node benches/node/bench_task_ref.mjs
node benches/node/bench_gate.mjs
