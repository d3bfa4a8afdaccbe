"""Gate behaviour through Python beyond the vectors: SQLite and PostgreSQL session stores,
Redis limits, store outage, audit events and canary secrets."""

from __future__ import annotations

import os

import pytest

import inferwarden
from loop_ticks import while_ticking
from inferwarden.errors import DependencyUnavailableError, ConfigInvalidError

API = "canary-py-api-key-0123456789abcdef"
ADMIN = "canary-py-admin-key-0123456789abcdef"


def config():
    return inferwarden.PolicyConfig.from_text(f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n')


def open_session(gate):
    d = gate.decide("POST", "/auth/session", [("X-API-Key", API)], peer="10.1.1.1")
    return gate.issue_session(d, "generation")


def service(var: str) -> str:
    url = os.environ.get(var)
    if not url:
        assert not os.environ.get("INFERWARDEN_REQUIRE_SERVICES"), f"{var} missing but services are required"
        pytest.skip(f"{var} not set (run scripts/test.sh)")
    return url


def test_sqlite_session_store_round_trip(tmp_path):
    db = tmp_path / "sessions.db"
    gate = inferwarden.Gate(config(), session_store=f"sqlite:{db}")
    s = open_session(gate)
    assert s.token not in repr(s) and "[REDACTED]" in repr(s)
    assert s.set_cookie.startswith("gg_session=") and "HttpOnly" in s.set_cookie
    cookie = [("Cookie", f"gg_session={s.token}")]
    assert gate.decide("GET", "/gallery", cookie).allowed
    # A second gate over the same file sees the session (durable, shared).
    other = inferwarden.Gate(config(), session_store=f"sqlite:{db}")
    assert other.decide("GET", "/gallery", cookie).allowed
    assert other.revoke_session(s.token)
    assert gate.decide("GET", "/gallery", cookie).error.code == "session_expired"
    assert s.token.encode() not in db.read_bytes()


def test_sqlite_revocation_by_another_worker_process_is_seen_at_once(tmp_path):
    """The SQLite store answers repeated lookups from its cache while the database is
    unchanged; a revocation by another worker process (its own Gate over the same file), or
    by a plain sqlite3 client, denies the very next request here."""
    import subprocess
    import sys

    db = tmp_path / "sessions.db"
    gate = inferwarden.Gate(config(), session_store=f"sqlite:{db}")
    first, second = open_session(gate), open_session(gate)
    scope = lambda token: {  # noqa: E731
        "type": "http", "method": "GET", "path": "/gallery", "raw_path": b"/gallery", "query_string": b"",
        "headers": [(b"cookie", f"gg_session={token}".encode())], "client": ("10.1.1.1", 5000),
    }
    for _ in range(50):
        assert gate.try_decide_scope(scope(first.token)).allowed
        assert gate.decide("GET", "/gallery", [("Cookie", f"gg_session={second.token}")]).allowed
    worker = (
        "import sys, inferwarden\n"
        "cfg = inferwarden.PolicyConfig.from_text(sys.argv[3])\n"
        "gate = inferwarden.Gate(cfg, session_store='sqlite:' + sys.argv[1])\n"
        "assert gate.revoke_session(sys.argv[2])\n"
    )
    cfg_text = f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n'
    subprocess.run([sys.executable, "-c", worker, str(db), first.token, cfg_text], check=True)
    refused = gate.try_decide_scope(scope(first.token))
    assert refused is not None and not refused.allowed and refused.error.code == "session_expired"
    assert gate.decide("GET", "/gallery", [("Cookie", f"gg_session={second.token}")]).allowed
    # A plain sqlite3 client (an operator's script) revokes every session.
    plain = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute('UPDATE inferwarden_sessions SET revoked_ms = 1')\nc.commit()\n"
    subprocess.run([sys.executable, "-c", plain, str(db)], check=True)
    assert gate.decide("GET", "/gallery", [("Cookie", f"gg_session={second.token}")]).error.code == "session_expired"


def test_postgres_session_store():
    url = service("INFERWARDEN_TEST_POSTGRES_URL")
    gate = inferwarden.Gate(config(), session_store=url)
    s = open_session(gate)
    assert gate.decide("GET", "/gallery", [("Cookie", f"gg_session={s.token}")]).allowed


def test_redis_limiter_shared_by_two_gates():
    url = service("INFERWARDEN_TEST_REDIS_URL")
    cfg = inferwarden.PolicyConfig.from_text(
        f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n[rate_limits.auth_session]\nlimit = 4\nwindow_s = 60\n'
    )
    a = inferwarden.Gate(cfg, rate_limiter=url)
    b = inferwarden.Gate(cfg, rate_limiter=url)
    peer = f"10.9.{os.getpid() % 250}.{os.getpid() % 200}"
    codes = [g.decide("POST", "/auth/session", [("X-API-Key", API)], peer=peer) for g in (a, b, a, b, a)]
    assert [d.allowed for d in codes] == [True, True, True, True, False]
    assert codes[-1].error.code == "rate_limited"
    assert any(k == "Retry-After" for k, _ in codes[-1].headers)


def test_unreachable_stores_fail_closed():
    with pytest.raises(DependencyUnavailableError):
        inferwarden.Gate(config(), session_store="postgres://nobody@127.0.0.1:1/none")
    gate = inferwarden.Gate(config(), rate_limiter="redis://127.0.0.1:1/")
    d = gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)])
    assert d.error.code == "dependency_unavailable"
    with pytest.raises(ConfigInvalidError):
        inferwarden.Gate(config(), session_store="mongodb://x")


