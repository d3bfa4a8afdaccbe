"""The parity checker through the Python binding: the clean sample platform, a planted drift
with both locations, the pytest helpers, and the rendered formats."""

from __future__ import annotations

import copy
import json
import os
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


def sarif_validator():
    """A validator for the official OASIS SARIF 2.1.0 schema (``INFERWARDEN_SARIF_SCHEMA``:
    scripts/test.sh downloads it with the serde-sarif crate and requires it)."""
    path = os.environ.get("INFERWARDEN_SARIF_SCHEMA")
    if not path:
        if os.environ.get("INFERWARDEN_REQUIRE_SARIF_SCHEMA") == "1":
            pytest.fail("INFERWARDEN_REQUIRE_SARIF_SCHEMA=1 but INFERWARDEN_SARIF_SCHEMA is not set")
        pytest.skip("the SARIF schema comes with scripts/test.sh (scripts/sarif-schema.sh)")
    import jsonschema

    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    assert schema["$id"].endswith("/sarif-schema-2.1.0.json"), schema["$id"]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_validates_against_the_official_oasis_schema(tmp_path):
    validator = sarif_validator()
    broken = tmp_path / "broken"
    shutil.copytree(SAMPLE, broken)
    (broken / "backend" / "config.py").write_text("MODELS_SCHEMA = {\n  'x': (\n", encoding="utf-8")
    documents = {}
    for name, root in [("drifted", drifted(tmp_path)), ("clean", SAMPLE), ("syntax_error", broken)]:
        doc = json.loads(parity.check(root, "sarif")["rendered"])
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
        assert errors == [], (name, errors[:5])
        documents[name] = doc
    assert len(documents["drifted"]["runs"][0]["results"]) == 2
    assert documents["clean"]["runs"][0]["results"] == []
    assert documents["syntax_error"]["runs"][0]["results"], "a syntax error is a result with a location"
    # Negative controls: the same validator rejects what the schema forbids.
    good = documents["drifted"]
    for mutate in (
        lambda d: d["runs"][0]["results"][0].__setitem__("level", "fatal"),
        lambda d: d.__setitem__("unexpected", 1),
        lambda d: d["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"].__setitem__("startLine", 0),
        lambda d: d["runs"][0]["tool"]["driver"].pop("name"),
        lambda d: d.__setitem__("version", "2.0.0"),
    ):
        bad = copy.deepcopy(good)
        mutate(bad)
        assert not validator.is_valid(bad)


def test_bad_parity_toml_is_a_config_error(tmp_path):
    root = drifted(tmp_path)
    (root / "parity.toml").write_text("[[python]]\nfile = 'x.py'\n")
    with pytest.raises(ConfigInvalidError):
        parity.check(root)


def test_generated_pydantic_models_carry_the_catalogue_constraints():
    import importlib.util

    from pydantic import ValidationError

    spec = importlib.util.spec_from_file_location("generated_catalogue", SAMPLE / "backend" / "generated_catalogue.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.MODEL_ALIASES == {"wan-remix": "phr00t"}
    ok = mod.FluxDevRequest.model_validate({"model": "flux-dev", "parameters": {"prompt": "a cat", "width": 768}})
    assert ok.parameters.steps == 28 and ok.parameters.width == 768 and ok.mode == "t2i"
    assert mod.Phr00tRequest.model_validate({"model": "wan-remix", "mode": "i2v", "parameters": {"prompt": "x"}}).model == "wan-remix"
    for bad in (
        {"model": "flux-dev", "parameters": {"prompt": "x", "steps": 51}},
        {"model": "flux-dev", "parameters": {"prompt": "x", "width": 700}},
        {"model": "flux-dev", "parameters": {"prompt": "x", "unknown": 1}},
        {"model": "flux-dev", "parameters": {}},
    ):
        with pytest.raises(ValidationError):
            mod.FluxDevRequest.model_validate(bad)
    with pytest.raises(ValidationError):
        mod.SdxlTurboRequest.model_validate({"model": "sdxl-turbo", "parameters": {"prompt": "x", "steps": 8}})


def test_generate_check_and_write(tmp_path):
    root = drifted(tmp_path)
    assert {f["status"] for f in parity.generate(root, check=True)} == {"up_to_date"}
    settings = root / "src" / "inference_settings.json"
    settings.write_text(settings.read_text().replace('"max": 50', '"max": 40', 1))
    assert [f["status"] for f in parity.generate(root, check=True)] == ["stale", "stale"]
    assert [f["status"] for f in parity.generate(root)] == ["written", "written"]
    assert "le=40" in (root / "backend" / "generated_catalogue.py").read_text()


def test_junit_output_parses_back(tmp_path):
    import xml.etree.ElementTree as ET

    root = drifted(tmp_path)
    suite = ET.fromstring(parity.check(root, "junit")["rendered"]).find("testsuite")
    assert suite.get("name") == "inferwarden parity"
    assert (suite.get("tests"), suite.get("failures")) == ("2", "2")
    cases = suite.findall("testcase")
    assert [c.get("classname") for c in cases] == ["backend/schemas.py"] * 2
    failures = [c.find("failure") for c in cases]
    assert all(f is not None and f.get("type") == "range_differs" for f in failures)
    assert "expected 512, found 256" in failures[1].text or "expected 512, found 256" in failures[0].text
    clean = ET.fromstring(parity.check(SAMPLE, "junit")["rendered"]).find("testsuite")
    assert (clean.get("tests"), clean.get("failures")) == ("1", "0")


ADOPTER = Path(__file__).resolve().parents[1] / "fixtures" / "adopter"


def adopter_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    root = tmp_path / "adopter"
    shutil.copytree(ADOPTER, root)
    path = root / file
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))
    return root


