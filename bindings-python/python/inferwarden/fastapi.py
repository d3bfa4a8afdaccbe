"""FastAPI / Starlette integration: an ASGI middleware that runs the gate before any handler,
a dependency that hands the decision to handlers, and an exception handler that renders
``InferwardenError`` as the error envelope.

    from fastapi import FastAPI, Depends
    from inferwarden import Gate, PolicyConfig
    from inferwarden.fastapi import GateMiddleware, gate_decision, install_error_handler

    gate = Gate(PolicyConfig.load("policy.toml"), session_store="sqlite:sessions.db")
    app = FastAPI()
    app.add_middleware(GateMiddleware, gate=gate)
    install_error_handler(app)

    @app.get("/status/{task_id}")
    def status(task_id: str, decision = Depends(gate_decision)): ...

The middleware only adapts the request (method, raw path, headers, query, peer) and renders
the decision (taken on a worker thread, since it may wait on stores); every rule is decided
by the Rust core.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any, Awaitable, Callable, MutableMapping
from urllib.parse import parse_qsl

from starlette.requests import Request

from inferwarden._native import Decision, Gate
from inferwarden.errors import InferwardenError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATE_KEY = "inferwarden_decision"


def _request_parts(scope: Scope) -> tuple[str, str, list[tuple[str, str]], list[tuple[str, str]], str | None]:
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else scope.get("path", "/")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    return scope.get("method", "GET"), path, headers, query, _peer_ip(scope.get("client"))


def _peer_ip(client: Any) -> str | None:
    """The socket peer as an IP string; `None` for unix sockets and test transports (the core
    then keys the client as `unknown-peer`, one shared bucket)."""
    if not client:
        return None
    try:
        return str(ipaddress.ip_address(client[0]))
    except ValueError:
        return None


def _encode_headers(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


def error_body(exc: InferwardenError) -> bytes:
    """The JSON error envelope for an exception."""
    return json.dumps(exc.to_dict(), separators=(",", ":")).encode()


class GateMiddleware:
    """Pure ASGI middleware: rejects (with the envelope and the gate's headers), answers
    preflights, or runs the app with ``scope["state"]["inferwarden_decision"]`` set and the
    gate's headers (CORS, rate-limit) added to the response."""

    def __init__(self, app: Callable[..., Awaitable[None]], gate: Gate) -> None:
        self.app = app
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        method, path, headers, query, peer = _request_parts(scope)
        # The decision may wait on stores (sessions, the rate limiter, the durable audit log's
        # commit): `decide_async` runs it on the native runtime's blocking pool when it can
        # block and inline when it cannot, never on the event loop's thread.
        decision = await self.gate.decide_async(method, path, headers, query, peer)
        extra = _encode_headers(decision.headers)
        if decision.preflight:
            await send({"type": "http.response.start", "status": 204, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        if not decision.allowed:
            body = json.dumps(decision.body(), separators=(",", ":")).encode()
            start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] + extra
            await send({"type": "http.response.start", "status": decision.status, "headers": start_headers})
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})[STATE_KEY] = decision
        if not extra:
            # Nothing to add (no CORS or throttle headers): no wrapper on the response path.
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