def test_audit_events_and_canaries():
    gate = inferwarden.Gate(config())
    gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN + "x")])
    d = gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)], query=[("admin_key", ADMIN)])
    assert d.error.code == "admin_key_invalid"
    d = gate.decide("GET", "/status/t", [("X-API-Key", API[:-1])])
    rendered = f"{d} {d.error!r} {d.body()} {d.headers} {gate.audit_events()}"
    for secret in (API, ADMIN, API[:-1]):
        assert secret not in rendered
    events = gate.audit_events()
    assert [e["action"] for e in events] == ["admin_login", "admin_login"]
    for e in events:
        assert {"actor", "source", "action", "target", "outcome", "timestamp_ms", "correlation_id"} <= set(e)


def test_bad_peer_is_a_typed_error():
    gate = inferwarden.Gate(config())
    with pytest.raises(inferwarden.InferwardenError) as info:
        gate.decide("GET", "/status/t", peer="not-an-ip")
    assert info.value.code == "validation_error"
    # The core names the field, as the Node binding reports it (`err.metadata.field`).
    assert info.value.metadata["field"] == "peer"


def test_signed_media_and_classify():
    cfg = inferwarden.PolicyConfig.from_text(f'[auth]\napi_keys = ["{API}"]\nmedia_signing_key = "{"s" * 40}"\n')
    gate = inferwarden.Gate(cfg)
    qs = gate.sign_media_url("task-1", ttl_s=60)
    query = [tuple(p.split("=", 1)) for p in qs.split("&")]
    assert gate.decide("GET", "/results/task-1", query=query).principal == {"kind": "signed_media", "task_id": "task-1"}
    assert gate.classify("POST", "/auth/%73ession/") == "session_issue"


def test_principal_and_route_keep_the_keys_of_their_json():
    gate = inferwarden.Gate(config())
    key = gate.decide("GET", "/gallery", [("X-API-Key", API)])
    assert (key.principal, key.route) == ({"kind": "api_key", "key_index": 0}, "generation")
    issued = gate.issue_session(gate.decide("POST", "/auth/session", [("X-API-Key", API)]), "generation")
    cookie = issued.set_cookie.split(";")[0]
    session = gate.decide("GET", "/gallery", [("Cookie", cookie)])
    assert session.principal == {"kind": "session", "session_id": issued.session_id}
    boot = gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)])
    assert (boot.principal, boot.route) == ({"kind": "admin_bootstrap"}, "admin_bootstrap")
    health = gate.decide("GET", "/health")
    assert (health.principal, health.route) == ({"kind": "public"}, "public")
    refused = gate.decide("GET", "/gallery")
    assert (refused.principal, refused.route) == (None, None)
    # A new dict each time: a caller's change never reaches the next reader.
    key.principal["kind"] = "changed"
    assert key.principal["kind"] == "api_key"


