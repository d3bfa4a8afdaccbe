"""The core's log records in Python's logging: refusals reach "inferwarden.gate" with their
code and correlation id, sweeps reach "inferwarden.lifecycle", levels are honoured after
reset_log_cache(), and no record ever carries a key, token or cookie (canary)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

import inferwarden

API = "log-canary-api-key-5f1e2d3c4b5a6978"
ADMIN = "log-canary-admin-key-0a1b2c3d4e5f6071"
WRONG = "log-canary-wrong-key-99887766"
POLICY = f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n[sessions]\nsecure = false\n'


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Collect]:
    handler = Collect()
    logger = logging.getLogger("inferwarden")
    old = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    inferwarden.reset_log_cache()
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
        inferwarden.reset_log_cache()


def test_refusals_and_allowed_decisions_are_logged_with_code_and_correlation_id(captured: Collect) -> None:
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(POLICY))
    gate.decide("GET", "/gallery", [("x-api-key", WRONG), ("x-request-id", "req-4711")])
    gate.decide("GET", "/gallery", [("x-api-key", API)])
    gate_records = [r for r in captured.records if r.name == "inferwarden.gate"]
    refused = [r.getMessage() for r in gate_records if r.levelno == logging.INFO]
    assert any('code="invalid_api_key"' in m and 'correlation_id="req-4711"' in m for m in refused), refused
    assert any(r.levelno == logging.DEBUG and r.getMessage().startswith("request allowed") for r in gate_records)


def test_levels_are_honoured_after_a_reset(captured: Collect) -> None:
    logging.getLogger("inferwarden").setLevel(logging.WARNING)
    inferwarden.reset_log_cache()
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(POLICY))
    gate.decide("GET", "/gallery", [("x-api-key", WRONG)])
    assert not [r for r in captured.records if r.name == "inferwarden.gate"]


def test_a_sweep_is_logged(captured: Collect, tmp_path) -> None:
    clock = inferwarden.ManualClock(1_800_000_000_000)
    config = inferwarden.PolicyConfig.from_text("")
    life = inferwarden.Lifecycle(config, f"sqlite:{tmp_path / 'tasks.db'}", clock=clock)
    life.create("task-log-1", "image")
    clock.advance_ms(24 * 3_600_000)
    life.sweep()
    messages = [r.getMessage() for r in captured.records if r.name == "inferwarden.lifecycle"]
    assert any(m.startswith("sweep finished") and "failed=1" in m for m in messages), messages


def test_no_record_carries_a_secret(captured: Collect) -> None:
    """Canary: every credential channel, a session issued and used, refusals of each kind."""
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(POLICY))
    boot = gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)])
    admin = gate.issue_session(boot, "admin")
    token = admin.set_cookie.split("=", 1)[1].split(";", 1)[0]
    gen = gate.issue_session(gate.decide("POST", "/auth/session", [("x-api-key", API)]), "generation")
    gen_token = gen.set_cookie.split("=", 1)[1].split(";", 1)[0]
    gate.decide("GET", "/admin/accounts", [("cookie", f"gg_admin_session={token}")])
    gate.decide("GET", "/admin/accounts", [("x-admin-key", ADMIN)], [("admin_key", ADMIN)])
    gate.decide("GET", "/gallery", [("cookie", f"gg_session={gen_token}")])
    gate.decide("GET", "/gallery", [], [("api_key", WRONG)])
    gate.decide("GET", "/gallery", [("x-api-key", WRONG), ("origin", "https://evil.example")])
    gate.revoke_session(gen_token)
    gate.decide("GET", "/gallery", [("cookie", f"gg_session={gen_token}")])
    assert captured.records, "nothing was logged"
    for record in captured.records:
        text = record.getMessage()
        for secret in (API, ADMIN, WRONG, token, gen_token):
            assert secret not in text, (record.name, text)
