"""Python call cost of a full gate decision and of a rate-limit check through the binding,
beside the baseline platforms use today: a pure-Python sliding-window log in SQLite called
per request (INSERT + COUNT in a window + DELETE of expired rows).

Run: .venv/bin/python benches/python/bench_gate.py   (after scripts/setup-python.sh --release)
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import sqlite3
import tempfile
import time
import timeit
from pathlib import Path
from urllib.parse import parse_qsl

import inferwarden

KEY = "bench-api-key-0123456789abcdef"


class SqliteSlidingWindow:
    """Baseline: the sliding-window log as a Python backend writes it."""

    def __init__(self, path: Path, limit: int, window_s: float) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS hits (key TEXT NOT NULL, ts REAL NOT NULL)")
        self.db.execute("CREATE INDEX IF NOT EXISTS hits_key_ts ON hits (key, ts)")
        self.limit, self.window = limit, window_s

    def check(self, key: str) -> bool:
        now = time.time()
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute("DELETE FROM hits WHERE key = ? AND ts <= ?", (key, now - self.window))
        (count,) = cur.execute("SELECT COUNT(*) FROM hits WHERE key = ? AND ts > ?", (key, now - self.window)).fetchone()
        ok = count < self.limit
        if ok:
            cur.execute("INSERT INTO hits (key, ts) VALUES (?, ?)", (key, now))
        cur.execute("COMMIT")
        return ok


def per_call_us(fn, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def awaited_us(make, number: int) -> float:
    """The cost of ``await make()`` inside a running loop (best of 5 batches)."""

    async def batch() -> float:
        t0 = time.perf_counter()
        for _ in range(number):
            await make()
        return time.perf_counter() - t0

    return min(asyncio.run(batch()) for _ in range(5)) / number * 1e6


def python_parts(scope: dict) -> tuple:
    """How GateMiddleware read an ASGI scope in Python before ``decide_asgi``."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("path", "/")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    client = scope.get("client")
    peer = str(ipaddress.ip_address(client[0])) if client else None
    return scope.get("method", "GET"), path, headers, query, peer


def middleware_costs(gate: "inferwarden.Gate") -> None:
    """The middleware's per-request work on a uvicorn-like scope with eight headers."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/gallery",
        "raw_path": b"/gallery",
        "query_string": b"limit=20",
        "client": ("127.0.0.1", 51234),
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) bench"),
            (b"accept", b"application/json"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"accept-language", b"en-US,en;q=0.9"),
            (b"connection", b"keep-alive"),
            (b"x-request-id", b"0f8fad5b-d9cb-469f-a165-70867728950e"),
            (b"x-api-key", KEY.encode()),
        ],
    }
    before = awaited_us(lambda: gate.decide_async(*python_parts(scope)), 20_000)
    now = awaited_us(lambda: gate.decide_asgi(scope), 20_000)
    print(f"middleware: Python scope reading + decide_async  {before:8.2f} us")
    print(f"middleware: decide_asgi (scope read in Rust)      {now:8.2f} us")


def sqlite_sessions(cfg: "inferwarden.PolicyConfig") -> None:
    """A session lookup in a SQLite file (WAL), the store's cache answering, on the event
    loop's path (`try_decide_scope`) and through `decide`."""
    with tempfile.TemporaryDirectory() as tmp:
        gate = inferwarden.Gate(cfg, session_store=f"sqlite:{Path(tmp) / 'sessions.db'}")
        d = gate.decide("POST", "/auth/session", [("X-API-Key", KEY)])
        token = gate.issue_session(d, "generation").token
        scope = {
            "type": "http", "method": "GET", "path": "/status/t2", "raw_path": b"/status/t2",
            "query_string": b"", "client": ("127.0.0.1", 51234),
            "headers": [(b"host", b"127.0.0.1:8000"), (b"cookie", f"gg_session={token}".encode())],
        }
        cookie = [("Cookie", f"gg_session={token}")]
        print(f"gate.try_decide_scope (SQLite session) {per_call_us(lambda: gate.try_decide_scope(scope), 200_000):8.2f} us")
        print(f"gate.decide (SQLite session)     {per_call_us(lambda: gate.decide('GET', '/status/t2', cookie), 50_000):8.2f} us")


def main() -> None:
    cfg = inferwarden.PolicyConfig.from_text(f'[auth]\napi_keys = ["{KEY}"]\n[rate_limits.admin_bootstrap]\nlimit = 1000000000\nwindow_s = 60\n')
    gate = inferwarden.Gate(cfg)
    headers = [("X-API-Key", KEY), ("Accept", "application/json")]
    d = gate.decide("POST", "/auth/session", [("X-API-Key", KEY)])
    token = gate.issue_session(d, "generation").token
    cookie = [("Cookie", f"gg_session={token}")]
    middleware_costs(gate)
    print(f"gate.decide (API key)            {per_call_us(lambda: gate.decide('GET', '/status/t1', headers), 50_000):8.2f} us")
    print(f"gate.decide (memory session)     {per_call_us(lambda: gate.decide('GET', '/status/t1', cookie), 50_000):8.2f} us")
    sqlite_sessions(cfg)
    # The throttled route with a limit high enough never to refuse: the cost of CORS +
    # classification + an in-memory limiter check + the admin-key compare + its audit event.
    boot = [("x-admin-key", "wrong")]
    rl = per_call_us(lambda: gate.decide("POST", "/admin/session", boot, peer="203.0.113.9"), 20_000)
    print(f"gate.decide (throttled route)    {rl:8.2f} us")
    redis_url = os.environ.get("INFERWARDEN_TEST_REDIS_URL")
    if redis_url:
        # Same decision with the limiter in Redis: one EVALSHA round trip on loopback.
        rgate = inferwarden.Gate(cfg, rate_limiter=redis_url)
        rl_redis = per_call_us(lambda: rgate.decide("POST", "/admin/session", boot, peer="203.0.113.10"), 5_000)
        print(f"gate.decide (throttled, Redis)   {rl_redis:8.2f} us  (Redis round trip adds {rl_redis - rl:.2f} us)")
    with tempfile.TemporaryDirectory() as tmp:
        base = SqliteSlidingWindow(Path(tmp) / "rl.db", 1_000_000_000, 60.0)
        base_us = per_call_us(lambda: base.check("203.0.113.9"), 5_000)
    print(f"baseline: python+sqlite window   {base_us:8.2f} us  (ratio vs throttled gate decision: {base_us / rl:.1f}x)")


if __name__ == "__main__":
    main()