def test_decide_async_matches_decide_and_never_blocks_the_loop(tmp_path):
    import asyncio
    import subprocess
    import sys

    memory = inferwarden.Gate(config())
    assert memory.may_block is False
    db = tmp_path / "sessions.db"
    # Every admin use written (no write interval), so the admin check below writes.
    every_use = inferwarden.PolicyConfig.from_text(
        f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n'
        "[sessions]\nadmin_last_use_write_interval_s = 0\n"
    )
    gate = inferwarden.Gate(every_use, session_store=f"sqlite:{db}")
    assert gate.may_block is True
    s = open_session(gate)
    cookie = [("Cookie", f"gg_session={s.token}")]

    async def same_answers():
        for g in (memory, gate):
            for headers in ([("X-API-Key", API)], cookie, []):
                sync, not_sync = g.decide("GET", "/gallery", headers), await g.decide_async("GET", "/gallery", headers)
                assert (sync.allowed, sync.status) == (not_sync.allowed, not_sync.status)

    asyncio.run(same_answers())

    # Another process holds the session database's write lock for 0.6 s (locks are per
    # process: a connection in this one would not conflict). An admin session's check
    # records the use (sliding idle time), so it waits on the lock. While it waits, the
    # event loop must keep running other coroutines.
    admin = gate.issue_session(gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)]), "admin")
    admin_cookie = [("Cookie", admin.set_cookie.split(";")[0])]
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN EXCLUSIVE')\n"
         "print('locked', flush=True)\n"
         "time.sleep(0.6)\n"
         "c.rollback()\n",
         str(db)],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "locked"

    decision, waited, ticks = while_ticking(lambda: gate.decide_async("GET", "/admin/accounts", admin_cookie))
    assert holder.wait(10) == 0
    assert decision.allowed
    assert waited >= 0.4, waited
    # A blocked loop would tick once; a free one about every 10 ms of the wait.
    assert ticks >= 20, (ticks, waited)


def test_every_native_future_leaves_the_loops_table_even_when_cancelled(tmp_path):
    import asyncio

    from inferwarden import _aio

    gate = inferwarden.Gate(config(), session_store=f"sqlite:{tmp_path / 's.db'}")
    admin = gate.issue_session(gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)]), "admin")
    # Admin routes over SQLite are never tried on the loop: each decision goes to the pool.
    cookie = [("Cookie", admin.set_cookie.split(";")[0])]

    async def run():
        loop = asyncio.get_running_loop()
        settled = [gate.decide_async("GET", "/admin/accounts", cookie) for _ in range(20)]
        cancelled = [gate.decide_async("GET", "/admin/accounts", cookie) for _ in range(20)]
        for f in cancelled:
            f.cancel()
        decisions = await asyncio.gather(*settled)
        assert all(d.allowed for d in decisions)
        table = _aio._completions[loop].futures
        # The cancelled decisions still complete on the pool; their outcomes are dropped and
        # their entries leave the table when they arrive.
        for _ in range(500):
            if not table:
                break
            await asyncio.sleep(0.01)
        assert table == {}
        assert all(f.cancelled() for f in cancelled)

    asyncio.run(run())


def test_native_futures_settled_together_all_complete(tmp_path):
    """Runtime threads settle many futures at once; only the first completion into an empty
    queue writes the loop's wake-up byte, and no future may be left waiting for one."""
    import asyncio

    unthrottled = inferwarden.PolicyConfig.from_text(
        f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n[rate_limits.admin]\nlimit = 1000000\nwindow_s = 60\n'
    )
    gate = inferwarden.Gate(unthrottled, session_store=f"sqlite:{tmp_path / 's.db'}")
    admin = gate.issue_session(gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)]), "admin")
    cookie = [("Cookie", admin.set_cookie.split(";")[0])]

    async def run():
        for wave in range(30):
            futures = [gate.decide_async("GET", "/admin/accounts", cookie) for _ in range(64)]
            decisions = await asyncio.wait_for(asyncio.gather(*futures), timeout=20)
            assert all(d.allowed for d in decisions), wave

    asyncio.run(run())


def test_a_session_is_issued_only_for_its_bootstrap_route():
    from inferwarden.errors import SessionRequiredError

    gate = inferwarden.Gate(config())
    gallery = gate.decide("GET", "/gallery", [("X-API-Key", API)])
    assert gallery.allowed
    with pytest.raises(SessionRequiredError):
        gate.issue_session(gallery, "generation")
    with pytest.raises(SessionRequiredError):
        gate.issue_session(gate.decide("POST", "/auth/session", [("X-API-Key", API)]), "admin")
