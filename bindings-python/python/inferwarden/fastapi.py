"""FastAPI / Starlette integration: an ASGI middleware that runs the gate before any handler,
a dependency that hands the decision to handlers, and an exception handler that renders
``InferwardenError`` as the error envelope.

    from fastapi import FastAPI, Depends
    from inferwarden import Gate, PolicyConfig
    from inferwarden.fastapi import GateMiddleware, gate_decision, install_error_handler

    gate = Gate(PolicyConfig.load("policy.toml"), session_store="sqlite:sessions.db")
    app = FastAPI(redirect_slashes=False)
    app.add_middleware(GateMiddleware, gate=gate)
    install_error_handler(app)

    @app.get("/status/{task_id}")
    def status(task_id: str, decision = Depends(gate_decision)): ...

Turn Starlette's trailing-slash redirects off (``redirect_slashes=False``): the 307 it sends
copies the query string into ``Location``, so a credential a client put there comes back in a
response header, and the redirected path is decided by the gate a second time.

The middleware hands the ASGI scope to the core (``Gate.decide_asgi`` reads the method, raw
path, headers, query and peer in Rust) and renders the decision; every rule is decided by
the Rust core.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from typing import Any, Awaitable, Callable, MutableMapping

try:
    from starlette.requests import Request
except ImportError as missing:  # the extra was not installed
    raise ImportError(
        "inferwarden.fastapi needs FastAPI (Starlette): install it with pip install 'inferwarden[fastapi]'"
    ) from missing

from inferwarden._native import Decision, Gate
from inferwarden.errors import InferwardenError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATE_KEY = "inferwarden_decision"


def error_body(exc: InferwardenError) -> bytes:
    """The JSON error envelope for an exception."""
    return json.dumps(exc.to_dict(), separators=(",", ":")).encode()


def _mark_coroutine_function(func: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a plain function that returns an awaitable as a coroutine function, so servers
    that pick the ASGI interface by ``iscoroutinefunction`` (uvicorn) see an ASGI 3 app: the
    asyncio marker for Python 3.11-3.13, ``inspect.markcoroutinefunction`` from 3.12."""
    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    if marker is not None:
        func._is_coroutine = marker  # type: ignore[attr-defined]
    mark = getattr(inspect, "markcoroutinefunction", None)
    return mark(func) if mark is not None else func


class GateMiddleware:
    """Pure ASGI middleware: rejects (with the envelope and the gate's headers), answers
    preflights, or runs the app with ``scope["state"]["inferwarden_decision"]`` set and the
    gate's headers (CORS, rate-limit) added to the response.

    The scope is read in Rust. When every store is in the process (``gate.may_block`` is
    false) the decision is made on the spot and an allowed request gets the app's own
    awaitable back: no extra coroutine frame and no future per request. Over a SQLite session
    store (``gate.may_try_now``) the decision is tried on the spot without waiting
    (``try_decide_scope``: the connection only if free, a zero busy timeout) and awaited only
    when SQLite would have made it wait. Otherwise the decision is awaited (``decide_asgi``,
    on the native runtime's blocking pool), so a store round trip never blocks the event
    loop."""

    def __init__(self, app: Callable[..., Awaitable[None]], gate: Gate) -> None:
        self.app = app
        self.gate = gate
        self._inline = not gate.may_block
        self._try_now = gate.may_try_now

    @_mark_coroutine_function
    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope.get("type") != "http":
            return self.app(scope, receive, send)
        if self._inline:
            return self._proceed(self.gate.decide_scope(scope), scope, receive, send)
        if self._try_now:
            decision = self.gate.try_decide_scope(scope)
            if decision is not None:
                return self._proceed(decision, scope, receive, send)
        return self._decide_then_proceed(scope, receive, send)

    async def _decide_then_proceed(self, scope: Scope, receive: Receive, send: Send) -> None:
        decision = await self.gate.decide_asgi(scope)
        await self._proceed(decision, scope, receive, send)

    def _proceed(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if not decision.allowed or decision.preflight:
            return self._reply(decision, send)
        scope.setdefault("state", {})[STATE_KEY] = decision
        extra = decision.asgi_headers
        if not extra:
            # Nothing to add (no CORS or throttle headers): the app's own awaitable.
            return self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        return self.app(scope, receive, send_with_headers)

    @staticmethod
    async def _reply(decision: Decision, send: Send) -> None:
        extra = decision.asgi_headers
        if decision.preflight:
            await send({"type": "http.response.start", "status": 204, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        body = json.dumps(decision.body(), separators=(",", ":")).encode()
        start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] + extra
        await send({"type": "http.response.start", "status": decision.status, "headers": start_headers})
        await send({"type": "http.response.body", "body": body})


async def gate_decision(request: Request) -> Decision:
    """FastAPI dependency: the gate's (allowed) decision for this request. A coroutine, so
    FastAPI calls it on the event loop instead of sending it to its thread pool."""
    decision = request.scope.get("state", {}).get(STATE_KEY)
    if decision is None:
        raise RuntimeError("GateMiddleware is not installed on this app")
    return decision


def install_error_handler(app: Any) -> None:
    """Renders any ``InferwardenError`` raised by a handler as the error envelope with its
    HTTP status (and ``Retry-After`` when the error carries one)."""
    from starlette.responses import Response

    async def handler(_request: Any, exc: Exception) -> Response:
        assert isinstance(exc, InferwardenError)
        headers = {}
        retry = exc.metadata.get("retry_after_seconds") if exc.metadata else None
        if retry is not None:
            headers["Retry-After"] = str(retry)
        return Response(error_body(exc), status_code=exc.http_status, media_type="application/json", headers=headers)

    app.add_exception_handler(InferwardenError, handler)


__all__ = ["GateMiddleware", "error_body", "gate_decision", "install_error_handler"]
