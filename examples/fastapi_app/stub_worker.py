"""A stand-in remote worker account (another GPU workspace) on loopback.

It speaks the worker side of the proxy contract: ``GET /status/{id}``, ``GET /results/{id}``,
``GET /preview/{id}``, ``GET /gallery`` and ``POST /generate``, and answers 401 unless the
request carries its key in ``x-api-key``. Tasks it accepts finish after ``finish_after_s``.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from media import tiny_png


class StubWorker:
    """Runs the stub on 127.0.0.1 (ephemeral port) in a daemon thread."""

    def __init__(self, key: str, finish_after_s: float = 0.5) -> None:
        self.key = key
        self.finish_after_s = finish_after_s
        self.tasks: dict[str, float] = {"r-1": time.time() - 60}
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorized(self) -> bool:
                with stub.lock:
                    stub.requests.append(f"{self.command} {self.path}")
                if self.headers.get("x-api-key") != stub.key:
                    self._reply(401, b'{"error": "unauthorized"}')
                    return False
                return True

            def _task(self, task_id: str) -> tuple[str, int] | None:
                with stub.lock:
                    started = stub.tasks.get(task_id)
                if started is None:
                    return None
                age = time.time() - started
                if age >= stub.finish_after_s:
                    return "done", 100
                return "processing", int(100 * age / stub.finish_after_s)

            def do_GET(self) -> None:  # noqa: N802
                if not self._authorized():
                    return
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts == ["gallery"]:
                    with stub.lock:
                        items = [{"task_id": t, "created_at": int(s * 1000), "type": "image", "status": "done"} for t, s in stub.tasks.items()]
                    return self._reply(200, json.dumps({"items": items}).encode())
                if len(parts) != 2 or parts[0] not in ("status", "results", "preview"):
                    return self._reply(404, b'{"error": "no such route"}')
                state = self._task(parts[1])
                if state is None:
                    return self._reply(404, b'{"error": "no such task"}')
                status, progress = state
                if parts[0] == "status":
                    body = {"status": status, "progress": progress}
                    if status == "done":
                        body["result_url"] = f"https://storage.internal/{parts[1]}.png"
                        body["preview_url"] = f"https://storage.internal/{parts[1]}.preview.png"
                    return self._reply(200, json.dumps(body).encode())
                if status != "done":
                    return self._reply(404, b'{"error": "not ready"}')
                size = 64 if parts[0] == "results" else 16
                return self._reply(200, tiny_png(size, size), "image/png")

            def do_POST(self) -> None:  # noqa: N802
                if not self._authorized():
                    return
                self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != "/generate":
                    return self._reply(404, b"{}")
                with stub.lock:
                    task_id = f"r-{len(stub.tasks) + 1}"
                    stub.tasks[task_id] = time.time()
                self._reply(202, json.dumps({"task_id": task_id}).encode())

        return Handler
