"""Throughput and latency of the gate on the request path of a real FastAPI app (uvicorn,
one worker) under wrk, beside the bare route in the same run:

| configuration | route | gate work per request |
|---|---|---|
| bare | GET /health | none (no middleware) |
| null middleware | GET /health | a pure ASGI middleware that does nothing |
| middleware, API key | GET /gallery | in-process decision |
| + `Depends(gate_decision)` | GET /status/t1 | the same, read by the handler |
| SQLite sessions | GET /status/t2 + cookie | session lookup in SQLite |
| PostgreSQL + Redis | GET /admin/accounts + admin cookie | session lookup and touch in PostgreSQL, limiter in Redis |

Each gated route is compared with the same route (same handler, same path parameter, an
``async def`` dependency that does nothing in place of ``gate_decision``) in the app without
the gate, sent the same header bytes (the credential, or a placeholder of its length), and
with the bare ``GET /health``. Every configuration runs once per round
(``IW_BENCH_REPEATS``, default 3), after a 2 s warm-up of its server; the table gives
medians and the range of the per-round ratios, and the server's CPU time per request (all
its threads, from ``/proc/PID/task/*/schedstat``), which is steadier than throughput on a
shared machine: its rise over the same route bare is the gate's cost. With two or more CPUs the server is pinned to the last CPU and wrk, PostgreSQL and
Redis to the others (the stores stand in for servers on other hosts: their own work does not
take the gated server's CPU, only the client side of each round trip does).

Then the p99 latency of a trivial route (GET /health, one connection) alone and while 64
connections load the PostgreSQL + Redis path of the same process (at saturation), and the
same below saturation with a fixed-rate (open-loop) generator, `benches/src/bin/open_loop.rs`
(latency counted from when each request was due, as wrk2 does): GET /health at 200 req/s
alone, then beside the PostgreSQL + Redis path loaded at 25 % and 50 % of the throughput it
reached with 64 connections, and beside the same loads on that route of the bare app (the
control: what the load alone brings on this machine).

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
REPEATS = int(os.environ.get("IW_BENCH_REPEATS", "3"))
# On a machine with at least two CPUs, the server gets the last CPU and the load generator the
# others (taskset), so the two do not take turns on one core and the ratios stop swinging.
CPUS = os.cpu_count() or 1
PIN = shutil.which("taskset") is not None and CPUS >= 2
SERVER_CPU = str(CPUS - 1)
CLIENT_CPUS = f"0-{CPUS - 2}" if CPUS > 2 else "0"
# What a baseline row sends in place of a credential the bare app never issued: the same
# length as the real one (API key as in gate_http_app.py, 43-character session tokens).
PLACEHOLDER_API_KEY = "bench-http-api-key-0123456789abcdef"
PLACEHOLDER_GENERATION = "gg_session=" + "x" * 43
PLACEHOLDER_ADMIN = "gg_admin_session=" + "x" * 43


def pinned(args: list[str], cpus: str) -> list[str]:
    return ["taskset", "-c", cpus, *args] if PIN else args


def pin_store_servers() -> None:
    """Moves the PostgreSQL and Redis servers named by the test URLs (found by their
    listening port) onto the load generator's CPUs; connections opened afterwards inherit it."""
    if not PIN:
        return
    for var in ("INFERWARDEN_TEST_POSTGRES_URL", "INFERWARDEN_TEST_REDIS_URL"):
        port = re.search(r":(\d+)/", os.environ.get(var, ""))
        if not port:
            continue
        out = subprocess.run(["ss", "-Hltnp", f"sport = :{port.group(1)}"], capture_output=True, text=True).stdout
        for pid in sorted(set(re.findall(r"pid=(\d+)", out))):
            subprocess.run(["taskset", "-a", "-p", "-c", CLIENT_CPUS, pid], check=True, capture_output=True)


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
            pinned([sys.executable, "-m", "uvicorn", "gate_http_app:app", "--port", str(self.port),
                    "--workers", "1", "--log-level", "warning", "--no-access-log"], SERVER_CPU),
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

    def cpu_ns(self) -> int | None:
        """CPU time the server's threads have run, ns (Linux), or None."""
        total, found = 0, False
        for stat in Path(f"/proc/{self.proc.pid}/task").glob("*/schedstat"):
            try:
                total += int(stat.read_text().split()[0])
                found = True
            except (OSError, ValueError, IndexError):
                pass
        return total if found else None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def wrk(url: str, connections: int, headers: list[str], seconds: int = SECONDS) -> subprocess.Popen[str]:
    threads = max(1, min(2, CPUS - 1)) if connections > 1 else 1
    args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    for h in headers:
        args += ["-H", h]
    return subprocess.Popen(pinned([*args, url], CLIENT_CPUS), stdout=subprocess.PIPE, text=True)


