"""The durable audit log through the Python binding: the golden vectors byte for byte, an
independent re-verification of an export (tests/python/audit_reference.py), the ``audit=``
argument of Gate, Router and Lifecycle, a tampered row caught, identifier HMAC, checkpoints
and proofs, and typed errors for every bad input."""

from __future__ import annotations

import sqlite3

import pytest

import inferwarden
from inferwarden.errors import (
    ConfigInvalidError,
    DependencyUnavailableError,
    RequestValidationError,
)

import audit_reference

T0 = 1_800_000_000_000


@pytest.fixture()
def signer(vectors, monkeypatch):
    doc = vectors("audit.json")
    monkeypatch.setenv("INFERWARDEN_AUDIT_SIGNING_KEY", doc["signer_key"])
    return doc


def append_vector_events(log, clock, doc):
    for rec in doc["records"]:
        e = rec["event"]
        clock.set_ms(e["timestamp_ms"])
        seq = log.append(
            actor=e["actor"],
            source=e["source"],
            action=e["action"],
            target=e["target"],
            outcome=e["outcome"],
            correlation_id=e["correlation_id"],
            details=e["details"],
        )
        assert seq == rec["seq"]


def test_vectors_byte_for_byte(tmp_path, signer):
    doc = signer
    clock = inferwarden.ManualClock(0)
    log = inferwarden.AuditLog(f"sqlite:{tmp_path / 'a.db'}", clock=clock)
    assert log.durable and log.public_key == doc["verifier_key"]
    append_vector_events(log, clock, doc)
    rows = log.query(limit=10)
    assert [r["hash"] for r in rows] == [r["hash"] for r in doc["records"]]
    assert log.checkpoint() == doc["checkpoint_note"]
    report = log.verify(checkpoints=[doc["checkpoint_note"]], public_key=doc["verifier_key"])
    assert report["intact"] and report["root"] == doc["root_hex"]
    for bad in doc["tampered_notes"]:
        with pytest.raises(RequestValidationError):
            log.verify(checkpoints=[bad], public_key=doc["verifier_key"])
    # A third party re-verifies the export with nothing but the standard library.
    size, head = audit_reference.verify_records(rows)
    assert (size, head.hex()) == (4, doc["root_hex"])


def test_proofs_and_consistency(tmp_path, signer):
    log = inferwarden.AuditLog(f"sqlite:{tmp_path / 'a.db'}")
    for i in range(300):
        log.append(actor="a", source="gate", action="x", target=f"/t/{i}", outcome="success", correlation_id="c")
    note = log.checkpoint()
    assert note.startswith("inferwarden.audit\n300\n")
    proof = log.prove(257)
    assert proof["size"] == 300 and len(proof["path"]) > 0
    rows = log.query(limit=1000)
    assert audit_reference.verify_records(rows)[1].hex() == proof["root"]
    assert isinstance(log.consistency(10, 300), list)
    with pytest.raises(RequestValidationError):
        log.prove(300)
    with pytest.raises(RequestValidationError):
        log.prove(-1)


def test_gate_router_lifecycle_write_to_one_durable_log(tmp_path):
    config = inferwarden.PolicyConfig.from_text('[cors]\nfrontend_origins = ["https://app.example.com"]\n')
    url = f"sqlite:{tmp_path / 'audit.db'}"
    log = inferwarden.AuditLog(url)
    gate = inferwarden.Gate(config, audit=log)
    d = gate.decide("GET", "/status/t", headers=[("Origin", "https://evil.example")])
    assert d.body()["code"] == "cors_origin_blocked"
    events = gate.audit_events()
    assert events[-1]["action"] == "cors_denied" and events[-1]["seq"] == 0
    assert gate.audit_log.verify()["intact"]
    # A URL works too, and the configuration's audit.store is the default.
    router = inferwarden.Router(config, audit=url, dns={})
    with pytest.raises(inferwarden.errors.ProxyTargetInvalidError):
        router.register("acme", "http://127.0.0.1:1/", allow_private=False)
    configured = inferwarden.PolicyConfig.from_text(f'[audit]\nstore = "{url}"\n')
    life = inferwarden.Lifecycle(configured, f"sqlite:{tmp_path / 'tasks.db'}")
    assert life.maintain_audit()["prune"]["deleted"] == 0
    actions = [r["action"] for r in log.query(limit=100)]
    assert actions[0] == "cors_denied" and len(actions) >= 2
    report = log.verify()
    assert report["intact"] and report["size"] == len(actions)


def test_a_tampered_row_is_caught(tmp_path):
    path = tmp_path / "audit.db"
    log = inferwarden.AuditLog(f"sqlite:{path}")
    for i in range(50):
        log.append(actor="admin", source="gate", action="admin_login", target="/admin/session", outcome="success", correlation_id=f"r{i}")
    with sqlite3.connect(path) as db:
        db.executescript(
            "DROP TRIGGER iw_audit_log_no_update;"
            "UPDATE iw_audit_log SET outcome = 'denied' WHERE seq = 17;"
        )
    report = log.verify()
    assert not report["intact"]
    assert report["tamper"]["kind"] == "edited" and report["tamper"]["seq"] == 17


