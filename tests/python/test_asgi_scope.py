"""``Gate.decide_asgi`` reads an ASGI scope in Rust; it must decide exactly as the Python
reading of the same scope did (``raw_path``/``path``, Latin-1 headers, ``parse_qsl`` with blank
values, the client's IP), which is kept here as the reference. Hypothesis generates scopes with
credentials, cookies, origins, odd bytes and odd query strings; two gates with the same policy
see the same sequence, one through each reading."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inferwarden
from inferwarden.errors import RequestValidationError

API = "asgi-scope-api-key-0123456789abcdef"
ADMIN = "asgi-scope-admin-key-0123456789abcdef"
POLICY = f"""
[auth]
api_keys = ["{API}"]
admin_key = "{ADMIN}"
[cors]
frontend_origins = ["https://studio.example.com"]
"""


def reference_parts(scope: dict[str, Any]) -> tuple[str, str, list[tuple[str, str]], list[tuple[str, str]], str | None]:
    """How the middleware read a scope in Python before the reading moved to Rust."""
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("path", "/")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    peer = None
    client = scope.get("client")
    if client:
        try:
            peer = str(ipaddress.ip_address(client[0]))
        except ValueError:
            peer = None
    return scope.get("method", "GET"), path, headers, query, peer


def summary(d: Any) -> tuple[Any, ...]:
    assert d.asgi_headers == [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in d.headers]
    return (d.allowed, d.status, d.preflight, d.error.code if d.error else None, sorted(d.headers), d.principal)


PATHS = st.one_of(
    st.sampled_from(["/gallery", "/status/t1", "/auth/session", "/admin/session", "/admin/accounts", "/health", "/results/t1", "/generate"]),
    st.text(alphabet="/abcdestu%2Fe.:-_ A", max_size=20).map(lambda p: "/" + p),
)
HEADER_NAMES = st.sampled_from([b"x-api-key", b"X-API-Key", b"x-admin-key", b"cookie", b"origin", b"authorization", b"access-control-request-method", b"x-other"])
HEADER_VALUES = st.one_of(
    st.sampled_from([API.encode(), ADMIN.encode(), b"https://studio.example.com", b"https://evil.example", b"gg_session=abc; other=1", b"Bearer " + API.encode(), b"POST", b""]),
    st.binary(max_size=24),
)
QUERIES = st.one_of(
    st.sampled_from([b"", b"api_key=" + API.encode(), b"admin_key=" + ADMIN.encode(), b"a=1&a=2", b"x&y=", b"%zz=%FF&k=a+b"]),
    st.binary(max_size=32),
    st.text(alphabet="abk=&%+2F0A\u00e9", max_size=24).map(lambda t: t.encode("latin-1", errors="replace")),
)
CLIENTS = st.sampled_from([None, ("10.0.0.7", 5000), ("::1", 1), ("::ffff:10.0.0.9", 2), ("not-an-ip", 3), ("192.168.1.300", 4)])


@st.composite
def scopes(draw: st.DrawFn) -> dict[str, Any]:
    path = draw(PATHS)
    scope: dict[str, Any] = {
        "type": "http",
        "method": draw(st.sampled_from(["GET", "POST", "DELETE", "OPTIONS", "HEAD", "get", "PUT"])),
        "path": path,
        # ASGI allows any two-item iterable per header; servers send tuples or lists.
        "headers": draw(st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES).flatmap(lambda p: st.sampled_from([p, list(p)])), max_size=5)),
        "query_string": draw(QUERIES),
        "client": draw(CLIENTS),
    }
    raw = draw(st.sampled_from(["same", "other", "none", "empty", "absent"]))
    if raw == "same":
        scope["raw_path"] = path.encode("utf-8")
    elif raw == "other":  # what the client sent, before the server decoded it into `path`
        scope["raw_path"] = draw(PATHS).encode("utf-8")
    elif raw == "none":
        scope["raw_path"] = None
    elif raw == "empty":
        scope["raw_path"] = b""
    return scope


@pytest.fixture(scope="module")
def gates(tmp_path_factory) -> tuple[inferwarden.Gate, inferwarden.Gate, inferwarden.Gate, inferwarden.Gate]:
    config = inferwarden.PolicyConfig.from_text(POLICY)
    sqlite = f"sqlite:{tmp_path_factory.mktemp('asgi') / 'sessions.db'}"
    # One stopped clock for all four: the rate-limit headers carry the seconds to the window's
    # reset, which on the wall clock differ between two gates when a slow machine passes a
    # second boundary between their decisions.
    clock = inferwarden.ManualClock(1_764_000_000_000)
    tried = inferwarden.Gate(config, session_store=sqlite, clock=clock)
    assert tried.may_block and tried.may_try_now
    return tuple(inferwarden.Gate(config, clock=clock) for _ in range(3)) + (tried,)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(scope=scopes())
def test_the_rust_reading_of_a_scope_decides_as_the_python_reading(gates, scope: dict[str, Any]) -> None:
    rust_gate, python_gate, scope_gate, tried_gate = gates

    async def both() -> tuple[Any, Any]:
        return await rust_gate.decide_asgi(scope), await python_gate.decide_async(*reference_parts(scope))

    by_rust, by_python = asyncio.run(both())
    # The same reading, decided on the spot (what the middleware calls for in-process stores).
    on_the_spot = scope_gate.decide_scope(scope)
    # Over SQLite sessions, tried on the spot (what the middleware calls for `may_try_now`):
    # nothing else holds the connection, so the try gives up only on admin routes, which are
    # never tried (their idle-time write follows the throttle); those the middleware awaits.
    tried = tried_gate.try_decide_scope(scope)
    if tried is None:
        tried = tried_gate.decide_scope(scope)
    # Every gate has decided this scope exactly once before any assertion, so their rate
    # limiters stay in step whatever fails (and Hypothesis can replay a failure).
    assert summary(by_rust) == summary(by_python), scope
    assert summary(on_the_spot) == summary(by_python), scope
    assert summary(tried) == summary(by_python), scope


def test_only_admin_routes_are_declined_by_the_try(tmp_path) -> None:
    config = inferwarden.PolicyConfig.from_text(POLICY)
    gate = inferwarden.Gate(config, session_store=f"sqlite:{tmp_path / 'sessions.db'}")
    def scope(method: str, path: str) -> dict[str, Any]:
        return {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    for method, path in [("GET", "/gallery"), ("GET", "/status/t1"), ("POST", "/auth/session"),
                         ("GET", "/auth/session"), ("POST", "/admin/session"), ("GET", "/health"),
                         ("GET", "/results/t1")]:
        assert gate.try_decide_scope(scope(method, path)) is not None, path
    for method, path in [("GET", "/admin/accounts"), ("DELETE", "/admin/session"), ("GET", "/admin")]:
        assert gate.try_decide_scope(scope(method, path)) is None, path


@pytest.mark.parametrize(
    "broken",
    [
        {"method": 1},
        {"raw_path": "/str-not-bytes"},
        {"headers": [(b"x-api-key",)]},
        {"headers": [[b"x-api-key", b"v", b"extra"]]},
        {"headers": [b"xy"]},
        {"headers": [("x-api-key", API)]},
        {"query_string": "api_key=x"},
        {"path": b"/bytes", "raw_path": None},
    ],
)
def test_a_malformed_scope_is_a_validation_error_not_a_crash(gates, broken: dict[str, Any]) -> None:
    scope = {"type": "http", "method": "GET", "path": "/gallery", "headers": [], "query_string": b"", **broken}
    for decide in (gates[0].decide_asgi, gates[0].decide_scope, gates[3].try_decide_scope):
        with pytest.raises(RequestValidationError) as err:
            decide(scope)
        assert err.value.code == "validation_error"
        assert API not in str(err.value)
