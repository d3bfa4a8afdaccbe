"""The runtime policy configuration through the Python binding."""

import pytest

import inferwarden
from inferwarden.errors import ConfigInvalidError, ConfigurationError


def test_defaults():
    c = inferwarden.PolicyConfig()
    d = c.to_dict()
    assert d["stale"]["processing_ttl_s"] == {"image": 600, "video": 1800}
    assert d["queue"]["degraded_max_depth"] == 25
    assert c.stale_ttl_s("unknown-type") == 600
    assert c.validate()["errors"] == []


def test_env_override_and_file(tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('environment = "dev"\n[queue]\ndegraded_max_wait_s = 40\n')
    c = inferwarden.PolicyConfig.load(path, env={"INFERWARDEN_QUEUE__DEGRADED_MAX_DEPTH": "9"})
    d = c.to_dict()
    assert d["queue"] == {**d["queue"], "degraded_max_depth": 9, "degraded_max_wait_s": 40}
    assert c.is_dev_environment


def test_invalid_config_names_the_field():
    with pytest.raises(ConfigInvalidError) as info:
        inferwarden.PolicyConfig.from_text("[stale.processing_ttl_s]\nvideo = 60\nimage = 600\n")
    err = info.value
    assert isinstance(err, ConfigurationError)
    assert err.code == "config_invalid"
    assert "stale.processing_ttl_s.video" in [i["field"] for i in err.metadata["issues"]]


def test_bad_format_and_missing_file(tmp_path):
    with pytest.raises(ConfigInvalidError):
        inferwarden.PolicyConfig.from_text("{}", format="yaml")  # type: ignore[arg-type]
    with pytest.raises(ConfigInvalidError):
        inferwarden.PolicyConfig.load(tmp_path / "missing.toml", env={})


def test_secrets_redacted_everywhere():
    canary = "canary-admin-key-0123456789"
    c = inferwarden.PolicyConfig.load(env={"INFERWARDEN_AUTH__ADMIN_KEY": canary, "INFERWARDEN_AUTH__API_KEYS": canary})
    assert canary not in repr(c)
    assert canary not in str(c.to_dict())
    assert canary not in c.to_toml()
    assert c.to_dict()["auth"]["admin_key"] == "[REDACTED]"


def test_worker_settings():
    s = inferwarden.PolicyConfig().worker_settings()
    assert s["video_dedicated"]["timeout"] == 900
    assert s["video_dedicated"]["min_containers"] == 1
    assert s["video_degraded"]["min_containers"] == 0
    assert set(s["image"]) >= {"timeout", "min_containers", "max_containers", "scaledown_window"}
