//! Tests for `error.rs`: the table, serialisation and lookups.

use inferwarden::{list_all_errors, Error, ErrorCode};

#[test]
fn table_order_matches_declaration_order() {
    for (i, spec) in list_all_errors().iter().enumerate() {
        assert_eq!(
            spec.variant as usize, i,
            "row {i} ({}) is out of order",
            spec.code
        );
        assert_eq!(spec.variant.spec().code, spec.code);
    }
}

#[test]
fn codes_are_unique_snake_case() {
    let mut seen = std::collections::HashSet::new();
    for spec in list_all_errors() {
        assert!(seen.insert(spec.code), "duplicate code {}", spec.code);
        assert!(
            spec.code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{} is not snake_case",
            spec.code
        );
        assert!(seen.len() <= list_all_errors().len());
        assert!((400..=599).contains(&spec.http_status));
        assert!(!spec.user_action.is_empty() && !spec.default_detail.is_empty());
        assert!(spec.class_name.ends_with("Error"));
    }
}

#[test]
fn requirement_statuses() {
    let expect = [
        ("invalid_api_key", 403),
        ("session_required", 401),
        ("session_expired", 401),
        ("session_invalid", 401),
        ("admin_session_required", 401),
        ("admin_key_invalid", 403),
        ("admin_misconfigured", 503),
        ("server_misconfigured", 503),
        ("rate_limited", 429),
        ("cors_origin_blocked", 403),
        ("task_not_found", 404),
        ("proxy_target_invalid", 400),
        ("remote_unavailable", 502),
        ("invalid_transition", 409),
        ("validation_error", 422),
        ("queue_overloaded", 503),
        ("gpu_memory_exceeded", 507),
        ("dependency_unavailable", 503),
    ];
    for (code, status) in expect {
        let c = ErrorCode::from_code(code).unwrap_or_else(|| panic!("missing {code}"));
        assert_eq!(c.http_status(), status, "{code}");
        assert_eq!(c.code(), code);
    }
}

#[test]
fn envelope_shape() {
    let e =
        Error::with_detail(ErrorCode::RateLimited, "slow down").meta("retry_after_seconds", 7u64);
    let v = e.to_json();
    assert_eq!(v["code"], "rate_limited");
    assert_eq!(v["detail"], "slow down");
    assert_eq!(v["user_action"], ErrorCode::RateLimited.user_action());
    assert_eq!(v["metadata"]["retry_after_seconds"], 7);
    assert_eq!(e.retry_after_seconds(), Some(7));
    let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys.len(), 4);

    let plain = Error::new(ErrorCode::TaskNotFound).to_json();
    assert!(
        plain.get("metadata").is_none(),
        "metadata is omitted when empty"
    );
}

#[test]
fn envelope_round_trip_and_legacy_input() {
    let e = Error::with_detail(ErrorCode::SessionExpired, "gone").user_action_hint("sign in");
    let text = serde_json::to_string(&e).unwrap();
    let back: Error = serde_json::from_str(&text).unwrap();
    assert_eq!(back, e);
    let legacy: Error =
        serde_json::from_str(r#"{"code":"admin_rate_limited","detail":"x","user_action":"y"}"#)
            .unwrap();
    assert_eq!(legacy.code(), ErrorCode::RateLimited);
    assert!(
        serde_json::from_str::<Error>(r#"{"code":"nope","detail":"x","user_action":"y"}"#).is_err()
    );
}

#[test]
fn display_and_debug() {
    let e = Error::with_detail(ErrorCode::TaskNotFound, "no such task");
    assert_eq!(e.to_string(), "task_not_found: no such task");
    assert!(format!("{e:?}").contains("task_not_found"));
    assert_eq!(e.http_status(), 404);
}
