"""Python call cost of a full gate decision and of a rate-limit check through the binding,
beside the baseline platforms use today: a pure-Python sliding-window log in SQLite called
per request (INSERT + COUNT in a window + DELETE of expired rows).

Run: .venv/bin/python benches/python/bench_gate.py   (after scripts/setup-python.sh --release)
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
import timeit
from pathlib import Path

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


def main() -> None:
    cfg = inferwarden.PolicyConfig.from_text(f'[auth]\napi_keys = ["{KEY}"]\n[rate_limits.admin_bootstrap]\nlimit = 1000000000\nwindow_s = 60\n')
    gate = inferwarden.Gate(cfg)
    headers = [("X-API-Key", KEY), ("Accept", "application/json")]
    d = gate.decide("POST", "/auth/session", [("X-API-Key", KEY)])
    token = gate.issue_session(d, "generation").token
    cookie = [("Cookie", f"gg_session={token}")]
    print(f"gate.decide (API key)            {per_call_us(lambda: gate.decide('GET', '/status/t1', headers), 50_000):8.2f} us")
    print(f"gate.decide (memory session)     {per_call_us(lambda: gate.decide('GET', '/status/t1', cookie), 50_000):8.2f} us")
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
