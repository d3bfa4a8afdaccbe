"""GPU dispatch policy through the Python binding, as a worker drives it around its pipelines."""

from __future__ import annotations

import pytest

import inferwarden
from inferwarden.errors import GpuMemoryExceededError, InvalidTransitionError, QueueOverloadedError


def test_vram_levels_budgets_and_oom():
    assert [inferwarden.vram_level(m) for m in (12288, 12287, 8192, 4096, 4095, None)] == [
        "green", "yellow", "yellow", "orange", "red", "red",
    ]
    assert inferwarden.budget_gb("T4") == 16 and inferwarden.budget_gb("mystery") == 24
    err = inferwarden.classify_worker_error("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1 GiB")
    assert isinstance(err, GpuMemoryExceededError) and err.http_status == 507
    assert inferwarden.classify_worker_error("timeout") is None


def test_pipeline_slot_switch_clears_cache_first():
    clock = inferwarden.ManualClock(0)
    slot = inferwarden.PipelineSlot(600, clock=clock)
    cleared: list[str] = []
    assert slot.acquire("wan", cleared.append) is False
    slot.mark_loaded("wan")
    assert slot.acquire("wan", cleared.append) is True
    assert slot.acquire("ltx", cleared.append) is False
    assert cleared == ["wan"]
    assert slot.state == {"state": "loading", "model": "ltx"}
    slot.mark_loaded("ltx")

    def broken(_model: str) -> None:
        raise RuntimeError("torch.cuda.empty_cache failed")

    with pytest.raises(RuntimeError):
        slot.acquire("wan", broken)
    assert slot.state == {"state": "empty"}


def test_memory_event_after_each_generation_and_slot_metrics():
    clock = inferwarden.ManualClock(7_000)
    slot = inferwarden.PipelineSlot(600, clock=clock)
    with pytest.raises(InvalidTransitionError):
        slot.record_generation("T4", 1, 1)
    slot.acquire("wan")
    slot.mark_loaded("wan")
    ok = slot.record_generation("T4", 9_000, 16_384)
    assert ok == {
        "model": "wan", "gpu_kind": "T4", "cleanup_done": True, "allocated_mib": 9_000,
        "reserved_mib": 16_384, "budget_mib": 16_384, "budget_exceeded": False, "at_ms": 7_000,
    }
    over = slot.record_generation("T4", 16_385, 100, cleanup_done=False)
    assert over["budget_exceeded"] is True and over["cleanup_done"] is False
    # A configured budget replaces the default.
    cfg = inferwarden.PolicyConfig.from_text('[gpu.budget_gb]\nT4 = 15\n')
    assert slot.record_generation("T4", 15_361, 0, config=cfg)["budget_exceeded"] is True
    assert slot.acquire("wan") is True
    m = slot.metrics()
    assert (m["cold_loads"], m["warm_hits"], m["generations"], m["budget_exceeded"], m["cleanups_missed"]) == (1, 1, 3, 2, 1)
    assert m["last_memory"]["budget_mib"] == 15 * 1024


def test_lane_router_and_degraded_queue():
    clock = inferwarden.ManualClock(1_000_000)
    cfg = inferwarden.PolicyConfig.from_text("[queue]\ndegraded_max_depth = 1\n")
    router = inferwarden.LaneRouter(cfg, clock=clock)
    router.set_lane("wan", ready=True)
    assert router.route("wan").lane == "dedicated"
    router.set_lane("wan", ready=True, quota_denied=True)
    handle = router.route("wan")
    assert (handle.lane, handle.cause) == ("degraded", "quota")
    with pytest.raises(QueueOverloadedError) as info:
        router.route("wan")
    assert info.value.metadata["max_depth"] == 1
    handle.release()
    assert router.route("wan").lane == "degraded"
    m = router.metrics()
    assert m["overloaded"] == 1 and m["fallbacks"]["quota"] == 3
    assert m["cold_starts"] == 1
    assert m["lanes"]["wan"] == {"available": False, "unavailable_cause": "quota", "cold_starts": 1}
    assert {"started", "timeouts", "mean_wait_ms", "longest_wait_ms"} <= set(m["queue"])


