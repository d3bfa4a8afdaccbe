"""The request-gate golden vectors through the Python binding (the same file Rust and Node run)."""

from __future__ import annotations

import pytest

import inferwarden

from conftest import load_vectors

DOC = load_vectors("gate.json")


def _sub(text: str, tokens: dict[str, str]) -> str:
    for name, token in tokens.items():
        text = text.replace("{session:" + name + "}", token)
    return text


@pytest.fixture(scope="module")
def world():
    clock = inferwarden.ManualClock(DOC["start_ms"])
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(DOC["config_toml"]), clock=clock)
    tokens = {}
    for s in DOC["sessions"]:
        if s["kind"] == "generation":
            d = gate.decide("POST", "/auth/session", [("X-API-Key", DOC["api_key"])], peer="192.0.2.250")
        else:
            d = gate.decide("POST", "/admin/session", [("x-admin-key", DOC["admin_key"])], peer="192.0.2.250")
        assert d.allowed, d
        issued = gate.issue_session(d, s["kind"])
        if s.get("revoke"):
            assert gate.revoke_session(issued.token)
        tokens[s["name"]] = issued.token
    return gate, clock, tokens


@pytest.mark.parametrize("case", DOC["cases"], ids=[c["name"] for c in DOC["cases"]])
def test_gate_vector(world, case):
    gate, clock, tokens = world
    r = case["request"]
    clock.set_ms(DOC["start_ms"])
    query = [(_sub(k, tokens), _sub(v, tokens)) for k, v in r["query"]]
    signed = case.get("signed")
    if signed:
        qs = gate.sign_media_url(signed["task_id"], signed["preview"], signed["ttl_s"])
        for part in qs.split("&"):
            k, v = part.split("=", 1)
            if k == "sig" and signed.get("tamper"):
                v = v[:-1] + ("B" if v[-1] == "A" else "A")
            query.append((k, v))
    clock.set_ms(DOC["start_ms"] + case.get("at_offset_ms", 0))
    headers = [(_sub(k, tokens), _sub(v, tokens)) for k, v in r["headers"]]
    for _ in range(case.get("repeat", 1)):
        d = gate.decide(r["method"], r["path"], headers, query, r.get("peer"))
    want = case["expect"]
    if "allow" in want:
        assert d.allowed, d
        assert d.principal["kind"] == want["allow"]
    elif want.get("preflight"):
        assert d.preflight and d.status == 204
    else:
        assert not d.allowed
        err = d.error
        assert isinstance(err, inferwarden.InferwardenError)
        assert err.code == want["code"]
        assert d.status == err.http_status
        with pytest.raises(inferwarden.errors.CLASS_BY_CODE[want["code"]]):
            d.raise_for_error()
    lower = [(k.lower(), v) for k, v in d.headers]
    for name, value in case.get("headers_include", []):
        assert (name.lower(), value) in lower, d.headers
    for name in case.get("headers_exclude", []):
        assert all(k != name.lower() for k, _ in lower), d.headers
