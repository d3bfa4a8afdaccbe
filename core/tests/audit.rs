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
fn secret_named_details_are_redacted_whatever_their_case_and_place_in_the_key() {
    let clock = ManualClock::new(0);
    let mut e = AuditEvent::new(fields("a"), &clock).unwrap();
    for key in [
        "X-Admin-KEY",
        "Bearer_Token",
        "clientSecret",
        "PASSWORD",
        "Cookie",
        "AUTHORIZATION",
        "url_Sig",
    ] {
        e = e.detail(key, "canary");
    }
    e = e.detail("ke", "short-keys-kept").detail("sessions", "kept");
    let text = serde_json::to_string(&e).unwrap();
    assert!(!text.contains("canary"), "{text}");
    assert!(
        text.contains("short-keys-kept") && text.contains("\"kept\""),
        "{text}"
    );
}

#[test]
fn a_long_detail_is_capped_and_a_short_one_kept_whole() {
    let clock = ManualClock::new(0);
    let long = "x".repeat(inferwarden::audit::MAX_DETAIL_BYTES + 10);
    let e = AuditEvent::new(fields("a"), &clock)
        .unwrap()
        .detail("long", long.as_str())
        .detail("short", "whole");
    let kept = e.details["long"].as_str().unwrap();
    assert!(
        kept.len() <= inferwarden::audit::MAX_DETAIL_BYTES,
        "{}",
        kept.len()
    );
    assert!(kept.ends_with(inferwarden::audit::TRUNCATED_MARK));
    assert_eq!(e.details["short"], "whole");
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

#[test]
fn the_memory_ring_keeps_the_newest_events_within_its_capacity() {
    let sink = MemoryAuditSink::with_capacity(3);
    let clock = ManualClock::new(0);
    for i in 0..10 {
        sink.record(AuditEvent::new(fields(&format!("a{i}")), &clock).unwrap())
            .unwrap();
    }
    let actors: Vec<String> = sink.events().into_iter().map(|e| e.actor).collect();
    assert_eq!(actors, ["a7", "a8", "a9"]);
    assert_eq!((sink.len(), sink.evicted(), sink.capacity()), (3, 7, 3));
    assert_eq!(
        MemoryAuditSink::new().capacity(),
        inferwarden::audit::DEFAULT_MEMORY_CAPACITY
    );
}

/// With no store configured, a million denied requests (a bad Origin, a long path each)
/// leave the gate's audit memory at the ring's capacity.
#[test]
fn memory_stays_bounded_under_a_million_denied_requests() {
    use inferwarden::config::PolicyConfig;
    use inferwarden::gate::{Gate, RequestView};
    use std::sync::Arc;
    let mut config = PolicyConfig::default();
    config.cors.frontend_origins = vec!["https://app.example.com".into()];
    let sink = Arc::new(MemoryAuditSink::new());
    let gate = Gate::builder(config)
        .audit_sink(sink.clone())
        .build()
        .unwrap();
    let long_path = format!("/status/{}", "x".repeat(600));
    let req = RequestView::new("GET", &long_path).header("Origin", "https://evil.example");
    for _ in 0..1_000_000 {
        assert!(gate.decide(&req).error().is_some());
    }
    assert_eq!(sink.len(), inferwarden::audit::DEFAULT_MEMORY_CAPACITY);
    assert_eq!(sink.evicted(), 1_000_000 - sink.len() as u64);
    // Each kept event's path is capped, so the ring's size is bounded in bytes too.
    let largest = sink.events().iter().map(|e| e.target.len()).max().unwrap();
    assert!(largest <= inferwarden::audit::MAX_FIELD_BYTES, "{largest}");
}

#[test]
fn fields_and_details_are_capped() {
    use inferwarden::audit::{
        cap_string, MAX_DETAILS, MAX_DETAIL_BYTES, MAX_FIELD_BYTES, TRUNCATED_MARK,
    };
    let clock = ManualClock::new(0);
    let long = "ü".repeat(5000);
    let e = AuditEvent::new(fields(&long), &clock).unwrap();
    assert!(e.actor.len() <= MAX_FIELD_BYTES && e.actor.ends_with(TRUNCATED_MARK));
    let mut e = e
        .detail("big", long.as_str())
        .detail("nested", serde_json::json!({"a": [long.clone()]}));
    assert!(e.details["big"].as_str().unwrap().len() <= MAX_DETAIL_BYTES);
    assert!(e.details["nested"]["a"][0].as_str().unwrap().len() <= MAX_DETAIL_BYTES);
    for i in 0..100 {
        e = e.detail(&format!("k{i}"), i);
    }
    assert_eq!(e.details.len(), MAX_DETAILS + 1);
    assert_eq!(e.details["details_dropped"], 100 - (MAX_DETAILS as u64 - 2));
    assert_eq!(cap_string("short", 10), "short");
}
