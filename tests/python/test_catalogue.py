"""Catalogue request validation through the Python binding on the sample platform."""

from __future__ import annotations

from pathlib import Path

import pytest

import inferwarden
from inferwarden.errors import RequestValidationError

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform" / "src" / "inference_settings.json"


@pytest.fixture(scope="module")
def catalogue():
    return inferwarden.Catalogue.from_json(SAMPLE.read_text(encoding="utf-8"))


def test_sample_is_clean(catalogue):
    assert catalogue.check() == {"errors": [], "warnings": []}


def test_alias_defaults_and_locked_values(catalogue):
    ok = inferwarden.validate_request(catalogue, {"model": "wan-remix", "parameters": {"prompt": "a cat"}})
    assert ok["model_id"] == "phr00t" and ok["mode"] == "t2v"
    assert ok["payload"]["steps"] == 8 and ok["payload"]["num_frames"] == 81


def test_all_violations_at_once(catalogue):
    with pytest.raises(RequestValidationError) as info:
        inferwarden.validate_request(catalogue, {"model": "wan-2.2", "parameters": {"num_frames": 80, "steps": 50, "x": 1}})
    rules = {(v["path"], v["rule"]) for v in info.value.metadata["violations"]}
    assert {("parameters.num_frames", "invalid_value"), ("parameters.steps", "locked"), ("parameters.x", "unknown_parameter"), ("parameters.prompt", "required")} <= rules
