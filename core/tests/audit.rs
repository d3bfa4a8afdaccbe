//! Tests for `audit/`: mandatory fields, redaction, the memory sink.

use inferwarden::audit::{AuditEvent, AuditFields, AuditSink, MemoryAuditSink, Outcome};
use inferwarden::clock::ManualClock;
use inferwarden::ErrorCode;

fn fields<'a>(actor: &'a str) -> AuditFields<'a> {
    AuditFields {
        actor,
        source: "gate",
        action: "admin_login",
        target: "/admin/session",
        outcome: Outcome::Denied,
        correlation_id: "req-1",
    }
}

#[test]
fn stamps_time_from_clock() {
    let clock = ManualClock::new(1_700_000_000_000);
    let e = AuditEvent::new(fields("10.0.0.1"), &clock).unwrap();
    assert_eq!(e.timestamp_ms, 1_700_000_000_000);
    let v = serde_json::to_value(&e).unwrap();
    for key in [
        "actor",
        "source",
        "action",
        "target",
        "outcome",
        "timestamp_ms",
        "correlation_id",
        "details",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    // The exported list (the smoke runner checks live events with it) is exactly the
    // serialised fields besides `details`.
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.retain(|k| *k != "details");
    keys.sort_unstable();
    let mut listed = inferwarden::audit::AUDIT_MANDATORY_FIELDS.to_vec();
    listed.sort_unstable();
    assert_eq!(keys, listed);
}

#[test]
fn empty_mandatory_field_rejected() {
    let clock = ManualClock::new(0);
    let err = AuditEvent::new(fields(" "), &clock).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InternalError);
    assert_eq!(err.metadata().unwrap()["field"], "actor");
}

#[test]
fn missing_field_in_json_rejected() {
    let text = r#"{"actor":"a","source":"s","action":"x","target":"t","outcome":"success","timestamp_ms":1}"#;
    assert!(
        serde_json::from_str::<AuditEvent>(text).is_err(),
        "correlation_id is mandatory"
    );
}

#[test]
fn secret_named_details_redacted() {
    let clock = ManualClock::new(0);
    let e = AuditEvent::new(fields("a"), &clock)
        .unwrap()
        .detail("x-admin-key", "canary-secret-1")
        .detail("session_token", "canary-secret-2")
        .detail("route", "/admin/session");
    let text = serde_json::to_string(&e).unwrap();
    assert!(!text.contains("canary"), "{text}");
    assert!(text.contains("/admin/session"));

    let raw = r#"{"actor":"a","source":"s","action":"x","target":"t","outcome":"success","timestamp_ms":1,"correlation_id":"c","details":{"api_key":"canary"}}"#;
    let e: AuditEvent = serde_json::from_str(raw).unwrap();
    let e = e.validated().unwrap();
    assert!(!serde_json::to_string(&e).unwrap().contains("canary"));
}

#[test]
fn memory_sink_appends_in_order() {
    let clock = ManualClock::new(0);
    let sink = MemoryAuditSink::new();
    assert!(sink.is_empty());
    for actor in ["a", "b"] {
        sink.record(AuditEvent::new(fields(actor), &clock).unwrap())
            .unwrap();
    }
    let events = sink.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].actor, "a");
    assert_eq!(events[1].actor, "b");
}
