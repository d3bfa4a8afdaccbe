//! The same contract run against every session store: in-memory, SQLite (file, WAL) and
//! PostgreSQL (a real server; the test command starts one on loopback and sets
//! `INFERWARDEN_TEST_POSTGRES_URL`). With `INFERWARDEN_REQUIRE_SERVICES=1` (set by the test
//! command) a missing server is a failure, never a skip.

use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::config::SessionConfig;
use inferwarden::session::{
    MemorySessionStore, SessionCheck, SessionKind, SessionManager, SessionStore,
};

fn contract(store: Arc<dyn SessionStore>) {
    let clock = ManualClock::new(2_000_000_000_000);
    let m = SessionManager::new(
        store.clone(),
        SessionConfig::default(),
        Arc::new(clock.clone()),
    );
    let g = m.issue(SessionKind::Generation, "api_key#0").unwrap();
    let a = m.issue(SessionKind::Admin, "admin_bootstrap").unwrap();
    let active = |c: &ManualClock| store.count_active(c.now_ms_for_test()).unwrap();
    assert_eq!(active(&clock), Some((1, 1)));
    let got = store.get(&g.record.id).unwrap().unwrap();
    assert_eq!(got, g.record);
    assert!(store.get("0".repeat(64).as_str()).unwrap().is_none());
    assert!(matches!(
        m.validate(SessionKind::Generation, g.token.expose())
            .unwrap(),
        SessionCheck::Active(_)
    ));
    // Admin idle slides through the store's touch.
    clock.advance_ms(11 * 3_600_000);
    assert!(matches!(
        m.validate(SessionKind::Admin, a.token.expose()).unwrap(),
        SessionCheck::Active(_)
    ));
    assert_eq!(
        store.get(&a.record.id).unwrap().unwrap().last_seen_ms,
        clock.now_ms_for_test()
    );
    clock.advance_ms(11 * 3_600_000);
    assert!(matches!(
        m.validate(SessionKind::Admin, a.token.expose()).unwrap(),
        SessionCheck::Active(_)
    ));
    // Generation absolute lifetime: 22 h elapsed, 2 h left; the exact instant is expired.
    clock.advance_ms(2 * 3_600_000);
    assert_eq!(
        m.validate(SessionKind::Generation, g.token.expose())
            .unwrap(),
        SessionCheck::Expired
    );
    assert_eq!(
        m.validate(SessionKind::Admin, a.token.expose()).unwrap(),
        SessionCheck::Expired,
        "absolute max"
    );
    assert_eq!(
        active(&clock),
        Some((0, 0)),
        "expired sessions are not active"
    );
    // Revoke / revoke-all / prune.
    let g2 = m.issue(SessionKind::Generation, "api_key#1").unwrap();
    let g3 = m.issue(SessionKind::Generation, "api_key#1").unwrap();
    assert_eq!(active(&clock), Some((2, 0)));
    assert!(m.revoke(g2.token.expose()).unwrap());
    assert_eq!(
        active(&clock),
        Some((1, 0)),
        "revoked sessions are not active"
    );
    assert!(!m.revoke(g2.token.expose()).unwrap());
    assert_eq!(
        m.validate(SessionKind::Generation, g2.token.expose())
            .unwrap(),
        SessionCheck::Revoked
    );
    assert_eq!(m.revoke_all(Some(SessionKind::Admin)).unwrap(), 1);
    assert!(matches!(
        m.validate(SessionKind::Generation, g3.token.expose())
            .unwrap(),
        SessionCheck::Active(_)
    ));
    // g (expired, never revoked) and g3 are still unrevoked.
    assert_eq!(m.revoke_all(None).unwrap(), 2);
    assert_eq!(active(&clock), Some((0, 0)));
    clock.advance_ms(1);
    assert_eq!(m.prune_expired().unwrap(), 4);
    assert!(store.get(&g.record.id).unwrap().is_none());
}

trait NowForTest {
    fn now_ms_for_test(&self) -> i64;
}

impl NowForTest for ManualClock {
    fn now_ms_for_test(&self) -> i64 {
        inferwarden::clock::Clock::now_ms(self)
    }
}

