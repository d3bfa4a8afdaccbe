"""Throughput and latency of the gate on the request path of a real FastAPI app (uvicorn,
one worker) under wrk, beside the bare route in the same run:

| configuration | route | gate work per request |
|---|---|---|
| bare | GET /health | none (no middleware) |
| null middleware | GET /health | a pure ASGI middleware that does nothing |
| middleware, API key | GET /gallery | in-process decision |
| + `Depends(gate_decision)` | GET /status/t1 | the same, read by the handler |
| SQLite sessions | GET /status/t1 + cookie | session lookup in SQLite |
| PostgreSQL + Redis | GET /admin/accounts + admin cookie | session lookup and touch in PostgreSQL, limiter in Redis |

Then the p99 latency of a trivial route (GET /health, one connection) alone and while 64
connections load the PostgreSQL + Redis path of the same process (at saturation), and the
same below saturation with a fixed-rate (open-loop) generator, `benches/src/bin/open_loop.rs`
(latency counted from when each request was due, as wrk2 does): GET /health at 200 req/s
alone, then beside the PostgreSQL + Redis path loaded at 25 % and 50 % of the throughput it
reached with 64 connections.

Run (after scripts/setup-python.sh --release and `apt-get install wrk`; PostgreSQL and Redis
from `eval "$(scripts/services.sh start)"`):

    .venv/bin/python benches/python/bench_gate_http.py [SECONDS] [--below-saturation-only]

Prints a markdown table; copy it into BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SECONDS = int(ARGS[0]) if ARGS else 10
BELOW_ONLY = "--below-saturation-only" in sys.argv
ROOT = HERE.parent.parent
OPEN_LOOP = ROOT / "target" / "release" / "open_loop"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, mode: str) -> None:
        self.port = free_port()
        self.tokens = Path(tempfile.mkdtemp(prefix="iw-bench-tokens-")) / "tokens.json"
        env = dict(os.environ, IW_BENCH_MODE=mode, IW_BENCH_TOKENS=str(self.tokens))
        env.setdefault("IW_BENCH_POSTGRES_URL", os.environ.get("INFERWARDEN_TEST_POSTGRES_URL", ""))
        env.setdefault("IW_BENCH_REDIS_URL", os.environ.get("INFERWARDEN_TEST_REDIS_URL", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "gate_http_app:app", "--port", str(self.port),
             "--workers", "1", "--log-level", "warning", "--no-access-log"],
            cwd=HERE, env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{mode}: the server did not start")
        self.cookies = json.loads(self.tokens.read_text()) if mode not in ("bare", "null") else {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wrk(url: str, connections: int, headers: list[str], seconds: int = SECONDS) -> subprocess.Popen[str]:
    args = ["wrk", "-t", "2" if connections > 1 else "1", "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    return subprocess.Popen([*args, url], stdout=subprocess.PIPE, text=True)


def parse(out: str) -> tuple[float, float, int]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, float(p99.group(1)) * scale, int(non2xx.group(1)) if non2xx else 0


def run(url: str, connections: int, headers: list[str]) -> tuple[float, float, int]:
    p = wrk(url, connections, headers)
    out, _ = p.communicate()
    return parse(out)


def open_loop(url: str, rate: float, connections: int, headers: list[str], seconds: int = SECONDS) -> subprocess.Popen[str]:
    args = [str(OPEN_LOOP), url, f"{rate:.0f}", str(seconds), "--connections", str(connections)]
    for h in headers:
        args += ["--header", h]
    return subprocess.Popen(args, stdout=subprocess.PIPE, text=True)


def open_loop_result(p: subprocess.Popen[str]) -> dict:
    out, _ = p.communicate()
    result = json.loads(out)
    assert result["errors"] == 0 and result["non2xx"] == 0, result
    return result


def below_saturation(saturated_rps: float) -> None:
    """The trivial route's latency at a fixed rate, alone and beside a fixed-rate load on the
    PostgreSQL + Redis path (nothing saturated)."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "inferwarden-benches", "--bin", "open_loop"],
                   cwd=ROOT, check=True)
    server = Server("postgres")
    try:
        cookie = [f"Cookie: {server.cookies['admin']}"]
        probe_rate = 200
        # Warm-up: the pool's connections and the statements are prepared.
        open_loop_result(open_loop(server.url("/admin/accounts"), 200, 16, cookie, 2))
        alone = open_loop_result(open_loop(server.url("/health"), probe_rate, 4, []))
        print(f"\nopen loop, {SECONDS} s each; PostgreSQL + Redis path saturated at {saturated_rps:,.0f} req/s (64 connections)\n")
        print("| load on the PostgreSQL + Redis path | its p50 / p99 ms | GET /health at 200 req/s: p50 / p99 ms | p99 rise |")
        print("|---|---|---|---|")
        print(f"| none | - | {alone['p50_ms']:.2f} / {alone['p99_ms']:.2f} | - |")
        for share in (0.25, 0.5):
            rate = saturated_rps * share
            load = open_loop(server.url("/admin/accounts"), rate, 16, cookie)
            probe = open_loop(server.url("/health"), probe_rate, 4, [])
            p, l = open_loop_result(probe), open_loop_result(load)
            print(f"| {rate:,.0f} req/s ({share:.0%} of saturation) | {l['p50_ms']:.2f} / {l['p99_ms']:.2f} "
                  f"| {p['p50_ms']:.2f} / {p['p99_ms']:.2f} | +{p['p99_ms'] - alone['p99_ms']:.2f} ms |")
    finally:
        server.stop()


