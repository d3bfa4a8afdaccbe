"""The parity checker through the Python binding: the clean sample platform, a planted drift
with both locations, the pytest helpers, and the rendered formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from inferwarden import parity
from inferwarden.errors import ConfigInvalidError

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"


def drifted(tmp_path: Path) -> Path:
    root = tmp_path / "platform"
    shutil.copytree(SAMPLE, root)
    schemas = root / "backend" / "schemas.py"
    schemas.write_text(schemas.read_text().replace("ge=512, le=1280)\n    height", "ge=256, le=2048)\n    height"))
    return root


def test_clean_sample_has_no_findings():
    report = parity.check(SAMPLE)
    assert report["schema_version"] == 1
    assert report["findings"] == [] and report["exit_code"] == 0
    assert report["facts_checked"] > 80
    assert parity.pytest_params(SAMPLE)[0].id == "clean"


def test_drift_found_with_both_locations(tmp_path):
    report = parity.check(drifted(tmp_path))
    found = sorted((f["rule"], f["catalogue_path"], f["expected"], f["found"]) for f in report["findings"])
    assert found == [
        ("range_differs", "image_models.flux-dev.parameters.width.max", 1280, 2048),
        ("range_differs", "image_models.flux-dev.parameters.width.min", 512, 256),
    ]
    first = report["findings"][0]
    assert first["source"]["file"] == "backend/schemas.py" and first["source"]["line"] == 14
    assert first["catalogue_at"]["file"] == "src/inference_settings.json"
    assert report["exit_code"] == 1
    params = parity.pytest_params(tmp_path / "platform")
    assert [p.id for p in params] == ["range_differs@backend/schemas.py:14"] * 2
    with pytest.raises(AssertionError, match="backend/schemas.py:14"):
        parity.assert_no_drift(params[0].values[0])


def test_formats(tmp_path):
    root = drifted(tmp_path)
    sarif = json.loads(parity.check(root, "sarif")["rendered"])
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == 2
    assert parity.check(root, "junit")["rendered"].count("<failure") == 2
    assert parity.check(root, "github")["rendered"].startswith("::error file=backend/schemas.py,line=14")
    assert "error[range_differs]" in parity.check(root, "text")["rendered"]
    with pytest.raises(ConfigInvalidError):
        parity.check(root, "yaml")


def test_bad_parity_toml_is_a_config_error(tmp_path):
    root = drifted(tmp_path)
    (root / "parity.toml").write_text("[[python]]\nfile = 'x.py'\n")
    with pytest.raises(ConfigInvalidError):
        parity.check(root)
