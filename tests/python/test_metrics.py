"""inferwarden.metrics: the exposition parses with the Prometheus client's strict OpenMetrics
parser, its families are the ones pinned in tests/vectors/metrics.json, decisions made through
the Python surface move their series, and no secret ever reaches it."""

from __future__ import annotations

import os
import re

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

import inferwarden
from loop_ticks import while_ticking
from inferwarden import metrics

API = "metrics-canary-api-key-5f1e2d3c4b5a6978"
ADMIN = "metrics-canary-admin-key-0a1b2c3d4e5f6071"
POLICY = f'[auth]\napi_keys = ["{API}"]\nadmin_key = "{ADMIN}"\n[sessions]\nsecure = false\n'


def sample(name: str, **labels: str) -> float:
    for family in parse_openmetrics(metrics.render()):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


def test_families_match_the_golden_file(vectors) -> None:
    pinned = vectors("metrics.json")["families"]
    declared = [{"name": f["name"], "type": f["type"], "labels": f["labels"]} for f in metrics.families()]
    assert declared == pinned


def test_the_exposition_parses_as_openmetrics_and_declares_every_family(vectors) -> None:
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(POLICY))
    gate.decide("GET", "/gallery", [("x-api-key", API)])
    text = metrics.render()
    assert text.endswith("# EOF\n")
    assert metrics.CONTENT_TYPE.startswith("application/openmetrics-text; version=1.0.0")
    pinned = {f["name"]: f for f in vectors("metrics.json")["families"]}
    parsed = list(parse_openmetrics(text))
    assert [f.name for f in parsed] == list(pinned)
    for family in parsed:
        want = pinned[family.name]
        assert family.type == want["type"], family.name
        for s in family.samples:
            labels = set(s.labels) - {"le"}
            assert labels == set(want["labels"]), (family.name, s)
    # The classic text parser (what older Prometheus servers use) reads it too.
    assert {f.name for f in parse_text(text.replace("# EOF\n", ""))} >= set(pinned)


def test_decisions_made_from_python_move_their_series() -> None:
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(POLICY))
    ok = dict(route_class="generation", outcome="allowed")
    bad = dict(route_class="generation", outcome="invalid_api_key")
    before = sample("inferwarden_gate_decisions_total", **ok), sample("inferwarden_gate_decisions_total", **bad)
    for _ in range(4):
        assert gate.decide("GET", "/gallery", [("x-api-key", API)]).allowed
    assert not gate.decide("GET", "/gallery", [("x-api-key", "wrong-key")]).allowed
    after = sample("inferwarden_gate_decisions_total", **ok), sample("inferwarden_gate_decisions_total", **bad)
    assert (after[0] - before[0], after[1] - before[1]) == (4, 1)


def test_recording_can_be_turned_off() -> None:
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(POLICY))
    labels = dict(route_class="public", outcome="allowed")
    metrics.set_enabled(False)
    try:
        before = sample("inferwarden_gate_decisions_total", **labels)
        gate.decide("GET", "/health")
        assert sample("inferwarden_gate_decisions_total", **labels) == before
    finally:
        metrics.set_enabled(True)
    gate.decide("GET", "/health")
    assert sample("inferwarden_gate_decisions_total", **labels) == before + 1


def test_no_secret_or_request_detail_reaches_the_exposition() -> None:
    """Canary: keys, session tokens, paths, task ids and client addresses used in decisions
    never show up as label values."""
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text(POLICY))
    boot = gate.decide("POST", "/admin/session", [("x-admin-key", ADMIN)], peer="203.0.113.99")
    issued = gate.issue_session(boot, "admin")
    token = issued.set_cookie.split("=", 1)[1].split(";", 1)[0]
    gen = gate.decide("POST", "/auth/session", [("x-api-key", API)])
    generation = gate.issue_session(gen, "generation")
    gate.decide("GET", "/status/canary-task-7781", [("x-api-key", API)], [("api_key", API)], peer="203.0.113.99")
    gate.decide("GET", "/admin/accounts", [("cookie", f"gg_admin_session={token}")], peer="203.0.113.99")
    gate.decide("GET", "/gallery", [("x-api-key", "canary-wrong-key-9911")])
    text = metrics.render()
    for needle in (API, ADMIN, token, generation.set_cookie, "canary-task-7781", "203.0.113.99", "canary-wrong-key-9911", "/status"):
        assert needle not in text, needle


def test_the_grafana_dashboard_queries_only_pinned_series(vectors) -> None:
    """examples/grafana/inferwarden.json: valid JSON, a panel for every family, and every
    metric name its queries use is one the core exports (a rename breaks it here, not in a
    user's Grafana)."""
    import json
    import re
    from pathlib import Path

    dashboard = json.loads((Path(__file__).resolve().parents[2] / "examples" / "grafana" / "inferwarden.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {name for e in exprs for name in re.findall(r"\binferwarden_[a-z_]+", e)}
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_count", "_sum"]}
    series_of = {f["name"]: {f["name"] + s for s in suffixes[f["type"]]} for f in vectors("metrics.json")["families"]}
    exported = set().union(*series_of.values())
    assert used <= exported, used - exported
    without_panel = [name for name, series in series_of.items() if not series & used]
    assert not without_panel, f"families without a panel: {without_panel}"


def test_render_async_gives_the_same_exposition_without_blocking_the_loop():
    import asyncio
    import subprocess

    url = os.environ.get("INFERWARDEN_TEST_POSTGRES_URL")
    if not url:
        assert not os.environ.get("INFERWARDEN_REQUIRE_SERVICES"), "INFERWARDEN_TEST_POSTGRES_URL missing but services are required"
        pytest.skip("INFERWARDEN_TEST_POSTGRES_URL not set (run scripts/test.sh)")
    gate = inferwarden.Gate(inferwarden.PolicyConfig.from_text('[auth]\napi_keys = ["canary-python-metrics-async-key-0123"]\n'), session_store=url)
    typed = lambda text: re.findall(r"^# TYPE (\S+) \S+$", text, re.M)  # noqa: E731
    assert typed(asyncio.run(metrics.render_async())) == typed(metrics.render())
    # Another connection holds the session table's lock for 0.8 s, so counting the active
    # sessions waits on it; the event loop keeps running meanwhile.
    holder = subprocess.Popen(
        # Each -c is sent and printed on its own, in one session: 'locked' arrives while held.
        ["psql", url, "-X", "-q", "-t", "-v", "ON_ERROR_STOP=1",
         "-c", "BEGIN; LOCK TABLE inferwarden_sessions IN ACCESS EXCLUSIVE MODE; SELECT 'locked';",
         "-c", "SELECT pg_sleep(0.8)", "-c", "COMMIT"],
        stdout=subprocess.PIPE, text=True,
    )
    while "locked" not in holder.stdout.readline():
        pass

    text, waited, ticks = while_ticking(metrics.render_async)
    holder.stdout.read()
    assert holder.wait(10) == 0
    assert text.endswith("# EOF\n")
    assert waited >= 0.4, waited
    assert ticks >= 20, (ticks, waited)
    del gate