def main() -> None:
    if BELOW_ONLY:
        server = Server("postgres")
        try:
            saturated, _, bad = run(server.url("/admin/accounts"), 64, [f"Cookie: {server.cookies['admin']}"])
            assert bad == 0
        finally:
            server.stop()
        below_saturation(saturated)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    configs = [
        ("bare route (no gate)", "bare", "/health", lambda c: []),
        ("a do-nothing ASGI middleware", "null", "/health", lambda c: []),
        ("GateMiddleware, API key (in memory)", "memory", "/gallery", lambda c: [f"X-API-Key: {c['api_key']}"]),
        ("+ Depends(gate_decision)", "memory", "/status/t1", lambda c: [f"X-API-Key: {c['api_key']}"]),
        ("SQLite sessions, session cookie", "sqlite", "/status/t1", lambda c: [f"Cookie: {c['generation']}"]),
        ("PostgreSQL sessions + Redis limiter, admin cookie", "postgres", "/admin/accounts", lambda c: [f"Cookie: {c['admin']}"]),
    ]
    if not (os.environ.get("INFERWARDEN_TEST_POSTGRES_URL") and os.environ.get("INFERWARDEN_TEST_REDIS_URL")):
        configs = [c for c in configs if c[1] != "postgres"]
        print("(no INFERWARDEN_TEST_POSTGRES_URL / _REDIS_URL: PostgreSQL + Redis skipped)")
    print(f"wrk {SECONDS} s per row, uvicorn 1 worker\n")
    print("| configuration | 16 conns req/s | p99 ms | 64 conns req/s | p99 ms | % of bare (16 / 64) |")
    print("|---|---|---|---|---|---|")
    bare: dict[int, float] = {}
    saturated = 0.0
    for name, mode, path, headers in configs:
        server = Server(mode)
        try:
            row = []
            for connections in (16, 64):
                rps, p99, bad = run(server.url(path), connections, headers(server.cookies))
                assert bad == 0, f"{name}: {bad} non-2xx responses"
                if mode == "bare":
                    bare[connections] = rps
                if mode == "postgres" and connections == 64:
                    saturated = rps
                row.append((rps, p99))
            share = " / ".join(f"{100 * r / bare[c]:.0f} %" for (r, _), c in zip(row, (16, 64)))
            print(f"| {name} | {row[0][0]:,.0f} | {row[0][1]:.2f} | {row[1][0]:,.0f} | {row[1][1]:.2f} | {share} |")
        finally:
            server.stop()
    if any(mode == "postgres" for _, mode, *_ in configs):
        server = Server("postgres")
        try:
            _, alone, _ = run(server.url("/health"), 1, [])
            load = wrk(server.url("/admin/accounts"), 64, [f"Cookie: {server.cookies['admin']}"])
            time.sleep(0.5)
            probe = wrk(server.url("/health"), 1, [], max(SECONDS - 1, 1))
            _, loaded, _ = parse(probe.communicate()[0])
            load.communicate()
            print(f"\ntrivial route (GET /health, 1 connection) p99: alone {alone:.2f} ms, "
                  f"while 64 connections load the PostgreSQL + Redis path {loaded:.2f} ms "
                  f"(+{loaded - alone:.2f} ms)")
        finally:
            server.stop()
        below_saturation(saturated)


if __name__ == "__main__":
    main()