def test_probe_without_a_gpu_is_an_ordinary_answer():
    report = inferwarden.probe_gpus()
    assert set(report) >= {"driver_present", "cuda_version", "devices", "note"}
    if not report["driver_present"]:
        assert report["devices"] == [] and report["note"]
    nvml = report["nvml"]  # the optional NVML view: an ordinary answer without NVML too
    assert set(nvml) == {"available", "driver_version", "devices", "note"}
    if not nvml["available"]:
        assert nvml["devices"] == [] and nvml["note"]


def test_catalogue_models_are_placed_by_vram_min_gb():
    from pathlib import Path

    from inferwarden.errors import GpuMemoryExceededError, RequestValidationError

    text = (Path(__file__).resolve().parents[2] / "examples/platform/src/inference_settings.json").read_text()
    catalogue = inferwarden.Catalogue.from_json(text)
    devices = [{"index": 0, "kind": "T4", "free_mib": 12_000}, {"index": 1, "kind": "L4", "free_mib": 20_000}]
    assert catalogue.vram_min_gb("flux-dev") == 16.0
    assert inferwarden.place_model(catalogue, "sdxl-turbo", devices) == 0
    assert inferwarden.place_model(catalogue, "flux-dev", devices) == 1
    with pytest.raises(GpuMemoryExceededError) as info:
        inferwarden.place_model(catalogue, "wan-remix", devices[:1])
    assert info.value.metadata["model"] == "wan-remix"
    with pytest.raises(RequestValidationError):
        inferwarden.place_model(catalogue, "nope", devices)
    with pytest.raises(RequestValidationError):
        inferwarden.place_model(catalogue, "flux-dev", [{"index": "zero"}])


def _redis_db(index: int) -> str:
    import os
    import re

    url = os.environ.get("INFERWARDEN_TEST_REDIS_URL")
    if not url:
        assert not os.environ.get("INFERWARDEN_REQUIRE_SERVICES"), "INFERWARDEN_TEST_REDIS_URL missing but services are required"
        pytest.skip("INFERWARDEN_TEST_REDIS_URL not set (run scripts/test.sh)")
    return re.sub(r"/\d+$", "", url.rstrip("/")) + f"/{index}"


def test_two_replicas_share_one_degraded_queue_in_redis():
    cfg = inferwarden.PolicyConfig.from_text("[queue]\ndegraded_max_depth = 2\n")
    url = _redis_db(8)
    replica_a = inferwarden.LaneRouter(cfg, queue=url)
    replica_b = inferwarden.LaneRouter(cfg, queue=url)
    for r in (replica_a, replica_b):
        r.set_lane("ltx", ready=False)
    held = [replica_a.route("ltx"), replica_b.route("ltx")]
    assert [h.lane for h in held] == ["degraded", "degraded"]
    with pytest.raises(QueueOverloadedError) as info:
        replica_a.route("ltx")  # the depth is shared: B's slot counts for A
    assert info.value.metadata["depth"] == 2
    held[1].release()
    again = replica_a.route("ltx")
    assert again.lane == "degraded"
    again.release()
    held[0].release()


def test_queue_backend_urls_are_checked():
    from inferwarden.errors import ConfigInvalidError

    cfg = inferwarden.PolicyConfig()
    with pytest.raises(ConfigInvalidError):
        inferwarden.LaneRouter(cfg, queue="postgres://nope")
    with pytest.raises(ConfigInvalidError):
        inferwarden.PolicyConfig.from_text('[queue]\nbackend = "mysql://x"\n')
    assert inferwarden.LaneRouter(cfg, queue="memory").route  # the default, explicitly
