"""The FastAPI integration against a real FastAPI app through Starlette's TestClient."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI, Response
from fastapi.testclient import TestClient

import inferwarden
from inferwarden.errors import TaskNotFoundError
from inferwarden.fastapi import GateMiddleware, gate_decision, install_error_handler

API = "fastapi-test-key-0123456789abcdef"
ADMIN = "fastapi-admin-key-0123456789abcdef"
ORIGIN = "https://app.example.com"


@pytest.fixture(params=["memory", "sqlite"])
def client(request, tmp_path):
    """The app over an in-process gate (decided on the spot, the app's awaitable handed back)
    and over SQLite sessions (``may_block``, but ``may_try_now``: tried on the spot without
    waiting, awaited off the loop only when SQLite would have waited)."""
    cfg = inferwarden.PolicyConfig.from_text(
        f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n[sessions]\nsecure = false\n'
        f'[cors]\nfrontend_origins = ["{ORIGIN}"]\n'
    )
    store = "memory" if request.param == "memory" else f"sqlite:{tmp_path / 'sessions.db'}"
    gate = inferwarden.Gate(cfg, session_store=store, audit="memory")
    assert gate.may_block == (request.param == "sqlite")
    assert gate.may_try_now == (request.param == "sqlite")
    app = FastAPI()
    app.add_middleware(GateMiddleware, gate=gate)
    install_error_handler(app)

    @app.get("/health")
    def health():
        return {"ok": True}

    @app.get("/status/{task_id}")
    def status(task_id: str, decision=Depends(gate_decision)):
        if task_id == "missing":
            raise TaskNotFoundError("no such task")
        return {"task_id": task_id, "principal": decision.principal["kind"]}

    @app.post("/auth/session")
    def open_session(response: Response, decision=Depends(gate_decision)):
        issued = gate.issue_session(decision, "generation")
        response.headers["set-cookie"] = issued.set_cookie
        return {"session": "issued"}

    @app.post("/admin/session")
    def open_admin(response: Response, decision=Depends(gate_decision)):
        issued = gate.issue_session(decision, "admin")
        response.headers["set-cookie"] = issued.set_cookie
        return {"admin": True}

    @app.get("/admin/accounts")
    def accounts(decision=Depends(gate_decision)):
        return {"accounts": [], "principal": decision.principal["kind"]}

    return TestClient(app)


def test_precedence_over_http(client):
    assert client.get("/status/t1", headers={"X-API-Key": API}).json() == {"task_id": "t1", "principal": "api_key"}
    r = client.get("/status/t1")
    assert r.status_code == 401 and r.json()["code"] == "session_required"
    assert set(r.json()) == {"code", "detail", "user_action", "metadata"}
    r = client.get("/status/t1", headers={"X-API-Key": "wrong"}, params={"api_key": API})
    assert r.status_code == 403 and r.json()["code"] == "invalid_api_key"


def test_session_round_trip_and_cookie_attributes(client):
    r = client.post("/auth/session", headers={"X-API-Key": API})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert client.get("/status/t2").json()["principal"] == "session"


def test_admin_boundary(client):
    assert client.get("/admin/accounts").json()["code"] == "admin_session_required"
    assert client.get("/admin/accounts", headers={"x-admin-key": ADMIN}).json()["code"] == "admin_key_invalid"
    assert client.post("/admin/session", params={"admin_key": ADMIN}).json()["code"] == "admin_key_invalid"
    r = client.post("/admin/session", headers={"x-admin-key": ADMIN})
    assert r.status_code == 200
    assert client.get("/admin/accounts").json()["principal"] == "admin_session"


def test_cors(client):
    r = client.get("/status/t1", headers={"Origin": ORIGIN, "X-API-Key": API})
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in r.headers["vary"]
    r = client.get("/status/t1", headers={"Origin": "https://evil.example", "X-API-Key": API})
    assert r.status_code == 403 and r.json()["code"] == "cors_origin_blocked"
    assert "access-control-allow-origin" not in r.headers
    r = client.options("/generate", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == ORIGIN


def test_rate_limit_before_auth(client):
    codes = [client.post("/auth/session", headers={"X-API-Key": "wrong"}).json()["code"] for _ in range(11)]
    assert codes[:10] == ["invalid_api_key"] * 10
    assert codes[10] == "rate_limited"
    r = client.post("/auth/session", headers={"X-API-Key": API})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_handler_errors_render_the_envelope(client):
    r = client.get("/status/missing", headers={"X-API-Key": API})
    assert r.status_code == 404
    assert r.json()["code"] == "task_not_found"


def test_public_route(client):
    assert client.get("/health").json() == {"ok": True}


def test_the_middleware_is_an_asgi3_app_to_servers_that_check_for_a_coroutine_function():
    # __call__ returns an awaitable without being `async def` (the app's own awaitable for an
    # allowed in-process decision); it is marked so uvicorn still picks ASGI 3, not ASGI 2.
    import asyncio

    import uvicorn

    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(f'[auth]\napi_keys = ["{API}"]\n'))
    middleware = GateMiddleware(FastAPI(), gate)
    assert asyncio.iscoroutinefunction(middleware.__call__)
    config = uvicorn.Config(middleware)
    config.load()
    assert config.interface == "asgi3"


def test_a_try_that_gives_up_is_awaited_off_the_loop(tmp_path):
    """When SQLite would have made the decision wait (``try_decide_scope`` answers ``None``)
    the middleware awaits ``decide_asgi`` instead: same decision, reached the other way."""
    cfg = inferwarden.PolicyConfig.from_text(f'[auth]\napi_keys = ["{API}"]\n')
    real = inferwarden.Gate(cfg, session_store=f"sqlite:{tmp_path / 'sessions.db'}", audit="memory")
    calls: list[str] = []

    class GivesUp:
        may_block = True
        may_try_now = True

        def try_decide_scope(self, scope):
            calls.append("try")
            return None

        async def decide_asgi(self, scope):
            calls.append("await")
            return await real.decide_asgi(scope)

    app = FastAPI()
    app.add_middleware(GateMiddleware, gate=GivesUp())

    @app.get("/status/{task_id}")
    def status(task_id: str, decision=Depends(gate_decision)):
        return {"principal": decision.principal["kind"]}

    client = TestClient(app)
    assert client.get("/status/t1", headers={"X-API-Key": API}).json() == {"principal": "api_key"}
    assert client.get("/status/t1").status_code == 401
    assert calls == ["try", "await", "try", "await"]