def test_adopter_patterns_are_silent_when_in_agreement():
    report = parity.check(ADOPTER)
    assert report["exit_code"] == 0, report["rendered"]
    assert report["findings"] == []


def test_a_shared_request_class_missing_a_parameter_is_parameter_missing(tmp_path):
    root = adopter_copy(
        tmp_path, "backend/requests.py",
        "    motion_score: Optional[float] = Field(default=2.5, ge=0.0, le=5.0)\n", "",
    )
    report = parity.check(root)
    assert report["exit_code"] == 1
    [finding] = report["findings"]
    assert finding["rule"] == "parameter_missing"
    assert finding["source"]["file"] == "backend/requests.py"
    assert finding["catalogue_path"] == "video_models.Drift_Motion_3.parameters.motion_score"


def test_a_config_mistake_is_exit_2_at_its_parity_toml_line(tmp_path):
    root = adopter_copy(tmp_path, "parity.toml", "CreateJob = [", "CreateJobs = [")
    report = parity.check(root)
    assert report["exit_code"] == 2
    [finding] = [f for f in report["findings"] if f["rule"] == "config_error"]
    line = next(i for i, l in enumerate((root / "parity.toml").read_text().splitlines(), 1) if "CreateJobs" in l)
    assert (finding["source"]["file"], finding["source"]["line"]) == ("parity.toml", line)


def test_no_parity_toml_is_config_invalid(tmp_path):
    root = adopter_copy(tmp_path, "parity.toml", "catalogue =", "catalogue =")
    (root / "parity.toml").unlink()
    with pytest.raises(ConfigInvalidError) as err:
        parity.check(root)
    assert err.value.code == "config_invalid"


def generated_trees(tmp_path: Path) -> list[Path]:
    """The sample platform and the adopter fixture, each generating both request shapes."""
    roots = []
    for name, source in [("sample", SAMPLE), ("adopter", ADOPTER)]:
        for shape in ["nested", "flat"]:
            root = tmp_path / f"{name}_{shape}"
            shutil.copytree(source, root)
            toml = root / "parity.toml"
            text = toml.read_text()
            if "[generate]" not in text:
                text += '\n[generate]\ntypescript = "src/generated/catalogue.ts"\npython = "backend/generated_catalogue.py"\n'
            toml.write_text(text + f'request_shape = "{shape}"\n')
            assert {f["status"] for f in parity.generate(root)} <= {"written", "up_to_date"}
            roots.append(root)
    return roots


def test_generated_python_mirrors_pass_mypy_strict(tmp_path):
    from mypy import api

    files = []
    for root in generated_trees(tmp_path):
        target = tmp_path / "mypy" / f"{root.name}.py"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(root / "backend" / "generated_catalogue.py", target)
        files.append(str(target))
    stdout, stderr, status = api.run(["--strict", "--no-incremental", "--cache-dir", os.devnull, *files])
    assert status == 0, stdout + stderr
    assert f"no issues found in {len(files)} source files" in stdout


def test_generated_flat_request_model_accepts_a_flat_body(tmp_path):
    import importlib.util

    [_, flat, _, _] = generated_trees(tmp_path)
    spec = importlib.util.spec_from_file_location("flat_mirror", flat / "backend" / "generated_catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    request = module.FluxDevRequest.model_validate({"model": "flux-dev", "prompt": "a fox", "steps": 30})
    assert (request.steps, request.guidance) == (30, 3.5)
    with pytest.raises(Exception):
        module.FluxDevRequest.model_validate({"model": "flux-dev", "prompt": "a fox", "bogus": 1})
    with pytest.raises(Exception):
        # Required in the catalogue: required here, as in the TypeScript mirror.
        module.FluxDevRequest.model_validate({"model": "flux-dev"})
