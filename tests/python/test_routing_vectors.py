"""The routing golden vectors through the Python binding (the same file Rust runs)."""

from __future__ import annotations

import pytest

import inferwarden

from conftest import load_vectors

DOC = load_vectors("routing.json")


def config():
    p = DOC["policy"]
    suffixes = ", ".join(f'"{s}"' for s in p["host_suffixes"])
    return inferwarden.PolicyConfig.from_text(
        f"[proxy]\nallow_http = {str(p['allow_http']).lower()}\nallow_ip_literal = {str(p['allow_ip_literal']).lower()}\n"
        f"allowed_host_suffixes = [{suffixes}]\n"
    )


@pytest.mark.parametrize("case", DOC["registration"], ids=[c["url"] for c in DOC["registration"]])
def test_registration(case):
    router = inferwarden.Router(config(), dns={})
    if "ok" in case:
        entry = router.register("acme", case["url"])
        assert entry["base_url"]["prefix"] == case["ok"]["prefix"]
    else:
        with pytest.raises(inferwarden.errors.ProxyTargetInvalidError) as info:
            router.register("acme", case["url"])
        assert info.value.metadata["rule"] == case["rule"]
        assert router.audit_events()[-1]["action"] == "account_register_rejected"


@pytest.fixture(scope="module")
def router():
    r = inferwarden.Router(config(), dns=DOC["dns"])
    for e in DOC["registry"]:
        r.register(e["workspace"], e["url"], e["status"], "worker-key")
    return r


@pytest.mark.parametrize("case", DOC["resolution"], ids=[c["task"] for c in DOC["resolution"]])
def test_resolution(router, case):
    if "ok" in case:
        target = router.resolve(case["task"], case["route"])
        assert target["url"] == case["ok"]
        assert target["url"].startswith(target["origin"])
        assert target["credential_ref"] == "worker-key"
    else:
        with pytest.raises(inferwarden.InferwardenError) as info:
            router.resolve(case["task"], case["route"])
        assert info.value.code == case["code"]
        event = router.audit_events()[-1]
        assert event["details"]["code"] == case["code"]
