"""The proxy through the Python binding against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import inferwarden

KEY = "canary-py-worker-key-91ab"


class Worker(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self):  # noqa: N802
        Worker.seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.path == "/status/t-1":
            body = json.dumps({"status": "done", "progress": 100, "result_url": "https://elsewhere/x.png"}).encode()
            self.send_response(200)
        else:
            body = b"remote-secret-body"
            self.send_response(404)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture()
def worker():
    httpd = HTTPServer(("127.0.0.1", 0), Worker)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


def test_fetch_status_through_the_registry(worker):
    cfg = inferwarden.PolicyConfig.from_text("[proxy]\nallow_http = true\nallow_ip_literal = true\n")
    router = inferwarden.Router(cfg)
    router.register("ws-1", f"http://127.0.0.1:{worker}", "ready", "ws-1-key", allow_private=True)
    status = router.fetch_status("ws-1::t-1", KEY)
    assert status == {
        "task_id": "ws-1::t-1", "status": "done", "progress": 100,
        "result_url": "/results/ws-1::t-1", "preview_url": None, "error": None,
    }
    assert Worker.seen[-1]["x-api-key"] == KEY
    with pytest.raises(inferwarden.errors.TaskNotFoundError) as info:
        router.fetch_status("ws-1::missing", KEY)
    assert KEY not in str(info.value.to_dict()) and "remote-secret-body" not in str(info.value.to_dict())
    with pytest.raises(inferwarden.errors.ProxyTargetInvalidError):
        router.fetch_status("evil.example%23::x", KEY)
