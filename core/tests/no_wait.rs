//! Tests for `no_wait.rs` and `Gate::try_decide_now`: the "try now, never wait" mode, over
//! a real SQLite session file that another connection locks. A try whose store would have
//! waited is thrown away with nothing written; a try that has written is never thrown away.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::gate::{Decision, Gate, RequestView};
use inferwarden::no_wait;
use inferwarden::ratelimit::MemoryRateLimiter;
use inferwarden::secret::Secret;
use inferwarden::session::{SessionKind, SqliteSessionStore};
use inferwarden::{Error, ErrorCode};

const API: &str = "no-wait-api-key-0123456789abcdef";
const ADMIN: &str = "no-wait-admin-key-0123456789abcdef";

#[test]
fn an_attempt_without_a_bail_returns_its_result_and_resets_the_mode() {
    assert!(!no_wait::must_not_wait());
    let out = no_wait::attempt(|| {
        assert!(no_wait::must_not_wait());
        7
    });
    assert_eq!(out, Some(7));
    assert!(!no_wait::must_not_wait());
}

#[test]
fn a_bail_discards_the_result_and_refuses_any_later_write() {
    let out = no_wait::attempt(|| {
        let e = no_wait::would_block("test store");
        assert_eq!(e.code(), ErrorCode::DependencyUnavailable);
        assert!(no_wait::bailed());
        assert!(
            no_wait::must_not_wait(),
            "after a bail nothing may wait either: the decision is discarded"
        );
        no_wait::side_effect().expect_err("a write after a bail must be refused");
        "decision"
    });
    assert_eq!(out, None);
    // Outside a try nothing bails, stores may wait and every write is allowed.
    assert!(!no_wait::must_not_wait());
    no_wait::side_effect().unwrap();
    let _ = no_wait::would_block("test store");
    assert!(!no_wait::bailed());
    assert_eq!(no_wait::attempt(|| 1), Some(1));
}

#[test]
fn a_write_commits_the_try_which_is_then_kept_and_still_never_waits() {
    let out = no_wait::attempt(|| {
        no_wait::side_effect().unwrap();
        assert!(
            no_wait::must_not_wait(),
            "a committed try still never waits"
        );
        // A store that gives up after the write fails its call; the decision is kept.
        let e = no_wait::would_block("test store");
        assert_eq!(e.code(), ErrorCode::DependencyUnavailable);
        assert!(!no_wait::bailed());
        "kept"
    });
    assert_eq!(out, Some("kept"));
}

#[test]
fn the_mode_is_reset_when_the_attempt_panics() {
    let caught = std::panic::catch_unwind(|| {
        no_wait::attempt(|| -> () { panic!("decision panicked") });
    });
    assert!(caught.is_err());
    assert!(!no_wait::must_not_wait());
    assert_eq!(no_wait::attempt(|| 2), Some(2));
}

struct Fixture {
    gate: Gate,
    audit: Arc<MemoryAuditSink>,
    store: Arc<SqliteSessionStore>,
    path: PathBuf,
}

fn fixture(name: &str, allow_query_key: bool) -> Fixture {
    let dir =
        std::env::temp_dir().join(format!("inferwarden-no-wait-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("sessions.db");
    let mut config = PolicyConfig::default();
    config.auth.api_keys = vec![Secret::new(API)];
    config.auth.admin_key = Some(Secret::new(ADMIN));
    config.auth.allow_query_api_key = allow_query_key;
    let audit = Arc::new(MemoryAuditSink::new());
    let store = Arc::new(SqliteSessionStore::open(&path).unwrap());
    let gate = Gate::builder(config)
        .session_store(store.clone())
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .audit_sink(audit.clone())
        .clock(Arc::new(ManualClock::new(1_700_000_000_000)))
        .build()
        .unwrap();
    Fixture {
        gate,
        audit,
        store,
        path,
    }
}

/// Another thread in the middle of a store call for `hold` (the connection is in use):
/// returns once that thread has the connection.
fn busy_for(store: &Arc<SqliteSessionStore>, hold: Duration) -> std::thread::JoinHandle<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let store = store.clone();
    let t = std::thread::spawn(move || {
        store
            .with_connection(|_| {
                tx.send(()).unwrap();
                std::thread::sleep(hold);
            })
            .unwrap();
    });
    rx.recv().unwrap();
    t
}

/// Another connection (a writer in another process) holding the write lock until dropped.
fn write_locked(path: &PathBuf) -> rusqlite::Connection {
    let other = rusqlite::Connection::open(path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    other
}

fn peer() -> IpAddr {
    "203.0.113.7".parse().unwrap()
}

fn with_cookie(method: &str, path: &str, name: &str, token: &str) -> RequestView {
    RequestView::new(method, path)
        .header("cookie", &format!("{name}={token}"))
        .peer(peer())
}

/// A request carrying the cookie of a session of `kind` issued now.
fn signed_in(f: &Fixture, kind: SessionKind, method: &str, path: &str) -> RequestView {
    let issued = f.gate.sessions().issue(kind, "user").unwrap();
    let name = f.gate.sessions().cookie_name(kind).to_owned();
    with_cookie(method, path, &name, issued.token.expose())
}

fn code(d: &Decision) -> &'static str {
    d.error().map(Error::code_str).unwrap_or("allowed")
}

/// The `r=` (remaining) figure of the `RateLimit` header of a throttled decision.
fn remaining(d: &Decision) -> u64 {
    let header = d
        .set_headers()
        .iter()
        .find(|(k, _)| k == "RateLimit")
        .map(|(_, v)| v.clone())
        .expect("a throttled route reports RateLimit");
    header
        .split(";r=")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .expect("RateLimit carries r=")
}

#[test]
fn a_sqlite_session_lookup_is_decided_on_the_spot() {
    let f = fixture("spot", true);
    assert!(f.gate.may_block(), "a SQLite store may wait on its file");
    assert!(f.gate.may_try_now());
    let req = signed_in(&f, SessionKind::Generation, "GET", "/gallery");
    let now = f.gate.try_decide_now(&req).expect("decided on the spot");
    assert_eq!(code(&now), "allowed");
    assert_eq!(code(&f.gate.decide(&req)), "allowed");
    let unknown = with_cookie(
        "GET",
        "/gallery",
        f.gate.sessions().cookie_name(SessionKind::Generation),
        "A".repeat(43).as_str(),
    );
    assert_eq!(
        code(&f.gate.try_decide_now(&unknown).unwrap()),
        code(&f.gate.decide(&unknown))
    );
    // Another writer holding the file's write lock does not stop a WAL read.
    let lock = write_locked(&f.path);
    assert_eq!(code(&f.gate.try_decide_now(&req).unwrap()), "allowed");
    drop(lock);
}

#[test]
fn a_busy_connection_sends_the_decision_away_without_waiting_or_writing() {
    let f = fixture("busy", true);
    let req = signed_in(&f, SessionKind::Generation, "GET", "/gallery");
    let audited_before = f.audit.len();
    let other = busy_for(&f.store, Duration::from_millis(500));
    let started = Instant::now();
    assert!(
        f.gate.try_decide_now(&req).is_none(),
        "the connection is in use: the try must give up"
    );
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "the try waited {:?}",
        started.elapsed()
    );
    assert_eq!(
        f.audit.len(),
        audited_before,
        "nothing written by the discarded try"
    );
    other.join().unwrap();
    assert_eq!(code(&f.gate.try_decide_now(&req).unwrap()), "allowed");
}

