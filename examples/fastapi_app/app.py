"""The reference FastAPI backend built on inferwarden's Python binding.

Everything a platform must not get wrong is decided by the library:

- the gate (``GateMiddleware``): CORS, the auth throttle, credential precedence, sessions in
  SQLite, the admin boundary, signed media URLs;
- remote routing: ``workspace::task_id`` ids go through the registry-only ``Router`` to a stub
  worker account this app starts on loopback (streamed results, the gallery fan-out);
- the task lifecycle in SQLite with a sweeper thread, and a fake GPU worker that claims,
  reports progress and completes tasks;
- catalogue validation of every ``POST /generate`` body;
- the durable audit log in SQLite (hash-chained, signed checkpoints when
  ``INFERWARDEN_AUDIT_SIGNING_KEY`` is set), written by the gate, router and lifecycle, pruned
  and checkpointed by the sweeper, served at ``GET /admin/audit`` (admin session only, paged
  and filtered) and checked at ``GET /admin/audit/verify``;
- the error envelope for every error, including FastAPI's own 404/405/422.

Run it: ``python examples/fastapi_app/app.py --port 8000`` with ``INFERWARDEN_AUTH__API_KEYS``,
``INFERWARDEN_AUTH__ADMIN_KEY``, ``INFERWARDEN_AUTH__MEDIA_SIGNING_KEY`` and
``INFERWARDEN_WORKER_KEY`` set (``--demo-keys`` generates them for a local try-out).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import secrets
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import uvicorn  # noqa: E402
from fastapi import Depends, FastAPI, Query, Request, Response  # noqa: E402
from fastapi.exceptions import RequestValidationError as FastAPIValidationError  # noqa: E402
from fastapi.responses import JSONResponse, StreamingResponse  # noqa: E402
from starlette.concurrency import run_in_threadpool  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

import inferwarden  # noqa: E402
from inferwarden.errors import InferwardenError, TaskNotFoundError, error_class  # noqa: E402
from inferwarden.fastapi import GateMiddleware, error_body, gate_decision, install_error_handler  # noqa: E402
from media import tiny_png  # noqa: E402
from stub_worker import StubWorker  # noqa: E402

CATALOGUE = HERE.parent / "platform" / "src" / "inference_settings.json"
REMOTE_WORKSPACE = "pool-2"
REMOTE_HOST = "pool-2.workers.local"
NOSNIFF = {"x-content-type-options": "nosniff"}
# Times and sequence numbers are 64-bit in the audit store; a larger number is a malformed
# request (validation_error), not an overflow inside the handler (found by the HTTP fuzzer).
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


class FakeGpuWorker:
    """Claims queued tasks, reports progress, writes a PNG result and preview, completes."""

    def __init__(self, lifecycle: inferwarden.Lifecycle, media_dir: Path, step_s: float) -> None:
        self.lifecycle = lifecycle
        self.media_dir = media_dir
        self.step_s = step_s
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._run, name="fake-gpu-worker", daemon=True).start()

    def submit(self, task_id: str) -> None:
        self.queue.put(task_id)

    def _run(self) -> None:
        while True:
            task_id = self.queue.get()
            try:
                claim = self.lifecycle.claim(task_id, "fake-gpu-0")
                lease = claim["lease_id"]
                for progress in (25, 50, 75):
                    time.sleep(self.step_s)
                    self.lifecycle.report_progress(task_id, lease, progress)
                result = self.media_dir / f"{task_id}.png"
                result.write_bytes(tiny_png(96, 64))
                (self.media_dir / f"{task_id}.preview.png").write_bytes(tiny_png(24, 16))
                self.lifecycle.complete(task_id, lease, str(result), "fake-gpu-0")
            except InferwardenError as err:  # e.g. swept as stale meanwhile: the lifecycle decides
                print(f"fake worker: {task_id}: {err.code}", file=sys.stderr)


def generation_body_schema() -> dict[str, Any]:
    """The OpenAPI request body of ``POST /generate`` (the body is read raw and checked by the
    catalogue, so FastAPI cannot infer it): a model from the catalogue, its parameters, and
    optionally the remote workspace to run on. Clients and HTTP fuzzers read it."""
    settings = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    models = sorted({m for key, table in settings.items() if key.endswith("_models") for m in table} | set(settings.get("aliases", {})))
    body = {
        "type": "object",
        "required": ["model", "parameters"],
        "properties": {
            "model": {"type": "string", "enum": models},
            "mode": {"type": "string"},
            "parameters": {"type": "object", "properties": {"prompt": {"type": "string", "maxLength": 2000}}},
            "workspace": {"type": "string", "description": "a registered remote workspace"},
        },
    }
    return {"required": True, "content": {"application/json": {"schema": body}}}


def correlation(request: Request) -> str:
    return request.headers.get("x-request-id") or request.headers.get("x-correlation-id") or "-"


def create_app(data_dir: Path, *, worker_step_s: float = 0.2) -> FastAPI:
    config = inferwarden.PolicyConfig.load(HERE / "policy.toml")
    report = config.validate()
    if report["errors"]:
        raise SystemExit(f"invalid policy: {report['errors']}")
    data_dir.mkdir(parents=True, exist_ok=True)
    media_dir = data_dir / "media"
    media_dir.mkdir(exist_ok=True)
    settings = config.to_dict()
    cookie_names = {"generation": settings["sessions"]["cookie_name"], "admin": settings["sessions"]["admin_cookie_name"]}

    # One durable audit log for every component; when it cannot write, audited actions are
    # refused (dependency_unavailable), never served unaudited.
    audit_log = inferwarden.AuditLog(f"sqlite:{data_dir / 'audit.db'}", config=config)
    gate = inferwarden.Gate(config, session_store=f"sqlite:{data_dir / 'sessions.db'}", audit=audit_log)
    lifecycle = inferwarden.Lifecycle(config, f"sqlite:{data_dir / 'tasks.db'}", audit=audit_log)
    catalogue = inferwarden.Catalogue.from_json(CATALOGUE.read_text(encoding="utf-8"))
    worker = FakeGpuWorker(lifecycle, media_dir, worker_step_s)

    worker_key = os.environ.get("INFERWARDEN_WORKER_KEY", "")
    stub = StubWorker(worker_key)
    router = inferwarden.Router(
        config,
        dns={REMOTE_HOST: ["127.0.0.1"]},
        registry=f"sqlite:{data_dir / 'registry.db'}",
        audit=audit_log,
    )
    router.register(REMOTE_WORKSPACE, f"http://{REMOTE_HOST}:{stub.port}", "ready", "default", allow_private=True)

    def sweeper() -> None:
        interval = settings["stale"]["sweep_interval_s"]
        while True:
            time.sleep(interval)
            try:
                lifecycle.sweep()
                lifecycle.maintain_audit()  # retention and the scheduled signed checkpoint
            except InferwardenError as err:
                print(f"sweeper: {err.code}", file=sys.stderr)

    threading.Thread(target=sweeper, name="sweeper", daemon=True).start()

    # No trailing-slash redirects: Starlette's 307 copies the query string into Location, so a
    # key sent as ?api_key= would come back in a response header (found by the HTTP fuzzer).
    app = FastAPI(title="inferwarden example backend", redirect_slashes=False)
    app.add_middleware(GateMiddleware, gate=gate)
    install_error_handler(app)

    async def framework_error(_request: Request, exc: Exception) -> Response:
        # FastAPI's own errors become the envelope too: unknown routes are task_not_found,
        # anything else about the request shape is validation_error.
        status = getattr(exc, "status_code", 422)
        cls = error_class("task_not_found" if status == 404 else "validation_error")
        err = cls("no such route" if status == 404 else "the request is malformed")
        return Response(error_body(err), status_code=err.http_status, media_type="application/json")

    app.add_exception_handler(StarletteHTTPException, framework_error)
    app.add_exception_handler(FastAPIValidationError, framework_error)

    def session_token(request: Request, kind: str) -> str | None:
        return request.cookies.get(cookie_names[kind])

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"ok": True, "version": inferwarden.__version__}

    # Prometheus scrapes this (OpenMetrics text). A public route by default, like /health:
    # no secret, task id or client address is ever in it; keep it on the internal network,
    # or give `GET /metrics` an authenticated class in [gate] routes.
    @app.get("/metrics")
    def metrics() -> Response:
        return Response(inferwarden.metrics.render(), media_type=inferwarden.metrics.CONTENT_TYPE)

    @app.post("/auth/session")
    def open_session(request: Request, response: Response, decision=Depends(gate_decision)) -> dict[str, Any]:
        issued = gate.issue_session(decision, "generation", correlation(request))
        response.headers["set-cookie"] = issued.set_cookie
        return {"session": "issued", "kind": "generation"}

    @app.get("/auth/session")
    def check_session(decision=Depends(gate_decision)) -> dict[str, Any]:
        return {"session": "active", "principal": decision.principal}

    @app.delete("/auth/session")
    def close_session(request: Request, response: Response) -> dict[str, Any]:
        token = session_token(request, "generation")
        revoked = bool(token) and gate.revoke_session(token, "user", correlation(request))
        response.headers["set-cookie"] = gate.clear_cookie("generation")
        return {"revoked": revoked}

    @app.post("/admin/session")
    def open_admin(request: Request, response: Response, decision=Depends(gate_decision)) -> dict[str, Any]:
        issued = gate.issue_session(decision, "admin", correlation(request))
        response.headers["set-cookie"] = issued.set_cookie
        return {"session": "issued", "kind": "admin"}

    @app.delete("/admin/session")
    def close_admin(request: Request, response: Response) -> dict[str, Any]:
        token = session_token(request, "admin")
        revoked = bool(token) and gate.revoke_session(token, "admin", correlation(request))
        response.headers["set-cookie"] = gate.clear_cookie("admin")
        return {"revoked": revoked}

    @app.get("/admin/accounts")
    def accounts() -> dict[str, Any]:
        return {"accounts": [{"workspace": e["workspace"], "status": e["status"]} for e in router.ready()]}

    @app.get("/admin/audit")
    def audit(
        since_ms: int | None = Query(None, ge=I64_MIN, le=I64_MAX),
        until_ms: int | None = Query(None, ge=I64_MIN, le=I64_MAX),
        actor: str | None = None,
        action: str | None = None,
        source: str | None = None,
        outcome: str | None = None,
        correlation_id: str | None = None,
        before_seq: int | None = Query(None, ge=I64_MIN, le=I64_MAX),
        limit: int = Query(100, ge=1, le=1000),
    ) -> dict[str, Any]:
        # Newest first; the next page is ?before_seq=<next_before_seq>. The gate admits only
        # an admin session to /admin/* routes.
        events = audit_log.query(
            since_ms=since_ms,
            until_ms=until_ms,
            actor=actor,
            action=action,
            source=source,
            outcome=outcome,
            correlation_id=correlation_id,
            before_seq=before_seq,
            newest_first=True,
            limit=limit,
        )
        next_before = events[-1]["seq"] if len(events) == limit else None
        return {"events": events, "next_before_seq": next_before}

    @app.get("/admin/audit/verify")
    def audit_verify() -> dict[str, Any]:
        return audit_log.verify()

    @app.post("/generate", status_code=202, openapi_extra={"requestBody": generation_body_schema()})
    async def generate(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise error_class("validation_error")("the body must be JSON") from None
        if not isinstance(body, dict):
            raise error_class("validation_error")("the body must be a JSON object")
        workspace = body.pop("workspace", None)
        checked = inferwarden.validate_request(catalogue, body)
        if workspace is not None:
            accepted = await router.generate_async(str(workspace), checked, correlation(request))
            return {"task_id": accepted["task_id"], "status": "pending"}
        task_id = f"t-{uuid.uuid4().hex[:16]}"
        # Store calls block: on a worker thread, never on the event loop.
        await run_in_threadpool(lifecycle.create, task_id, checked["kind"])
        worker.submit(task_id)
        return {"task_id": task_id, "status": "pending", "model": checked["model_id"]}

    def local_task(task_id: str) -> dict[str, Any]:
        task = inferwarden.parse_task_ref(task_id)  # raises ProxyTargetInvalidError
        record = lifecycle.get(task.task_id)
        if record is None:
            raise TaskNotFoundError("no such task")
        return record

    @app.get("/status/{task_id}")
    async def status(task_id: str, request: Request) -> dict[str, Any]:
        if inferwarden.parse_task_ref(task_id).is_remote:
            return await router.status_async(task_id, correlation(request))
        t = await run_in_threadpool(local_task, task_id)
        done = t["status"] == "done"
        return {
            "task_id": task_id,
            "status": t["status"],
            "progress": t["progress"],
            "result_url": f"/results/{task_id}?{gate.sign_media_url(task_id)}" if done else None,
            "preview_url": f"/preview/{task_id}?{gate.sign_media_url(task_id, preview=True)}" if done else None,
            "error": t["error_message"],
        }

    async def media(task_id: str, request: Request, preview: bool) -> Response:
        if inferwarden.parse_task_ref(task_id).is_remote:
            call = router.preview_async if preview else router.results_async
            body = await call(task_id, correlation(request))
            return StreamingResponse(body, media_type=body.content_type, headers=NOSNIFF)
        t = await run_in_threadpool(local_task, task_id)
        if t["status"] != "done":
            raise TaskNotFoundError("the task has no result yet")
        path = media_dir / (f"{task_id}.preview.png" if preview else f"{task_id}.png")
        return Response(path.read_bytes(), media_type="image/png", headers=NOSNIFF)

    @app.get("/results/{task_id}")
    async def results(task_id: str, request: Request) -> Response:
        return await media(task_id, request, preview=False)

    @app.get("/preview/{task_id}")
    async def preview(task_id: str, request: Request) -> Response:
        return await media(task_id, request, preview=True)

    @app.get("/gallery")
    async def gallery(request: Request, limit: int = Query(50, ge=1, le=500)) -> JSONResponse:
        remote = await router.gallery_async(limit, correlation(request))
        return JSONResponse(remote)

    app.state.stub = stub
    app.state.router = router
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--demo-keys", action="store_true", help="generate throwaway keys (local try-out only)")
    args = parser.parse_args()
    if args.demo_keys:
        for name in ("INFERWARDEN_AUTH__API_KEYS", "INFERWARDEN_AUTH__ADMIN_KEY", "INFERWARDEN_AUTH__MEDIA_SIGNING_KEY", "INFERWARDEN_WORKER_KEY"):
            os.environ.setdefault(name, secrets.token_urlsafe(32))
        print("demo keys generated (not printed); read them from this process's environment", file=sys.stderr)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="inferwarden-fastapi-"))
    uvicorn.run(create_app(data_dir), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