def requests_done(out: str) -> int:
    return int(re.search(r"(\d+) requests in", out).group(1))


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
    return subprocess.Popen(pinned(args, CLIENT_CPUS), stdout=subprocess.PIPE, text=True)


def open_loop_result(p: subprocess.Popen[str]) -> dict:
    out, _ = p.communicate()
    result = json.loads(out)
    assert result["errors"] == 0 and result["non2xx"] == 0, result
    return result


def below_saturation(saturated_rps: float) -> None:
    """The trivial route's latency at a fixed rate, alone and beside a fixed-rate load on the
    PostgreSQL + Redis path (nothing saturated), ``REPEATS`` rounds (each: alone, 25 %,
    50 %), every round's rows printed and the median rise of each load at the end. Each
    round also loads the same route of the bare app at the same rates (the control): the
    rise a load of that many requests brings without the gate, which is this machine's
    floor for the gated rise."""
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "inferwarden-benches", "--bin", "open_loop"],
                   cwd=ROOT, check=True)
    rises: dict[tuple[str, float], list[float]] = {(m, s): [] for m in ("postgres", "bare") for s in (0.25, 0.5)}
    probe_rate = 200
    print(f"\nopen loop, {SECONDS} s each, {REPEATS} rounds; PostgreSQL + Redis path saturated at {saturated_rps:,.0f} req/s "
          "(64 connections); control: the same loads on the route of the bare app\n")
    print("| round | server | load on GET /admin/accounts | its p50 / p99 ms | GET /health at 200 req/s: p50 / p99 ms | p99 rise |")
    print("|---|---|---|---|---|---|")
    for round_no in range(1, REPEATS + 1):
        for mode in ("postgres", "bare"):
            server = Server(mode)
            label = "gated (PostgreSQL + Redis)" if mode == "postgres" else "bare (control)"
            try:
                cookie = [f"Cookie: {server.cookies.get('admin', PLACEHOLDER_ADMIN)}"]
                # Warm-up: the pool's connections and the statements are prepared.
                open_loop_result(open_loop(server.url("/admin/accounts"), 200, 16, cookie, 2))
                alone = open_loop_result(open_loop(server.url("/health"), probe_rate, 4, []))
                print(f"| {round_no} | {label} | none | - | {alone['p50_ms']:.2f} / {alone['p99_ms']:.2f} | - |")
                for share in (0.25, 0.5):
                    rate = saturated_rps * share
                    load = open_loop(server.url("/admin/accounts"), rate, 16, cookie)
                    probe = open_loop(server.url("/health"), probe_rate, 4, [])
                    p, l = open_loop_result(probe), open_loop_result(load)
                    rise = p["p99_ms"] - alone["p99_ms"]
                    rises[(mode, share)].append(rise)
                    print(f"| {round_no} | {label} | {rate:,.0f} req/s ({share:.0%} of saturation) | {l['p50_ms']:.2f} / {l['p99_ms']:.2f} "
                          f"| {p['p50_ms']:.2f} / {p['p99_ms']:.2f} | {rise:+.2f} ms |")
            finally:
                server.stop()
    for (mode, share), values in rises.items():
        ordered = sorted(values)
        label = "gated" if mode == "postgres" else "control (bare app)"
        print(f"\np99 rise at {share:.0%} of saturation, {label}: median {ordered[len(ordered) // 2]:+.2f} ms "
              f"(rounds: {', '.join(f'{v:+.2f}' for v in values)})", end="")
    print()


