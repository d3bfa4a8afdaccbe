"""The task lifecycle through the Python binding on SQLite: claim, typed TTLs, late done
refused and audited, exactly-once sweeps from several threads."""

from __future__ import annotations

import threading

import pytest

import inferwarden
from inferwarden.errors import InvalidTransitionError, RequestValidationError

T0 = 1_800_000_000_000
MIN = 60_000


@pytest.fixture()
def world(tmp_path):
    clock = inferwarden.ManualClock(T0)
    db = f"sqlite:{tmp_path / 'tasks.db'}"
    life = inferwarden.Lifecycle(inferwarden.PolicyConfig(), db, clock=clock)
    return life, clock, db


def test_claim_complete_and_transitions(world):
    life, clock, _ = world
    assert life.create("t1", "image")["status"] == "pending"
    claim = life.claim("t1", "w1")
    assert claim["ttl_ms"] == 10 * MIN and claim["stale_deadline"] == T0 + 10 * MIN
    clock.advance_ms(1500)
    assert life.complete("t1", claim["lease_id"], "/out/t1.png", "w1") == {"outcome": "applied", "runtime_ms": 1500}
    assert life.complete("t1", claim["lease_id"], "/out/t1.png", "w1") == {"outcome": "repeated"}
    steps = [(t["from_status"], t["to_status"], t["reason"]) for t in life.transitions("t1")]
    assert steps == [(None, "pending", "created"), ("pending", "processing", "claimed"), ("processing", "done", "completed")]


def test_unknown_type_refused_at_claim(world):
    life, _, _ = world
    life.create("a1", "audio")
    with pytest.raises(RequestValidationError):
        life.claim("a1", "w")


def test_late_done_refused_and_audited(world):
    life, clock, _ = world
    life.create("v1", "video")
    claim = life.claim("v1", "w")
    clock.set_ms(T0 + 30 * MIN + 1)
    report = life.sweep()
    assert [(t["task_id"], t["reason"], t["ttl_ms"]) for t in report["failed"]] == [("v1", "stale_timeout", 30 * MIN)]
    with pytest.raises(InvalidTransitionError) as info:
        life.complete("v1", claim["lease_id"], "/late.mp4", "w")
    assert info.value.metadata["outcome"] == "already_failed"
    assert life.get("v1")["status"] == "failed"
    late = [e for e in life.audit_events() if e["action"] == "late_completion_rejected"]
    assert late and late[0]["details"]["result_path"] == "/late.mp4"


def test_threads_sweep_exactly_once(world):
    life, clock, db = world
    for i in range(30):
        life.create(f"t{i}", "image")
        life.claim(f"t{i}", "w")
    clock.set_ms(T0 + 11 * MIN)
    sweepers = [inferwarden.Lifecycle(inferwarden.PolicyConfig(), db, clock=clock) for _ in range(8)]
    counts = []
    threads = [threading.Thread(target=lambda s=s: counts.append(len(s.sweep()["failed"]))) for s in sweepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 30


def test_unsupported_store_is_typed():
    with pytest.raises(inferwarden.InferwardenError) as info:
        inferwarden.Lifecycle(inferwarden.PolicyConfig(), "mysql://x")
    assert info.value.code == "config_invalid"


def test_heartbeat_timeout_fails_a_silent_worker_early(tmp_path):
    clock = inferwarden.ManualClock(T0)
    config = inferwarden.PolicyConfig.from_text("[stale]\nheartbeat_timeout_s = 120\n")
    life = inferwarden.Lifecycle(config, f"sqlite:{tmp_path / 'hb.db'}", clock=clock)
    life.create("silent", "video")
    life.claim("silent", "w")
    life.create("alive", "video")
    alive = life.claim("alive", "w")
    clock.set_ms(T0 + 100_000)
    assert life.heartbeat("alive", alive["lease_id"]) == {"outcome": "applied", "runtime_ms": 0}
    clock.set_ms(T0 + 120_001)
    report = life.sweep()
    assert [(t["task_id"], t["reason"], t["ttl_ms"]) for t in report["failed"]] == [("silent", "heartbeat_timeout", 120_000)]
    assert life.get("alive")["status"] == "processing"
    assert life.get("alive")["heartbeat_at"] == T0 + 100_000
    with pytest.raises(InvalidTransitionError):
        life.heartbeat("silent", "wrong-lease")


def test_heartbeat_timeout_not_shorter_than_ttl_is_a_config_error():
    with pytest.raises(inferwarden.errors.ConfigInvalidError) as info:
        inferwarden.PolicyConfig.from_text("[stale]\nheartbeat_timeout_s = 600\n")
    assert "stale.heartbeat_timeout_s" in str(info.value.metadata)