#[test]
fn admin_routes_are_never_tried_on_the_spot_and_count_nothing() {
    // On an admin route the session's idle-time update (a write that may wait for another
    // writer) follows the throttle (a count that cannot be taken back): such a decision is
    // always made where waiting is allowed, and the try that declined it counted nothing.
    let f = fixture("admin", true);
    let req = signed_in(&f, SessionKind::Admin, "GET", "/admin/accounts");
    let first = f.gate.decide(&req);
    assert_eq!(code(&first), "allowed");
    let lock = write_locked(&f.path);
    let started = Instant::now();
    assert!(f.gate.try_decide_now(&req).is_none());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "declined without waiting"
    );
    drop(lock);
    let second = f.gate.decide(&req);
    assert_eq!(code(&second), "allowed");
    assert_eq!(
        remaining(&first) - remaining(&second),
        1,
        "the declined try consumed no admin budget"
    );
}

#[test]
fn audit_records_wait_for_the_try_to_be_kept() {
    // Query keys off: a `?api_key=` is recorded as ignored (an audit event) before the
    // session lookup. In a try that event is set aside, so a busy lookup still gives up
    // with nothing written, and a kept try writes it exactly once.
    let f = fixture("deferred", false);
    let req = signed_in(&f, SessionKind::Generation, "GET", "/gallery")
        .query_param("api_key", "ignored-value");
    let before = f.audit.len();
    let other = busy_for(&f.store, Duration::from_millis(300));
    assert!(f.gate.try_decide_now(&req).is_none(), "the lookup gave up");
    assert_eq!(
        f.audit.len(),
        before,
        "nothing written by the discarded try"
    );
    other.join().unwrap();
    let kept = f.gate.try_decide_now(&req).expect("decided on the spot");
    assert_eq!(code(&kept), "allowed");
    assert_eq!(
        f.audit.len(),
        before + 1,
        "the set-aside event written once"
    );
    let event = f.audit.events().pop().unwrap();
    assert_eq!(event.action, "query_api_key_ignored");
}

#[test]
fn a_throttled_route_is_decided_on_the_spot_and_counted_once() {
    // The admin bootstrap throttles (a count) and records (set aside) without any store
    // call after the count: tried on the spot, counted once, recorded once.
    let f = fixture("bootstrap", true);
    let req = RequestView::new("POST", "/admin/session")
        .header("x-admin-key", "wrong-admin-key")
        .peer(peer());
    let before = f.audit.len();
    let first = f.gate.try_decide_now(&req).expect("decided on the spot");
    let second = f.gate.try_decide_now(&req).expect("decided on the spot");
    assert_eq!(code(&first), "admin_key_invalid");
    assert_eq!(remaining(&first) - remaining(&second), 1);
    assert_eq!(f.audit.len(), before + 2);
}

#[test]
fn stores_outside_the_process_are_never_tried_on_the_spot() {
    let mut config = PolicyConfig::default();
    config.auth.api_keys = vec![Secret::new(API)];
    #[derive(Debug)]
    struct Remote;
    impl inferwarden::ratelimit::RateLimiter for Remote {
        fn check(
            &self,
            _: &str,
            _: inferwarden::config::RateLimit,
            _: i64,
        ) -> Result<inferwarden::ratelimit::RateDecision, Error> {
            Err(Error::new(ErrorCode::DependencyUnavailable))
        }
    }
    let gate = Gate::builder(config)
        .session_store(Arc::new(SqliteSessionStore::in_memory().unwrap()))
        .rate_limiter(Arc::new(Remote))
        .audit_sink(Arc::new(MemoryAuditSink::new()))
        .build()
        .unwrap();
    assert!(!gate.may_try_now());
    assert!(gate
        .try_decide_now(&RequestView::new("GET", "/gallery").header("x-api-key", API))
        .is_none());
}
