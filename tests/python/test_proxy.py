"""The proxy through the Python binding against real HTTP servers on loopback: blocking
calls (GIL released) and their asyncio twins, streamed media, generate, the gallery fan-out,
and the fork check of the shared runtime."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import inferwarden
from inferwarden.errors import (
    InternalError,
    ProxyTargetInvalidError,
    RemoteUnavailableError,
    TaskNotFoundError,
)

KEY = "canary-py-worker-key-91ab"
CHUNKS = [bytes([i]) * 32768 for i in range(4)]


class Worker(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked bodies need 1.1
    seen: list[dict[str, str]] = []
    posted: list[bytes] = []

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass  # the proxy gave up first (timeouts are tested)

    def do_GET(self):  # noqa: N802
        Worker.seen.append({k.lower(): v for k, v in self.headers.items()})
        if self.path == "/status/t-1":
            self._send(200, json.dumps({"status": "done", "progress": 100, "result_url": "https://elsewhere/x.png"}).encode())
        elif self.path == "/results/t-1":
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for c in CHUNKS:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.flush()
                time.sleep(0.02)
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/results/stall":
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for c in (b"first", b"second"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.flush()
                time.sleep(0.4)
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/preview/t-1":
            self._send(200, b"<script>steal()</script>", "text/html")
        elif self.path.startswith("/gallery?limit="):
            items = [{"task_id": "g1", "created_at": 2000}, {"task_id": "g0", "created_at": "1970-01-01 00:00:01+00:00"}]
            self._send(200, json.dumps({"items": items}).encode())
        elif self.path == "/status/slow":
            time.sleep(2)
            self._send(200, b"{}")
        else:
            self._send(404, b"remote-secret-body")

    def do_POST(self):  # noqa: N802
        Worker.seen.append({k.lower(): v for k, v in self.headers.items()})
        Worker.posted.append(self.rfile.read(int(self.headers["content-length"])))
        self._send(202, b'{"task_id": "r-9"}')

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def worker():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Worker)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


def make_router(port: int, **kwargs) -> inferwarden.Router:
    cfg = inferwarden.PolicyConfig.from_text(
        "[proxy]\nallow_http = true\nbackoff_base_ms = 10\n"
        "[proxy.status]\nconnect_s = 1.0\nread_s = 0.5\n"
    )
    router = inferwarden.Router(
        cfg, dns={"ws-1.workers.test": ["127.0.0.1"]}, credentials={"ws-1-key": KEY}, **kwargs
    )
    router.register("ws-1", f"http://ws-1.workers.test:{port}", "ready", "ws-1-key", allow_private=True)
    return router


def no_leak(err: BaseException) -> None:
    text = repr(err) + str(getattr(err, "to_dict", lambda: {})())
    for canary in (KEY, "remote-secret-body", "127.0.0.1", "workers.test:"):
        assert canary not in text, text


def test_status_through_the_registry(worker):
    router = make_router(worker)
    status = router.status("ws-1::t-1")
    assert status == {
        "task_id": "ws-1::t-1", "status": "done", "progress": 100,
        "result_url": "/results/ws-1::t-1", "preview_url": None, "error": None,
    }
    assert Worker.seen[-1]["x-api-key"] == KEY
    assert Worker.seen[-1]["host"] == f"ws-1.workers.test:{worker}"
    with pytest.raises(TaskNotFoundError) as info:
        router.status("ws-1::missing")
    no_leak(info.value)
    with pytest.raises(ProxyTargetInvalidError):
        router.status("evil.example%23::x")
    events = router.audit_events()
    assert events and KEY not in json.dumps(events)


def test_timeouts_and_failures_never_leak(worker):
    router = make_router(worker)
    started = time.monotonic()
    with pytest.raises(RemoteUnavailableError) as info:
        router.status("ws-1::slow")
    assert info.value.metadata["reason"] == "timeout"
    assert time.monotonic() - started < 4
    no_leak(info.value)


def test_results_stream_in_chunks_and_html_is_refused(worker):
    router = make_router(worker)
    body = router.results("ws-1::t-1")
    assert body.content_type == "image/png" and body.status == 200
    chunks = list(body)
    assert b"".join(chunks) == b"".join(CHUNKS)
    assert len(chunks) >= 2
    assert body.read_chunk() is None
    with pytest.raises(RemoteUnavailableError) as info:
        router.preview("ws-1::t-1")
    assert info.value.metadata["reason"] == "content_type"


def test_generate_and_gallery(worker):
    router = make_router(worker)
    accepted = router.generate("ws-1", {"model": "m", "prompt": "a cat", "steps": 4})
    assert accepted == {"task_id": "ws-1::r-9", "workspace": "ws-1", "status_url": "/status/ws-1::r-9"}
    assert json.loads(Worker.posted[-1]) == {"model": "m", "prompt": "a cat", "steps": 4}
    assert Worker.seen[-1]["idempotency-key"]
    gallery = router.gallery(limit=5)
    assert [i["task_id"] for i in gallery["items"]] == ["ws-1::g1", "ws-1::g0"]
    assert gallery["items"][1]["created_at_ms"] == 1000
    assert gallery["failures"] == [] and gallery["accounts"] == 1
    with pytest.raises(inferwarden.errors.RequestValidationError):
        router.generate("ws-1", {"bad": object()})


def test_async_twins(worker):
    router = make_router(worker)

    async def main():
        status, gallery = await asyncio.gather(
            router.status_async("ws-1::t-1"), router.gallery_async(limit=5)
        )
        assert status["status"] == "done" and len(gallery["items"]) == 2
        body = await router.results_async("ws-1::t-1")
        got = b"".join([chunk async for chunk in body])
        assert got == b"".join(CHUNKS)
        accepted = await router.generate_async("ws-1", {"model": "m"})
        assert accepted["task_id"] == "ws-1::r-9"
        with pytest.raises(TaskNotFoundError):
            await router.status_async("ws-1::missing")
        with pytest.raises(ProxyTargetInvalidError):
            await router.status_async("../x::y")
        # Cancelling the awaitable aborts the request and leaves the loop healthy.
        slow = asyncio.ensure_future(router.status_async("ws-1::slow"))
        await asyncio.sleep(0.05)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert (await router.status_async("ws-1::t-1"))["status"] == "done"

    asyncio.run(main())


def test_a_cancelled_read_leaves_the_stream_readable(worker):
    router = make_router(worker)

    async def main():
        body = await router.results_async("ws-1::stall")
        assert await body.read_chunk_async() == b"first"
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(body.read_chunk_async(), 0.05)
        assert await body.read_chunk_async() == b"second"
        assert await body.read_chunk_async() is None

    asyncio.run(main())


def test_async_calls_need_a_running_loop(worker):
    router = make_router(worker)
    with pytest.raises(RuntimeError):
        router.status_async("ws-1::t-1")


def test_blocking_calls_release_the_gil(worker):
    router = make_router(worker)
    ticks = 0
    stop = threading.Event()

    def spin():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    with pytest.raises(RemoteUnavailableError):
        router.status("ws-1::slow")
    stop.set()
    t.join()
    assert ticks > 50, ticks


def test_registry_store_and_env_credentials(worker, tmp_path, monkeypatch):
    monkeypatch.setenv("INFERWARDEN_WORKER_KEY_ENV_REF", KEY)
    url = f"sqlite:{tmp_path / 'registry.db'}"
    cfg = inferwarden.PolicyConfig.from_text("[proxy]\nallow_http = true\n")
    router = inferwarden.Router(cfg, dns={"ws-1.workers.test": ["127.0.0.1"]}, registry=url)
    router.register("ws-1", f"http://ws-1.workers.test:{worker}", "ready", "env-ref", allow_private=True)
    again = inferwarden.Router(cfg, dns={"ws-1.workers.test": ["127.0.0.1"]}, registry=url)
    assert [e["workspace"] for e in again.ready()] == ["ws-1"]
    assert again.status("ws-1::t-1")["status"] == "done"
    assert Worker.seen[-1]["x-api-key"] == KEY
    no_env = inferwarden.Router(
        cfg, dns={"ws-1.workers.test": ["127.0.0.1"]}, registry=url, credentials_from_env=False
    )
    with pytest.raises(inferwarden.errors.ServerMisconfiguredError) as info:
        no_env.status("ws-1::t-1")
    assert info.value.metadata["credential_ref"] == "env-ref"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_use_after_fork_is_a_clear_error_not_a_hang(worker):
    router = make_router(worker)
    assert router.status("ws-1::t-1")["status"] == "done"  # the runtime now exists
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        try:
            router.status("ws-1::t-1")
            os.write(w, b"no error")
        except InternalError as e:
            os.write(w, f"{e.code}|{e.metadata.get('reason')}".encode())
        except BaseException as e:  # noqa: BLE001
            os.write(w, repr(e).encode())
        os._exit(0)
    os.close(w)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        pytest.fail("the child hung")
    got = os.read(r, 4096).decode()
    os.close(r)
    assert got == "internal_error|used_after_fork", got
    assert router.status("ws-1::t-1")["status"] == "done"  # the parent is unaffected
