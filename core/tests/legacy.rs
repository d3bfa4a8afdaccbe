//! Tests for `legacy.rs`.

use inferwarden::legacy::{from_legacy_code, LEGACY_CODES};
use inferwarden::ErrorCode;

#[test]
fn every_legacy_code_maps() {
    assert_eq!(
        from_legacy_code("generation_session_missing"),
        Some(ErrorCode::SessionRequired)
    );
    assert_eq!(
        from_legacy_code("generation_session_expired"),
        Some(ErrorCode::SessionExpired)
    );
    assert_eq!(
        from_legacy_code("generation_session_invalid"),
        Some(ErrorCode::SessionInvalid)
    );
    assert_eq!(
        from_legacy_code("admin_session_missing"),
        Some(ErrorCode::AdminSessionRequired)
    );
    assert_eq!(
        from_legacy_code("admin_rate_limited"),
        Some(ErrorCode::RateLimited)
    );
    assert_eq!(LEGACY_CODES.len(), 5);
}

#[test]
fn stable_codes_are_not_legacy() {
    assert_eq!(from_legacy_code("session_required"), None);
    assert_eq!(from_legacy_code(""), None);
}
