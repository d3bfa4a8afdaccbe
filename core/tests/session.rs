//! Tests for `session/`: issue, validate at the exact expiry instant, admin idle sliding and
//! absolute maximum, revoke, revoke-all, prune, token shape, cookie attributes.

use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::config::{SameSite, SessionConfig};
use inferwarden::session::{
    MemorySessionStore, SessionCheck, SessionKind, SessionManager, SessionStore, TOKEN_LEN,
};

fn manager() -> (SessionManager, ManualClock, Arc<MemorySessionStore>) {
    let clock = ManualClock::new(1_000_000);
    let store = Arc::new(MemorySessionStore::new());
    (
        SessionManager::new(
            store.clone(),
            SessionConfig::default(),
            Arc::new(clock.clone()),
        ),
        clock,
        store,
    )
}

#[test]
fn token_is_256_bits_and_only_its_hash_is_stored() {
    let (m, _, store) = manager();
    let s = m.issue(SessionKind::Generation, "api_key#0").unwrap();
    assert_eq!(s.token.expose().len(), TOKEN_LEN);
    assert_ne!(s.record.id, s.token.expose());
    assert_eq!(s.record.id.len(), 64);
    let stored = store.get(&s.record.id).unwrap().unwrap();
    assert!(!format!("{stored:?}").contains(s.token.expose()));
    let other = m.issue(SessionKind::Generation, "api_key#0").unwrap();
    assert_ne!(other.token.expose(), s.token.expose());
    assert_eq!(format!("{:?}", s.token), "[REDACTED]");
}

#[test]
fn cookie_attributes() {
    let (m, _, _) = manager();
    let s = m.issue(SessionKind::Generation, "p").unwrap();
    let c = s.set_cookie.expose();
    assert!(c.starts_with("gg_session="));
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=86400",
    ] {
        assert!(c.contains(attr), "{attr} missing in {c}");
    }
    let cfg = SessionConfig {
        same_site: SameSite::Strict,
        ..Default::default()
    };
    let a = SessionManager::new(
        Arc::new(MemorySessionStore::new()),
        cfg,
        Arc::new(ManualClock::new(0)),
    )
    .issue(SessionKind::Admin, "admin")
    .unwrap();
    assert!(a.set_cookie.expose().starts_with("gg_admin_session="));
    assert!(a.set_cookie.expose().contains("SameSite=Strict"));
    assert!(m
        .clear_cookie(SessionKind::Generation)
        .contains("Max-Age=0"));
}

#[test]
fn generation_session_expires_at_the_exact_instant() {
    let (m, clock, _) = manager();
    let s = m.issue(SessionKind::Generation, "p").unwrap();
    clock.advance_ms(86_400_000 - 1);
    assert!(matches!(
        m.validate(SessionKind::Generation, s.token.expose())
            .unwrap(),
        SessionCheck::Active(_)
    ));
    clock.advance_ms(1);
    assert_eq!(
        m.validate(SessionKind::Generation, s.token.expose())
            .unwrap(),
        SessionCheck::Expired
    );
}

#[test]
fn admin_idle_timeout_slides_but_absolute_max_holds() {
    let (m, clock, _) = manager();
    let s = m.issue(SessionKind::Admin, "admin").unwrap();
    let t = s.token.expose();
    // Use every 11 h: stays alive past 12 h thanks to sliding...
    for _ in 0..2 {
        clock.advance_ms(11 * 3_600_000);
        assert!(matches!(
            m.validate(SessionKind::Admin, t).unwrap(),
            SessionCheck::Active(_)
        ));
    }
    // ...but not past the absolute 24 h maximum.
    clock.advance_ms(2 * 3_600_000);
    assert_eq!(
        m.validate(SessionKind::Admin, t).unwrap(),
        SessionCheck::Expired
    );
}

#[test]
fn admin_idle_timeout_expires_without_use() {
    let (m, clock, _) = manager();
    let s = m.issue(SessionKind::Admin, "admin").unwrap();
    clock.advance_ms(12 * 3_600_000);
    assert_eq!(
        m.validate(SessionKind::Admin, s.token.expose()).unwrap(),
        SessionCheck::Expired
    );
}