def main() -> None:
    pin_store_servers()
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
    # (name, mode, path, headers, baseline): the baseline is the same route, same shape, in
    # the app without the gate.
    # The bare app ignores credentials, but it is sent the same header bytes as the gated row
    # it stands beside (a placeholder of the same length where the gated server issued a
    # token), so the gated row's share counts the gate's work and not the parsing of a
    # header the baseline never received.
    api = lambda c: [f"X-API-Key: {c.get('api_key', PLACEHOLDER_API_KEY)}"]
    generation = lambda c: [f"Cookie: {c.get('generation', PLACEHOLDER_GENERATION)}"]
    admin = lambda c: [f"Cookie: {c.get('admin', PLACEHOLDER_ADMIN)}"]
    configs = [
        ("bare route GET /health (no gate)", "bare", "/health", lambda c: [], None),
        ("a do-nothing ASGI middleware, GET /health", "null", "/health", lambda c: [], "bare /health"),
        ("bare GET /gallery (API key header, ignored)", "bare", "/gallery", api, None),
        ("GateMiddleware, API key (in memory), GET /gallery", "memory", "/gallery", api, "bare /gallery"),
        ("bare GET /status/t1 (a do-nothing async dependency; API key header, ignored)", "bare", "/status/t1", api, None),
        ("+ Depends(gate_decision), API key, GET /status/t1", "memory", "/status/t1", api, "bare /status/t1"),
        ("bare GET /status/t2 (the same, with a session cookie, ignored)", "bare", "/status/t2", generation, None),
        ("SQLite sessions, session cookie, GET /status/t2", "sqlite", "/status/t2", generation, "bare /status/t2"),
        ("bare GET /admin/accounts (a do-nothing async dependency; admin cookie, ignored)", "bare", "/admin/accounts", admin, None),
        ("PostgreSQL sessions + Redis limiter, admin cookie, GET /admin/accounts", "postgres", "/admin/accounts", admin, "bare /admin/accounts"),
    ]
    if not (os.environ.get("INFERWARDEN_TEST_POSTGRES_URL") and os.environ.get("INFERWARDEN_TEST_REDIS_URL")):
        configs = [c for c in configs if c[1] != "postgres"]
        print("(no INFERWARDEN_TEST_POSTGRES_URL / _REDIS_URL: PostgreSQL + Redis skipped)")
    print(f"wrk {SECONDS} s per cell, uvicorn 1 worker, {REPEATS} rounds (every configuration once per round); "
          + (f"server pinned to CPU {SERVER_CPU}, wrk, PostgreSQL and Redis to CPU {CLIENT_CPUS}" if PIN else "not pinned") + "\n")
    # results[name][connections] = [req/s per round]; p99s likewise
    results: dict[str, dict[int, list[float]]] = {name: {16: [], 64: []} for name, *_ in configs}
    p99s: dict[str, dict[int, list[float]]] = {name: {16: [], 64: []} for name, *_ in configs}
    cpu_us: dict[str, dict[int, list[float]]] = {name: {16: [], 64: []} for name, *_ in configs}
    for _ in range(REPEATS):
        for name, mode, path, headers, _baseline in configs:
            server = Server(mode)
            try:
                # Warm-up: imports done lazily, the interpreter's specialisation, prepared
                # statements, connection pools.
                wrk(server.url(path), 16, headers(server.cookies), 2).communicate()
                for connections in (16, 64):
                    before = server.cpu_ns()
                    out, _ = wrk(server.url(path), connections, headers(server.cookies)).communicate()
                    after = server.cpu_ns()
                    rps, p99, bad = parse(out)
                    assert bad == 0, f"{name}: {bad} non-2xx responses"
                    results[name][connections].append(rps)
                    p99s[name][connections].append(p99)
                    if before is not None and after is not None:
                        cpu_us[name][connections].append((after - before) / 1000 / requests_done(out))
            finally:
                server.stop()
    by_key = {f"{mode} {path}": name for name, mode, path, *_ in configs}

    def share(name: str, base: str, c: int) -> str:
        # the median of the per-round ratios (each round's pair ran minutes apart at most)
        ratios = sorted(r / b for r, b in zip(results[name][c], results[base][c]))
        return f"{100 * ratios[len(ratios) // 2]:.0f} % ({100 * ratios[0]:.0f}-{100 * ratios[-1]:.0f})"

    def cpu(name: str, base: str | None, c: int) -> str:
        values = sorted(cpu_us[name][c])
        if not values:
            return "-"
        median = values[len(values) // 2]
        if base is None:
            return f"{median:.1f}"
        base_values = sorted(cpu_us[base][c])
        return f"{median:.1f} ({median - base_values[len(base_values) // 2]:+.1f})"

    print("| configuration | 16 conns req/s (median) | p99 ms | 64 conns req/s (median) | p99 ms | % of the same route bare, 16 / 64 conns: median (range) | % of bare /health, 16 / 64 | server CPU us per request, 16 / 64 (median; + over the same route bare) |")
    print("|---|---|---|---|---|---|---|---|")
    health = by_key["bare /health"]
    saturated = 0.0
    for name, mode, path, _headers, baseline in configs:
        med = {c: sorted(results[name][c])[len(results[name][c]) // 2] for c in (16, 64)}
        p99 = {c: sorted(p99s[name][c])[len(p99s[name][c]) // 2] for c in (16, 64)}
        same = " / ".join(share(name, by_key[baseline], c) for c in (16, 64)) if baseline else "-"
        of_health = " / ".join(share(name, health, c) for c in (16, 64)) if name != health else "-"
        base = by_key[baseline] if baseline else None
        cpus = " / ".join(cpu(name, base, c) for c in (16, 64))
        print(f"| {name} | {med[16]:,.0f} | {p99[16]:.2f} | {med[64]:,.0f} | {p99[64]:.2f} | {same} | {of_health} | {cpus} |")
        if mode == "postgres":
            saturated = med[64]
    if any(c[1] == "postgres" for c in configs):
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
