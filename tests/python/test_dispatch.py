"""GPU dispatch policy through the Python binding, as a worker drives it around its pipelines."""

from __future__ import annotations

import pytest

import inferwarden
from inferwarden.errors import GpuMemoryExceededError, QueueOverloadedError


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


def test_probe_without_a_gpu_is_an_ordinary_answer():
    report = inferwarden.probe_gpus()
    assert set(report) >= {"driver_present", "cuda_version", "devices", "note"}
    if not report["driver_present"]:
        assert report["devices"] == [] and report["note"]


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