#[test]
fn a_use_is_written_only_once_the_stored_one_is_the_interval_old() {
    let (m, clock, store) = manager();
    let s = m.issue(SessionKind::Admin, "admin").unwrap();
    let (t, id) = (s.token.expose(), s.record.id.clone());
    let issued = s.record.last_seen_ms;
    // The default interval (60 s, under 1 % of the 12 h idle timeout): a use 59.999 s after
    // the stored one is not written...
    clock.advance_ms(59_999);
    assert!(matches!(
        m.validate(SessionKind::Admin, t).unwrap(),
        SessionCheck::Active(_)
    ));
    assert_eq!(store.get(&id).unwrap().unwrap().last_seen_ms, issued);
    // ...one at 60 s is.
    clock.advance_ms(1);
    m.validate(SessionKind::Admin, t).unwrap();
    assert_eq!(
        store.get(&id).unwrap().unwrap().last_seen_ms,
        issued + 60_000
    );
    // The timeout counts from the stored use: early by less than the interval, never late.
    clock.advance_ms(59_000);
    m.validate(SessionKind::Admin, t).unwrap();
    clock.advance_ms(12 * 3_600_000 - 59_000);
    assert_eq!(
        m.validate(SessionKind::Admin, t).unwrap(),
        SessionCheck::Expired
    );
}

#[test]
fn the_write_interval_is_capped_at_one_percent_of_the_idle_timeout_and_zero_writes_every_use() {
    let store = Arc::new(MemorySessionStore::new());
    let clock = ManualClock::new(1_000_000);
    let short = SessionConfig {
        admin_idle_timeout_s: 1_000,
        ..Default::default()
    };
    let m = SessionManager::new(store.clone(), short.clone(), Arc::new(clock.clone()));
    assert_eq!(m.last_use_write_interval_ms(1_000_000), 10_000);
    let s = m.issue(SessionKind::Admin, "admin").unwrap();
    clock.advance_ms(10_000);
    m.validate(SessionKind::Admin, s.token.expose()).unwrap();
    assert_eq!(
        store.get(&s.record.id).unwrap().unwrap().last_seen_ms,
        1_010_000
    );
    let every = SessionManager::new(
        store.clone(),
        SessionConfig {
            admin_last_use_write_interval_s: 0,
            ..short
        },
        Arc::new(clock.clone()),
    );
    assert_eq!(every.last_use_write_interval_ms(1_000_000), 0);
    clock.advance_ms(1);
    every
        .validate(SessionKind::Admin, s.token.expose())
        .unwrap();
    assert_eq!(
        store.get(&s.record.id).unwrap().unwrap().last_seen_ms,
        1_010_001
    );
}

#[test]
fn peek_does_not_slide() {
    let (m, clock, _) = manager();
    let s = m.issue(SessionKind::Admin, "admin").unwrap();
    clock.advance_ms(11 * 3_600_000);
    assert!(matches!(
        m.peek(SessionKind::Admin, s.token.expose()).unwrap(),
        SessionCheck::Active(_)
    ));
    clock.advance_ms(3_600_000);
    assert_eq!(
        m.peek(SessionKind::Admin, s.token.expose()).unwrap(),
        SessionCheck::Expired
    );
}

#[test]
fn revoked_is_terminal_and_unknown_is_not_expired() {
    let (m, _, _) = manager();
    let s = m.issue(SessionKind::Generation, "p").unwrap();
    assert!(m.revoke(s.token.expose()).unwrap());
    assert!(!m.revoke(s.token.expose()).unwrap());
    assert_eq!(
        m.validate(SessionKind::Generation, s.token.expose())
            .unwrap(),
        SessionCheck::Revoked
    );
    assert_eq!(
        m.validate(SessionKind::Generation, &"A".repeat(TOKEN_LEN))
            .unwrap(),
        SessionCheck::Unknown
    );
    assert_eq!(
        m.validate(SessionKind::Generation, "short").unwrap(),
        SessionCheck::Unknown
    );
    assert_eq!(
        m.validate(SessionKind::Admin, s.token.expose()).unwrap(),
        SessionCheck::Unknown,
        "wrong kind"
    );
}

#[test]
fn revoke_all_and_prune() {
    let (m, clock, _) = manager();
    let a = m.issue(SessionKind::Generation, "p").unwrap();
    let b = m.issue(SessionKind::Generation, "p").unwrap();
    let admin = m.issue(SessionKind::Admin, "admin").unwrap();
    assert_eq!(m.revoke_all(Some(SessionKind::Generation)).unwrap(), 2);
    assert_eq!(
        m.validate(SessionKind::Generation, a.token.expose())
            .unwrap(),
        SessionCheck::Revoked
    );
    assert_eq!(
        m.validate(SessionKind::Generation, b.token.expose())
            .unwrap(),
        SessionCheck::Revoked
    );
    assert!(matches!(
        m.validate(SessionKind::Admin, admin.token.expose())
            .unwrap(),
        SessionCheck::Active(_)
    ));
    clock.advance_ms(1);
    assert_eq!(m.prune_expired().unwrap(), 2);
    assert_eq!(m.revoke_all(None).unwrap(), 1);
}
