"""The validate_request golden vectors through the Python binding (the same file Rust and Node run)."""

from __future__ import annotations

from pathlib import Path

import pytest

import inferwarden

from conftest import load_vectors

DOC = load_vectors("catalogue.json")
ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = inferwarden.Catalogue.from_json((ROOT / DOC["catalogue"]).read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_catalogue_vector(case):
    shape = case.get("shape", "nested")
    if "ok" in case:
        got = inferwarden.validate_request(CATALOGUE, case["request"], shape)
        assert (got["model_id"], got["mode"], got["payload"]) == (case["ok"]["model_id"], case["ok"]["mode"], case["ok"]["payload"])
        # Numbers come back in their parameter's type (8.0 -> 8 for an int, 4 -> 4.0 for a float).
        assert {k: type(v) for k, v in got["payload"].items()} == {k: type(v) for k, v in case["ok"]["payload"].items()}
    else:
        with pytest.raises(inferwarden.errors.RequestValidationError) as info:
            inferwarden.validate_request(CATALOGUE, case["request"], shape)
        got = {(v["path"], v["rule"]) for v in info.value.metadata["violations"]}
        assert got == {tuple(p) for p in case["violations"]}
