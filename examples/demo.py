"""The inferwarden demo: the policy core at work on the sample platform in examples/platform.

Run it with `scripts/demo.sh` (which builds and installs the Python binding first).
Each capability of the library adds a section here.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import inferwarden
from inferwarden.errors import InferwardenError

HERE = Path(__file__).resolve().parent
PLATFORM = HERE / "platform"


def section(title: str) -> None:
    print(f"\n=== {title} ===")


def show_config() -> inferwarden.PolicyConfig:
    section("1. Runtime policy: one typed configuration (file + INFERWARDEN_* overrides)")
    env = dict(os.environ)
    # Demo secrets come from the environment; they never appear in any output below.
    env.setdefault("INFERWARDEN_AUTH__API_KEYS", "demo-api-key-please-rotate")
    env.setdefault("INFERWARDEN_AUTH__ADMIN_KEY", "demo-admin-key-0123456789")
    env.setdefault("INFERWARDEN_QUEUE__DEGRADED_MAX_WAIT_S", "30")
    env.setdefault("INFERWARDEN_AUTH__MEDIA_SIGNING_KEY", "demo-media-signing-key-0123456789abcdef")
    config = inferwarden.PolicyConfig.load(PLATFORM / "inferwarden.toml", env=env)
    effective = config.to_dict()
    print(f"environment: {config.environment} (dev: {config.is_dev_environment})")
    print("auth:", json.dumps(effective["auth"]))
    print("stale TTLs (s):", effective["stale"]["processing_ttl_s"], "| unknown type ->", config.stale_ttl_s("audio"))
    print("queue:", effective["queue"])
    print("rate limits:", {k: v for k, v in effective["rate_limits"].items()})
    print("worker settings for the serverless decorator:")
    for lane, settings in config.worker_settings().items():
        print(f"  {lane:<16} {settings}")
    report = config.validate()
    for w in report["warnings"]:
        print(f"  warning: {w['field']}: {w['message']}")

    section("   ...and a configuration that would fail tasks still running is refused")
    try:
        inferwarden.PolicyConfig.load(PLATFORM / "inferwarden.toml", env={"INFERWARDEN_STALE__PROCESSING_TTL_S__VIDEO": "600"})
    except InferwardenError as err:
        print(f"{type(err).__name__} [{err.code}]")
        for issue in err.metadata["issues"]:
            print(f"  {issue['field']}: {issue['message']}")
    return config


def show_task_refs() -> None:
    section("2. Task references: where a task may be routed")
    samples = [
        "3f2b9c1e-7a4d-4f0e-9b1a-2c3d4e5f6a7b",
        "gpu-pool-2::3f2b9c1e",
        "evil.example%23::x",
        "a@evil.example::x",
        "ws::a::b",
        "acme::..",
        "ACME::t1",
    ]
    for raw in samples:
        try:
            ref = inferwarden.parse_task_ref(raw)
            where = f"remote workspace {ref.workspace!r}" if ref.is_remote else "local"
            print(f"  {raw!r:<42} -> {where}, task {ref.task_id!r}")
        except InferwardenError as err:
            print(f"  {raw!r:<42} -> {err.code} ({err.metadata['rule']}), HTTP {err.http_status}")


def show_errors() -> None:
    section("3. The error contract (one code per rejection) and the legacy map")
    for row in inferwarden.list_all_errors():
        print(f"  {row['code']:<24} {row['http_status']}  {row['class_name']}")
    for legacy, code in inferwarden.legacy_code_map().items():
        print(f"  legacy {legacy:<28} -> {code}")


def show_gate(config: inferwarden.PolicyConfig, workdir: Path) -> None:
    section("4. Request gate: credential precedence, sessions (SQLite), admin boundary, CORS, rate limits")
    api_key = "demo-api-key-please-rotate"
    admin_key = "demo-admin-key-0123456789"
    gate = inferwarden.Gate(config, session_store=f"sqlite:{workdir / 'sessions.db'}", rate_limiter="memory")

    def show(label: str, d: inferwarden.Decision) -> None:
        outcome = f"allow as {d.principal['kind']}" if d.allowed else ("preflight 204" if d.preflight else f"{d.status} {d.error.code}")
        print(f"  {label:<58} -> {outcome}")

    opened = gate.decide("POST", "/auth/session", [("X-API-Key", api_key)], peer="198.51.100.4")
    session = gate.issue_session(opened, "generation")
    print(f"  POST /auth/session issued {session!r}; cookie attributes: {session.set_cookie.split(';', 1)[1].strip()}")
    cookie = ("Cookie", f"gg_session={session.token}")
    show("GET /status/t1 with X-API-Key", gate.decide("GET", "/status/t1", [("X-API-Key", api_key)]))
    show("GET /status/t1 with a wrong X-API-Key and a valid session", gate.decide("GET", "/status/t1", [("X-API-Key", "wrong"), cookie]))
    show("GET /status/t1 with the session cookie", gate.decide("GET", "/status/t1", [cookie]))
    show("GET /status/t1 with nothing", gate.decide("GET", "/status/t1"))
    signed = gate.sign_media_url("t1", preview=False, ttl_s=300) if config.to_dict()["auth"]["media_signing_key"] else None
    if signed:
        show("GET /results/t1 with a signed media URL", gate.decide("GET", "/results/t1", query=[tuple(p.split("=", 1)) for p in signed.split("&")]))
    gate.revoke_session(session.token)
    show("GET /status/t1 with the revoked session", gate.decide("GET", "/status/t1", [cookie]))
    show("GET /admin/accounts with x-admin-key", gate.decide("GET", "/admin/accounts", [("x-admin-key", admin_key)]))
    show("POST /admin/session with the admin key in the query", gate.decide("POST", "/admin/session", query=[("admin_key", admin_key)]))
    show("GET /status/t1 from an allowed origin", gate.decide("GET", "/status/t1", [("Origin", "http://localhost:5173"), ("X-API-Key", api_key)]))
    show("GET /status/t1 from https://studio.example.com.evil.com", gate.decide("GET", "/status/t1", [("Origin", "https://studio.example.com.evil.com")]))
    codes = [gate.decide("POST", "/auth/session", [("X-API-Key", "wrong")], peer="203.0.113.9") for _ in range(11)]
    last = codes[-1]
    retry = dict(last.headers).get("Retry-After")
    print(f"  11 x POST /auth/session from one IP with a bad key      -> {[d.error.code for d in codes][-2:]} (Retry-After: {retry})")
    events = gate.audit_events()
    dumped = json.dumps(events)
    leaked = [name for name, secret in (("api key", api_key), ("admin key", admin_key), ("session token", session.token)) if secret in dumped]
    print(f"  audit events recorded: {len(events)} ({', '.join(sorted({e['action'] for e in events}))}); "
          f"secrets found in them: {leaked or 'none'}")


def show_lifecycle(config: inferwarden.PolicyConfig, workdir: Path) -> None:
    section("5. Task lifecycle on SQLite: typed stale limits and an exactly-once sweep")
    start = 1_800_000_000_000
    clock = inferwarden.ManualClock(start)
    life = inferwarden.Lifecycle(config, f"sqlite:{workdir / 'tasks.db'}", clock=clock)
    life.create("img-1", "image")
    life.create("vid-1", "video")
    img = life.claim("img-1", "worker-a")
    life.claim("vid-1", "worker-b")
    print(f"  claimed img-1 (TTL {img['ttl_ms'] // 60000} min) and vid-1 (TTL {config.stale_ttl_s('video') // 60} min)")
    clock.advance_ms(10 * 60_000 + 1)
    report = life.sweep()
    for t in report["failed"]:
        print(f"  sweep {report['sweep_id']}: failed {t['task_id']} ({t['task_type']}) reason={t['reason']} runtime={t['runtime_ms']} ms ttl={t['ttl_ms']} ms")
    print(f"  vid-1 is still {life.get('vid-1')['status']} (video limit is 30 min)")
    try:
        life.complete("img-1", img["lease_id"], "/results/img-1.png", "worker-a")
    except InferwardenError as err:
        print(f"  late done for img-1 -> {err.code} ({err.metadata['outcome']}); recorded: "
              f"{[e['action'] for e in life.audit_events() if e['action'] == 'late_completion_rejected']}")
    print("  img-1 transitions:", " -> ".join(t["to_status"] for t in life.transitions("img-1")))
    # A heartbeat timeout (off by default) fails a silent worker's task before its deadline.
    hb_config = inferwarden.PolicyConfig.from_text("[stale]\nheartbeat_timeout_s = 120\n")
    hb = inferwarden.Lifecycle(hb_config, f"sqlite:{workdir / 'heartbeat.db'}", clock=clock)
    hb.create("vid-2", "video")
    hb.create("vid-3", "video")
    hb.claim("vid-2", "worker-c")
    alive = hb.claim("vid-3", "worker-d")
    clock.advance_ms(100_000)
    hb.heartbeat("vid-3", alive["lease_id"])
    clock.advance_ms(20_001)
    for t in hb.sweep()["failed"]:
        print(f"  heartbeat timeout 120 s: {t['task_id']} failed as {t['reason']} after {t['runtime_ms']} ms; "
              f"vid-3 (heartbeat at 100 s) is {hb.get('vid-3')['status']}")


def show_routing(config: inferwarden.PolicyConfig) -> None:
    section("6. Remote workspaces: registry-only targets, the connect-time address policy, the proxy")
    cfg = inferwarden.PolicyConfig.from_text('[proxy]\nallowed_host_suffixes = ["example.run"]\n')
    # A fixed DNS table stands in for the system resolver: gpu-pool-2 resolves to a public
    # address, "rebinder" to the cloud metadata address.
    router = inferwarden.Router(cfg, dns={"gpu-pool-2--app.example.run": ["93.184.216.34"], "rebinder.example.run": ["169.254.169.254"]})
    router.register("gpu-pool-2", "https://gpu-pool-2--app.example.run", "ready", "pool-2-key")
    router.register("rebinder", "https://rebinder.example.run", "ready", "rebinder-key")
    for task_id in ["gpu-pool-2::3f2b9c1e", "evil.example%23::x", "unknown-ws::t1", "rebinder::t1"]:
        try:
            target = router.resolve(task_id, "status")
            print(f"  {task_id:<24} -> {target['url']} via {target['addresses']} (credential {target['credential_ref']!r})")
        except InferwardenError as err:
            print(f"  {task_id:<24} -> {err.code} ({err.metadata.get('rule', '-')})")
    try:
        router.register("attacker", "https://user@evil.example/")
    except InferwardenError as err:
        print(f"  register https://user@evil.example/ -> {err.code} ({err.metadata['rule']})")
    print(f"  rejections audited: {[e['action'] for e in router.audit_events()]}")
    # A deployment whose workers live on a private network says so once, instead of flagging
    # each entry; the metadata address stays refused either way.
    dns = {"gpu.vpc.example.run": ["10.0.0.7"], "meta.vpc.example.run": ["169.254.169.254"]}
    for switch in ("false", "true"):
        vpc = inferwarden.Router(
            inferwarden.PolicyConfig.from_text(
                f'[proxy]\nallowed_host_suffixes = ["example.run"]\nallow_private_networks = {switch}\n'),
            dns=dns)
        vpc.register("vpc-gpu", "https://gpu.vpc.example.run", "ready", "vpc-key")
        vpc.register("vpc-meta", "https://meta.vpc.example.run", "ready", "vpc-key")
        outcomes = []
        for task_id in ("vpc-gpu::t1", "vpc-meta::t1"):
            try:
                outcomes.append(f"{task_id} -> {vpc.resolve(task_id, 'status')['addresses']}")
            except InferwardenError as err:
                outcomes.append(f"{task_id} -> {err.code} ({err.metadata.get('rule')})")
        print(f"  proxy.allow_private_networks = {switch}: " + "; ".join(outcomes))
    show_proxy()


class _DemoWorker(http.server.BaseHTTPRequestHandler):
    """A stand-in worker account on loopback for the proxy demo."""

    protocol_version = "HTTP/1.1"

    def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        if self.path == "/status/job-7":
            self._reply(200, json.dumps({"status": "done", "progress": 100, "result_url": "https://internal.bucket/x.png"}).encode())
        elif self.path == "/results/job-7":
            self._reply(200, bytes(range(256)) * 1024, "image/png")
        elif self.path.startswith("/gallery"):
            items = [{"task_id": "job-7", "created_at": "2026-11-25T10:00:00Z", "status": "done"},
                     {"task_id": "job-6", "created_at": "2026-11-24T09:00:00Z"}]
            self._reply(200, json.dumps({"items": items}).encode())
        else:
            self._reply(404, b"not here")

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers["content-length"]))
        self._reply(202, b'{"task_id": "job-8"}')

    def log_message(self, *args):
        pass


def show_proxy() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DemoWorker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    cfg = inferwarden.PolicyConfig.from_text(
        "[proxy]\nallow_http = true\nbackoff_base_ms = 10\n[proxy.gallery]\nconnect_s = 0.5\nread_s = 1.0\n"
    )
    router = inferwarden.Router(
        cfg,
        dns={"pool-1.workers.internal": ["127.0.0.1"], "pool-2.workers.internal": ["127.0.0.1"]},
        credentials={"pool-key": "demo-worker-key-not-printed"},
    )
    # Loopback stand-ins: plain http and private addresses are allowed for these entries only.
    router.register("pool-1", f"http://pool-1.workers.internal:{port}", "ready", "pool-key", allow_private=True)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    router.register("pool-2", f"http://pool-2.workers.internal:{dead_port}", "ready", "pool-key", allow_private=True)
    st = router.status("pool-1::job-7")
    print(f"  proxy status pool-1::job-7 -> {st['status']} {st['progress']}%, result_url rewritten to {st['result_url']}")
    body = router.results("pool-1::job-7")
    chunks = [len(c) for c in body]
    print(f"  streamed result: {body.content_type}, {sum(chunks)} bytes in {len(chunks)} chunks")
    print(f"  generate on pool-1 -> {router.generate('pool-1', {'model': 'flux-dev', 'prompt': 'a lighthouse'})['task_id']}")
    gallery = router.gallery(limit=10)
    print(f"  gallery fan-out over {gallery['accounts']} accounts: {[i['task_id'] for i in gallery['items']]} newest first; "
          f"failed: {[(f['workspace'], f['reason']) for f in gallery['failures']]}")

    async def both():
        return await asyncio.gather(router.status_async("pool-1::job-7"), router.gallery_async(limit=1))

    st2, g2 = asyncio.run(both())
    print(f"  asyncio: status {st2['status']} and gallery {[i['task_id'] for i in g2['items']]} concurrently")
    server.shutdown()


def show_dispatch(config: inferwarden.PolicyConfig) -> None:
    section("7. GPU dispatch: probe, VRAM levels, lanes and the degraded queue, pipeline slot, frames")
    report = inferwarden.probe_gpus(config)
    if report["devices"]:
        for d in report["devices"]:
            print(f"  GPU {d['index']}: {d['name']} {d['free_mib']}/{d['total_mib']} MiB free (from {d['free_source']}), level {d['vram_level']}")
    else:
        print(f"  probe: {report['note']} (an ordinary answer; no process spawned)")
    nvml = report.get("nvml") or {}
    if nvml:
        print(f"  NVML: {'driver ' + str(nvml['driver_version']) if nvml['available'] else nvml['note']}")
    print("  VRAM levels:", {mib: inferwarden.vram_level(mib) for mib in (16384, 9000, 5000, 2000)}, "| T4 budget", inferwarden.budget_gb("T4"), "GB")
    clock = inferwarden.ManualClock(1_800_000_000_000)
    lanes = inferwarden.LaneRouter(inferwarden.PolicyConfig.from_text("[queue]\ndegraded_max_depth = 2\n"), clock=clock)
    lanes.set_lane("wan-2.2", ready=True)
    lanes.set_lane("ltx-video", ready=True, quota_denied=True)
    held = [lanes.route("ltx-video") for _ in range(2)]
    print(f"  wan-2.2 -> {lanes.route('wan-2.2').lane}; ltx-video -> {[(h.lane, h.cause) for h in held]}")
    try:
        lanes.route("ltx-video")
    except InferwardenError as err:
        print(f"  third ltx-video request -> {err.code} (depth {err.metadata['depth']}/{err.metadata['max_depth']}, Retry-After {err.metadata['retry_after_seconds']} s)")
    for h in held:
        h.release()
    slot = inferwarden.PipelineSlot(600, clock=clock)
    cleared: list[str] = []
    slot.acquire("wan-2.2", cleared.append)
    slot.mark_loaded("wan-2.2")
    warm = slot.acquire("wan-2.2", cleared.append)
    slot.acquire("ltx-video", cleared.append)
    print(f"  pipeline slot: same model warm={warm}; switching cleared {cleared} first; now {slot.state}")
    slot.mark_loaded("ltx-video")
    event = slot.record_generation("T4", allocated_mib=15_200, reserved_mib=16_900, cleanup_done=True)
    print(f"  memory event after a generation on a T4: reserved {event['reserved_mib']} MiB of {event['budget_mib']} -> budget_exceeded={event['budget_exceeded']}")
    sm = slot.metrics()
    print(f"  slot metrics: cold loads {sm['cold_loads']}, warm hits {sm['warm_hits']}, switches {sm['switches']}, generations {sm['generations']}, over budget {sm['budget_exceeded']}")
    lm = lanes.metrics()
    print(f"  lane metrics: cold starts {lm['cold_starts']}, lanes { {k: (v['available'], v['unavailable_cause']) for k, v in lm['lanes'].items()} }, queue {lm['queue']}")
    oom = inferwarden.classify_worker_error("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 3.1 GiB")
    print(f"  worker error 'CUDA out of memory ...' -> {oom.code} (HTTP {oom.http_status})")
    try:
        import numpy as np

        from inferwarden.frames import frames_gpu_status, frames_to_u8

        clip = np.linspace(-1.1, 1.1, 3 * 2 * 2 * 4, dtype=np.float32).reshape(1, 3, 2, 2, 4)
        frames = frames_to_u8(clip)
        print(f"  frames: {clip.shape} float32 in [-1.1, 1.1] -> {frames.shape} uint8, first pixel {frames[0, 0, 0, 0].tolist()}")
        gpu = frames_gpu_status()
        auto = frames_to_u8(clip, device="auto")
        where = f"the CUDA kernel on {gpu['device']} ({gpu['arch']})" if gpu["available"] else f"the CPU (GPU path: {gpu['reason']})"
        print(f"  frames with device='auto' ran on {where}; same bytes as the CPU path: {bool((auto == frames).all())}")

        class HostTensor:
            """Stands in for a torch CPU tensor: it offers only ``__dlpack__``."""

            def __dlpack__(self, stream=None):
                return clip.__dlpack__()

        via_dlpack = frames_to_u8(HostTensor())
        print(f"  frames from a DLPack tensor (read in place, no copy): same bytes: {bool((via_dlpack == frames).all())}")
        if gpu["available"]:
            kept = frames_to_u8(clip, device="cuda", out="device")
            back = np.frombuffer(kept.copy_to_host(), np.uint8).reshape(kept.shape)
            print(f"  frames kept on the GPU: {kept!r} (DLPack, __cuda_array_interface__); same bytes: {bool((back == frames).all())}")
        else:
            try:
                frames_to_u8(clip, device="auto", out="device")
            except InferwardenError as err:
                print(f"  frames kept on the GPU (out='device'): {err.code} here ({err.detail})")
    except ImportError:
        print("  frames: numpy is not installed in this environment")


def show_catalogue() -> None:
    section("8. Model catalogue: request validation from one source of truth")
    catalogue = inferwarden.Catalogue.from_json((PLATFORM / "src" / "inference_settings.json").read_text(encoding="utf-8"))
    report = catalogue.check()
    print(f"  examples/platform/src/inference_settings.json: {len(report['errors'])} errors, {len(report['warnings'])} warnings")
    ok = inferwarden.validate_request(catalogue, {"model": "wan-remix", "mode": "i2v", "parameters": {"prompt": "a cat", "image": "upload://1"}})
    print(f"  wan-remix (alias of {ok['model_id']}) i2v -> payload {ok['payload']}")
    try:
        inferwarden.validate_request(catalogue, {"model": "wan-2.2", "parameters": {"num_frames": 80, "steps": 50, "bogus": 1}})
    except InferwardenError as err:
        print(f"  a bad request -> {err.code} with every violation:")
        for v in err.metadata["violations"]:
            print(f"    {v['path']:<24} {v['rule']:<20} expected {v['expected']}")


def show_parity() -> None:
    section("9. Catalogue parity: hand-written mirrors checked against inference_settings.json")
    from inferwarden import parity

    clean = parity.check(PLATFORM)
    print(f"  sample platform: {len(clean['sources'])} sources, {clean['facts_checked']} facts checked, "
          f"{len(clean['findings'])} findings (exit {clean['exit_code']})")
    with tempfile.TemporaryDirectory(prefix="inferwarden-parity-") as tmp:
        root = Path(tmp) / "platform"
        shutil.copytree(PLATFORM, root)
        config_py = root / "backend" / "config.py"
        # The classic drift: the backend restates a locked step count the catalogue changed.
        config_py.write_text(config_py.read_text().replace('{"steps": {"value": 8,', '{"steps": {"value": 50,'))
        drift = parity.check(root, "text")
        print("  after planting a drift in backend/config.py:")
        for line in drift["rendered"].splitlines()[:9]:
            print(f"    {line}")
        settings = root / "src" / "inference_settings.json"
        settings.write_text(settings.read_text().replace('"max": 50', '"max": 40', 1))
        stale = parity.generate(root, check=True)
        print(f"  catalogue edited: generated mirrors {[(f['path'], f['status']) for f in stale]}; "
              f"after `parity generate`: {[f['status'] for f in parity.generate(root)]}")
        # A request class that lacks a parameter its model has: the field is refused or dropped.
        schemas = root / "backend" / "schemas.py"
        schemas.write_text(schemas.read_text().replace("    cfg: float = 1.0\n", ""))
        missing = [f for f in parity.check(root)["findings"] if f["rule"] == "parameter_missing"]
        for f in missing:
            print(f"  {f['source']['file']}:{f['source']['line']} parameter_missing: {f['message']}")
        # A mistake in parity.toml is an input error at its line, never a silent green.
        toml = root / "parity.toml"
        toml.write_text(toml.read_text().replace("FluxRequest =", "FluxRequests ="))
        mistake = parity.check(root)
        for f in mistake["findings"]:
            if f["rule"] == "config_error":
                print(f"  {f['source']['file']}:{f['source']['line']} config_error: {f['message']} "
                      f"(exit {mistake['exit_code']})")
        print(f"  exit {drift['exit_code']} (0 clean, 1 drift, 2 input error); "
              f"same check: `inferwarden parity check ROOT --format text|json|sarif|junit|github`")


def show_release_gate() -> None:
    section("10. Release gate: the live smoke runner against the reference FastAPI backend")
    import secrets
    import sys

    import uvicorn

    sys.path.insert(0, str(Path(__file__).resolve().parent / "fastapi_app"))
    from app import create_app  # examples/fastapi_app: the library's reference backend

    keys = {name: secrets.token_urlsafe(24) for name in (
        "INFERWARDEN_AUTH__API_KEYS", "INFERWARDEN_AUTH__ADMIN_KEY",
        "INFERWARDEN_AUTH__MEDIA_SIGNING_KEY", "INFERWARDEN_WORKER_KEY")}
    os.environ.update(keys)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="inferwarden-demo-app-") as tmp:
        server = uvicorn.Server(uvicorn.Config(create_app(Path(tmp), worker_step_s=0.05), host="127.0.0.1",
                                               port=port, log_level="error", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        from inferwarden import smoke

        report = smoke.run(
            f"http://127.0.0.1:{port}",
            api_key_env="INFERWARDEN_AUTH__API_KEYS",
            admin_key_env="INFERWARDEN_AUTH__ADMIN_KEY",
            allowed_origin="https://studio.example.com",
            denied_origin="https://evil.example",
            rate_limit=10,
            generation={"model": "flux-dev", "parameters": {"prompt": "a lighthouse at dusk", "steps": 4}},
            poll_timeout=30,
            release=True,
            progress=lambda line: print(f"  ... {line}"),
        )
        server.should_exit = True
        thread.join(timeout=10)
    for c in report.checks:
        print(f"  {c['status'].upper():<7} {c['id']:<38} {c['detail'][:70]}")
    print(f"  release gate: {report.passed} passed, {report.failed} failed, {report.skipped} skipped -> exit {report.exit_code}")
    print("  (CLI: inferwarden smoke --base-url URL --api-key-env NAME --admin-key-env NAME --release --format junit)")


def show_audit(config: inferwarden.PolicyConfig, workdir: Path) -> None:
    section("11. Audit log: durable, hash-chained, signed checkpoints, tampering caught")
    import sqlite3

    # The signing key lives in an environment variable (audit.signing_key_env), never in the
    # log; a demo key pair is made here, as `inferwarden audit keygen --name demo` would.
    signer, verifier = inferwarden.AuditLog.keygen("demo-audit")
    os.environ["INFERWARDEN_AUDIT_SIGNING_KEY"] = signer
    db = workdir / "audit.db"
    log = inferwarden.AuditLog(f"sqlite:{db}", config=config)
    gate = inferwarden.Gate(config, audit=log)
    life = inferwarden.Lifecycle(config, f"sqlite:{workdir / 'audit-tasks.db'}", audit=log)
    gate.decide("POST", "/admin/session", [("x-admin-key", "not-the-admin-key-000000")], peer="203.0.113.7")
    gate.decide("GET", "/status/t1", [("Origin", "https://evil.example")])
    life.create("aud-1", "image")
    life.sweep()
    for e in log.query(limit=10):
        print(f"  #{e['seq']} {e['source']:<9} {e['action']:<20} {e['outcome']:<8} hash {e['hash'][:16]}... prev {e['prev_hash'][:16]}...")
    note = log.checkpoint()
    print(f"  signed checkpoint (C2SP): {note.splitlines()[1]} records, root {note.splitlines()[2][:20]}..., "
          f"signature line '{note.splitlines()[-1][:24]}...'")
    proof = log.prove(1)
    print(f"  inclusion proof of #1: {len(proof['path'])} hashes; verify: intact={log.verify(checkpoints=[note], public_key=verifier)['intact']}")
    # Someone with the database file turns the refused admin login into a success.
    with sqlite3.connect(db) as raw:
        raw.executescript("DROP TRIGGER iw_audit_log_no_update; UPDATE iw_audit_log SET outcome = 'success' WHERE seq = 0;")
    report = log.verify(checkpoints=[note], public_key=verifier)
    t = report["tamper"]
    print(f"  after editing record #0 behind the library's back: intact={report['intact']}, "
          f"first bad record #{t['seq']} ({t['kind']}): {t['detail']}")
    print(f"  retention: at least {config.to_dict()['audit']['retention_days']} days, pruned by the sweeper at a tile "
          "boundary with a signed checkpoint at the cut")
    print("  (CLI: inferwarden audit verify --db sqlite:audit.db --checkpoint FILE --public-key FILE)")
    del os.environ["INFERWARDEN_AUDIT_SIGNING_KEY"]


def show_metrics() -> None:
    section("12. Metrics: every decision above, counted (OpenMetrics text for Prometheus at /metrics)")
    text = inferwarden.metrics.render()
    interesting = (
        "inferwarden_gate_decisions_total{",
        "inferwarden_rate_limit_checks_total{",
        "inferwarden_sessions_issued_total{",
        "inferwarden_sweeps_total{",
        "inferwarden_tasks_swept_total{",
        "inferwarden_proxy_requests_total{",
        "inferwarden_lane_routes_total{",
        "inferwarden_audit_verifications_total{",
    )
    for prefix in interesting:
        lines = [line for line in text.splitlines() if line.startswith(prefix) and not line.endswith(" 0")]
        for line in lines[:3]:
            print("  " + line)
        if len(lines) > 3:
            print(f"    (+{len(lines) - 3} more {prefix[:-7]} series)")
    families = inferwarden.metrics.families()
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    print(f"  ... {len(families)} families, {series} series; labels only from closed sets (no ids, paths or addresses)")
    print("  (serve it: Response(inferwarden.metrics.render(), media_type=inferwarden.metrics.CONTENT_TYPE);"
          " Grafana dashboard: examples/grafana/inferwarden.json)")


def main() -> None:
    print(f"inferwarden {inferwarden.__version__}")
    config = show_config()
    show_task_refs()
    show_errors()
    with tempfile.TemporaryDirectory(prefix="inferwarden-demo-") as tmp:
        show_gate(config, Path(tmp))
        show_lifecycle(config, Path(tmp))
    show_routing(config)
    show_dispatch(config)
    show_catalogue()
    show_parity()
    show_release_gate()
    with tempfile.TemporaryDirectory(prefix="inferwarden-demo-audit-") as tmp:
        show_audit(config, Path(tmp))
    show_metrics()
    print("\ndemo finished")


if __name__ == "__main__":
    main()