#[test]
fn memory_store() {
    contract(Arc::new(MemorySessionStore::new()));
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_file() {
    let dir = std::env::temp_dir().join(format!("inferwarden-sessions-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sessions.db");
    let _ = std::fs::remove_file(&path);
    contract(Arc::new(
        inferwarden::session::SqliteSessionStore::open(&path).unwrap(),
    ));
    // Survives a reopen (durable), and the file holds no token.
    let reopened = inferwarden::session::SqliteSessionStore::open(&path).unwrap();
    assert!(reopened.get(&"0".repeat(64)).unwrap().is_none());
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_store_unreachable_is_dependency_unavailable() {
    let err = inferwarden::session::SqliteSessionStore::open("/nonexistent-dir/x/sessions.db")
        .unwrap_err();
    assert_eq!(err.code_str(), "dependency_unavailable");
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_store() {
    let Some(url) = service_url("INFERWARDEN_TEST_POSTGRES_URL") else {
        return;
    };
    let store = inferwarden::session::PostgresSessionStore::connect(&url).unwrap();
    store.revoke_all(None, 0).unwrap();
    store.prune_expired(i64::MAX).unwrap();
    contract(Arc::new(store));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_unreachable_is_dependency_unavailable() {
    let err =
        inferwarden::session::PostgresSessionStore::connect("postgres://nobody@127.0.0.1:1/none")
            .unwrap_err();
    assert_eq!(err.code_str(), "dependency_unavailable");
    assert!(!err.detail().contains("nobody"));
}

/// The URL of a service the test command started; `None` (skip) only when services are not
/// required, i.e. outside the test command.
#[allow(dead_code)]
fn service_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("INFERWARDEN_REQUIRE_SERVICES").is_err(),
                "{var} is not set but services are required"
            );
            eprintln!("{var} not set: run scripts/test.sh to test against a real server");
            None
        }
    }
}

/// A PostgreSQL URL whose connections use their own schema (created empty) and carry
/// `application_name`, so a test can change tables or end its connections alone.
#[cfg(feature = "postgres")]
fn isolated_postgres(url: &str, name: &str) -> String {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name};"
        ))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}application_name={name}&options=-csearch_path%3D{name}")
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_store_reconnects_when_the_server_ends_its_connections() {
    let Some(url) = service_url("INFERWARDEN_TEST_POSTGRES_URL") else {
        return;
    };
    let isolated = isolated_postgres(&url, "iw_sess_reconnect");
    let store = inferwarden::session::PostgresSessionStore::connect(&isolated).unwrap();
    let clock = ManualClock::new(2_000_000_000_000);
    let store: Arc<dyn SessionStore> = Arc::new(store);
    let m = SessionManager::new(store.clone(), SessionConfig::default(), Arc::new(clock));
    let g = m.issue(SessionKind::Generation, "api_key#0").unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let ended = admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'iw_sess_reconnect'",
            &[],
        )
        .unwrap();
    assert!(ended >= 1);
    // The next calls reopen the connection instead of failing for ever.
    assert_eq!(store.get(&g.record.id).unwrap().unwrap(), g.record);
    assert!(matches!(
        m.validate(SessionKind::Generation, g.token.expose())
            .unwrap(),
        SessionCheck::Active(_)
    ));
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_corrupt_row_is_dependency_unavailable_not_a_panic() {
    let Some(url) = service_url("INFERWARDEN_TEST_POSTGRES_URL") else {
        return;
    };
    let isolated = isolated_postgres(&url, "iw_sess_corrupt");
    let store = inferwarden::session::PostgresSessionStore::connect(&isolated).unwrap();
    let mut admin = postgres::Client::connect(&isolated, postgres::NoTls).unwrap();
    admin
        .batch_execute(
            "ALTER TABLE inferwarden_sessions DROP CONSTRAINT inferwarden_sessions_kind_check;
             INSERT INTO inferwarden_sessions VALUES ('c0ffee', 'bogus', 'x', 0, 1, NULL, 0, NULL);",
        )
        .unwrap();
    let err = store.get("c0ffee").unwrap_err();
    assert_eq!(err.code_str(), "dependency_unavailable");
    assert_eq!(
        err.metadata()
            .and_then(|m| m.get("reason"))
            .and_then(|v| v.as_str()),
        Some("corrupt_row")
    );
}
