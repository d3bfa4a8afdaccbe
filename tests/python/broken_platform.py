"""A deliberately broken platform for the smoke runner's tests: the reference FastAPI app
(examples/fastapi_app) wrapped in an ASGI layer that breaks exactly ONE rule of the
platform contract, chosen by name. ``VIOLATIONS`` maps each name to the smoke check that
must catch it."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl, urlencode

import uvicorn

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "fastapi_app"))

from app import create_app  # noqa: E402

API_KEY = "smoke-test-api-key-0123456789abcdef"
ADMIN_KEY = "smoke-test-admin-key-0123456789abcdef"
ENV = {
    "INFERWARDEN_AUTH__API_KEYS": API_KEY,
    "INFERWARDEN_AUTH__ADMIN_KEY": ADMIN_KEY,
    "INFERWARDEN_AUTH__MEDIA_SIGNING_KEY": "smoke-test-media-signing-key-0123456789abcdef",
    "INFERWARDEN_WORKER_KEY": "smoke-test-worker-key-0123456789",
}
ALLOWED_ORIGIN = "https://studio.example.com"
DENIED_ORIGIN = "https://evil.example"
GENERATION = {"model": "flux-dev", "parameters": {"prompt": "a red fox", "steps": 4}}

# violation -> the check that must fail because of it
VIOLATIONS = {
    "health_down": "health",
    "anonymous_allowed": "credential_no_credential",
    "cookie_beats_wrong_header": "credential_wrong_header_with_session",
    "logout_keeps_session": "credential_revoked_session",
    "unknown_session_misreported": "credential_unknown_session",
    "session_check_broken": "session_round_trip",
    "cookie_not_httponly": "session_cookie_attributes",
    "admin_key_everywhere": "admin_key_outside_bootstrap",
    "admin_key_from_query": "admin_key_in_query",
    "admin_logout_keeps_session": "admin_session_round_trip",
    "cors_no_vary": "cors_allowed_origin",
    "cors_denied_gets_acao": "cors_denied_origin",
    "hostile_id_500": "remote_task_ids",
    "result_served_as_html": "generation_lifecycle",
    "tampered_signature_accepted": "signed_media_url",
    "audit_log_empty": "audit_visibility",
    "never_throttled": "rate_limit",
    "bare_error_body": "error_contract",
    "key_echoed": "secret_canary",
}

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def _envelope(code: str, status: int, detail: str) -> tuple[int, bytes]:
    return status, json.dumps({"code": code, "detail": detail, "user_action": "-", "metadata": {}}).encode()


class Broken:
    """ASGI wrapper that breaks one rule."""

    def __init__(self, app: Any, violation: str | None) -> None:
        self.app = app
        self.violation = violation

    async def _reply(self, send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        h = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())] + (headers or [])
        await send({"type": "http.response.start", "status": status, "headers": h})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.violation is None:
            return await self.app(scope, receive, send)
        v, method, path = self.violation, scope["method"], scope["path"]
        headers = [(k.lower(), val) for k, val in scope["headers"]]
        names = {k for k, _ in headers}
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)

        if v == "health_down" and path == "/health":
            return await self._reply(send, 503, b"maintenance")
        if v == "anonymous_allowed" and path.startswith("/status/") and not names & {b"x-api-key", b"cookie"}:
            headers.append((b"x-api-key", API_KEY.encode()))
        if v == "cookie_beats_wrong_header" and b"x-api-key" in names and b"cookie" in names:
            headers = [h for h in headers if h[0] != b"x-api-key"]
        if v == "logout_keeps_session" and method == "DELETE" and path == "/auth/session":
            return await self._reply(send, 200, b'{"revoked": true}')
        if v == "session_check_broken" and method == "GET" and path == "/auth/session":
            return await self._reply(send, *_envelope("task_not_found", 404, "gone"))
        if v == "admin_key_everywhere" and path.startswith("/admin/") and path != "/admin/session" and b"x-admin-key" in names:
            return await self._reply(send, 200, b'{"accounts": []}')
        if v == "admin_key_from_query" and path == "/admin/session" and any(k == "admin_key" for k, _ in query):
            headers.append((b"x-admin-key", dict(query)["admin_key"].encode()))
            scope = dict(scope, query_string=urlencode([(k, x) for k, x in query if k != "admin_key"]).encode())
        if v == "admin_logout_keeps_session" and method == "DELETE" and path == "/admin/session":
            return await self._reply(send, 200, b'{"revoked": true}')
        if v == "hostile_id_500" and path.startswith("/status/") and "::" in path:
            return await self._reply(send, *_envelope("internal_error", 500, "proxy crashed"))
        if v == "tampered_signature_accepted" and any(k == "sig" for k, _ in query):
            headers.append((b"x-api-key", API_KEY.encode()))
        if v == "audit_log_empty" and path == "/admin/audit":
            return await self._reply(send, 200, b"[]")
        echoed = dict(headers).get(b"x-api-key") if v == "key_echoed" else None
        scope = dict(scope, headers=headers)

        async def send_broken(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                h = list(message.get("headers", []))
                status = message["status"]
                if v == "cookie_not_httponly":
                    h = [(k, val.replace(b"; HttpOnly", b"")) if k.lower() == b"set-cookie" else (k, val) for k, val in h]
                if v == "cors_no_vary":
                    h = [(k, val) for k, val in h if k.lower() != b"vary"]
                if v == "cors_denied_gets_acao" and status == 403:
                    h.append((b"access-control-allow-origin", DENIED_ORIGIN.encode()))
                if v == "result_served_as_html" and path.startswith("/results/"):
                    h = [(k, b"text/html" if k.lower() == b"content-type" else val) for k, val in h]
                if echoed is not None:
                    h.append((b"x-debug-key", echoed))
                message = dict(message, headers=h)
            await send(message)

        if v in ("unknown_session_misreported", "never_throttled", "bare_error_body"):
            return await self._rewrite_errors(scope, receive, send)
        await self.app(scope, receive, send_broken)

    async def _rewrite_errors(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffers the response and rewrites one kind of error."""
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        body, status = b"".join(chunks), start["status"]
        headers = [(k, val) for k, val in start.get("headers", []) if k.lower() not in (b"content-length", b"retry-after")]
        code = None
        try:
            code = json.loads(body).get("code")
        except (ValueError, AttributeError):
            pass
        if self.violation == "unknown_session_misreported" and code == "session_invalid":
            status, body = _envelope("session_expired", 401, "expired")
        elif self.violation == "never_throttled" and code == "rate_limited":
            status, body = _envelope("invalid_api_key", 403, "wrong key")
        elif self.violation == "bare_error_body" and code == "invalid_api_key" and scope["path"] == "/auth/session":
            body = b'{"error": "unauthorized"}'
        else:
            headers = [(k, val) for k, val in start.get("headers", []) if k.lower() != b"content-length"]
        await send({"type": "http.response.start", "status": status, "headers": headers + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """The (possibly broken) platform served by uvicorn on loopback in a thread."""

    def __init__(self, data_dir: Path, violation: str | None = None) -> None:
        app = Broken(create_app(data_dir, worker_step_s=0.05), violation)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="error", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the platform did not start")
            time.sleep(0.02)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