def test_identifiers_stored_as_hmac(tmp_path, monkeypatch):
    monkeypatch.setenv("INFERWARDEN_AUDIT_HMAC_KEY", "k" * 40)
    config = inferwarden.PolicyConfig.from_text('[audit]\nhmac_fields = ["actor", "details.client_ip"]\n')
    log = inferwarden.AuditLog(f"sqlite:{tmp_path / 'a.db'}", config=config)
    log.append(actor="203.0.113.5", source="gate", action="x", target="/", outcome="denied", correlation_id="c", details={"client_ip": "203.0.113.5"})
    row = log.query()[0]
    assert row["actor"] == log.hmac("203.0.113.5") and row["actor"].startswith("hmac-sha256:")
    assert "203.0.113.5" not in str(row)
    assert len(log.query(actor=log.hmac("203.0.113.5"))) == 1


def test_bad_inputs_are_typed_errors(tmp_path, monkeypatch):
    ring = inferwarden.AuditLog("memory")
    assert not ring.durable
    assert ring.append(actor="a", source="s", action="x", target="t", outcome="denied", correlation_id="c") is None
    assert ring.events()[0]["actor"] == "a"
    for call in (ring.verify, ring.checkpoint, lambda: ring.prove(0)):
        with pytest.raises(ConfigInvalidError):
            call()
    with pytest.raises(RequestValidationError):
        ring.append(actor="a", source="s", action="x", target="t", outcome="maybe", correlation_id="c")
    with pytest.raises(ConfigInvalidError):
        inferwarden.AuditLog("mysql://x")
    with pytest.raises(ConfigInvalidError):
        inferwarden.Gate(inferwarden.PolicyConfig(), audit=42)
    with pytest.raises(ConfigInvalidError):
        inferwarden.PolicyConfig.from_text("[audit]\nretention_days = 30\n")
    with pytest.raises(ConfigInvalidError):
        inferwarden.AuditLog(f"sqlite:{tmp_path / 'a.db'}").checkpoint()
    monkeypatch.setenv("INFERWARDEN_AUDIT_SIGNING_KEY", "PRIVATE+KEY+x+00000000+AAAA")
    with pytest.raises(ConfigInvalidError) as err:
        inferwarden.AuditLog(f"sqlite:{tmp_path / 'b.db'}")
    assert "AAAA" not in str(err.value)
    monkeypatch.delenv("INFERWARDEN_AUDIT_SIGNING_KEY")
    with pytest.raises(DependencyUnavailableError):
        inferwarden.AuditLog("postgres://postgres@127.0.0.1:1/none")


def test_the_reference_app_serves_the_durable_log_to_admins_only(tmp_path, monkeypatch, vectors):
    import os

    from fastapi.testclient import TestClient

    from broken_platform import ADMIN_KEY, ENV, create_app

    for k in list(os.environ):
        if k.startswith("INFERWARDEN_"):
            monkeypatch.delenv(k)
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("INFERWARDEN_AUDIT_SIGNING_KEY", vectors("audit.json")["signer_key"])
    client = TestClient(create_app(tmp_path, worker_step_s=0.01), base_url="https://testserver")
    assert client.get("/admin/audit").status_code == 401
    for i in range(3):
        client.post("/admin/session", headers={"x-admin-key": "wrong-key-xxxxxxxxxxxxxxxxxxxxx", "x-request-id": f"bad-{i}"})
    ok = client.post("/admin/session", headers={"x-admin-key": ADMIN_KEY, "x-request-id": "good"})
    assert ok.status_code == 200
    page = client.get("/admin/audit", params={"limit": 2}).json()
    assert len(page["events"]) == 2 and page["next_before_seq"] is not None
    seqs = [e["seq"] for e in page["events"]]
    assert seqs == sorted(seqs, reverse=True), "newest first"
    older = client.get("/admin/audit", params={"limit": 2, "before_seq": page["next_before_seq"]}).json()
    assert all(e["seq"] < page["next_before_seq"] for e in older["events"])
    mine = client.get("/admin/audit", params={"correlation_id": "bad-1"}).json()["events"]
    assert [(e["action"], e["outcome"]) for e in mine] == [("admin_login", "failure")]
    assert client.get("/admin/audit/verify").json()["intact"] is True
    # Someone with the database file rewrites a failed login as a success: caught.
    with sqlite3.connect(tmp_path / "audit.db") as db:
        db.executescript(
            "DROP TRIGGER iw_audit_log_no_update;"
            f"UPDATE iw_audit_log SET outcome = 'success' WHERE seq = {mine[0]['seq']};"
        )
    report = client.get("/admin/audit/verify").json()
    assert report["tamper"] == {"kind": "edited", "seq": mine[0]["seq"], "detail": report["tamper"]["detail"]}
