"""The FastAPI app `bench_gate_http.py` loads under uvicorn: one route per gate path, the
gate configured by ``IW_BENCH_MODE``:

- ``bare``: no gate at all (the baseline route);
- ``null``: a pure ASGI middleware that does nothing (what any middleware costs);
- ``memory``: the gate in process (API key, in-memory sessions and limiter);
- ``sqlite``: sessions in SQLite (a file, WAL);
- ``postgres``: sessions in PostgreSQL (``IW_BENCH_POSTGRES_URL``) and the limiter in Redis
  (``IW_BENCH_REDIS_URL``).

The bare and null apps serve the same routes as the gated ones (``/status/{task_id}`` and
``/admin/accounts`` with an ``async def`` dependency that does nothing in place of
``gate_decision``), so each gated route has a baseline of the same shape.

At start-up it issues a generation and an admin session and writes their cookies (JSON) to
``IW_BENCH_TOKENS``. Every handler is ``async def``, so a handler never costs a thread hop.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

from fastapi import Depends, FastAPI

import inferwarden
from inferwarden.fastapi import GateMiddleware, gate_decision

API = "bench-http-api-key-0123456789abcdef"
ADMIN = "bench-http-admin-key-0123456789abcdef"
MODE = os.environ.get("IW_BENCH_MODE", "bare")

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


class NullMiddleware:
    """A pure ASGI middleware that does nothing: the cost of any middleware at all."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


if MODE == "null":
    app.add_middleware(NullMiddleware)


if MODE not in ("bare", "null"):
    config = inferwarden.PolicyConfig.from_text(
        f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n'
        # Throttles far above what a benchmark sends: every request is decided, none refused.
        "[rate_limits.admin]\nlimit = 1000000000\nwindow_s = 60\n"
        "[rate_limits.auth_session]\nlimit = 1000000000\nwindow_s = 60\n"
        "[rate_limits.admin_bootstrap]\nlimit = 1000000000\nwindow_s = 60\n"
    )
    store = {
        "memory": "memory",
        "sqlite": f"sqlite:{tempfile.mkdtemp(prefix='iw-bench-http-')}/sessions.db",
        "postgres": os.environ.get("IW_BENCH_POSTGRES_URL", ""),
    }[MODE]
    limiter = os.environ["IW_BENCH_REDIS_URL"] if MODE == "postgres" else "memory"
    gate = inferwarden.Gate(config, session_store=store, rate_limiter=limiter)
    app.add_middleware(GateMiddleware, gate=gate)
    generation = gate.issue_session(gate.decide("POST", "/auth/session", [("X-API-Key", API)]), "generation")
    admin = gate.issue_session(gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)]), "admin")
    with open(os.environ["IW_BENCH_TOKENS"], "w") as f:
        json.dump(
            {"generation": generation.set_cookie.split(";")[0], "admin": admin.set_cookie.split(";")[0], "api_key": API},
            f,
        )



async def no_gate() -> None:
    """The bare app's stand-in for ``gate_decision``: an ``async def`` dependency that does
    nothing, so a bare route has the same shape (path parameter, dependency) as the gated one."""
    return None


gated = MODE not in ("bare", "null")
dependency = gate_decision if gated else no_gate


def principal(decision: Any) -> str:
    return decision.principal["kind"] if decision is not None else "none"


@app.get("/gallery")
async def gallery() -> dict[str, bool]:
    return {"ok": True}


@app.get("/status/{task_id}")
async def status(task_id: str, decision: Any = Depends(dependency)) -> dict[str, str]:
    return {"task_id": task_id, "principal": principal(decision)}


@app.get("/admin/accounts")
async def accounts(decision: Any = Depends(dependency)) -> dict[str, str]:
    return {"principal": principal(decision)}
