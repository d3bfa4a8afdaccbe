//! Tests for `trace.rs` and the events of feature `tracing`: with no tracing subscriber the
//! events reach a `log` logger (what the Python and Node bindings install) under
//! `inferwarden::<module>` targets, refusals at `info` with their code and correlation id;
//! spans stay at `trace`; and no record carries a key, token or cookie (canary).
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::gate::{Gate, RequestView};
use inferwarden::lifecycle::{Lifecycle, SqliteTaskStore, TimeSource};
use inferwarden::ratelimit::MemoryRateLimiter;
use inferwarden::secret::Secret;
use inferwarden::session::SessionKind;
use log::{Level, LevelFilter, Log, Metadata, Record};

const API: &str = "trace-canary-api-key-0123456789abcdef";
const ADMIN: &str = "trace-canary-admin-key-0123456789abcd";
const WRONG: &str = "trace-canary-wrong-key-99887766";

struct Capture(Mutex<Vec<(Level, String, String)>>);

impl Log for Capture {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= Level::Debug
    }
    fn log(&self, r: &Record<'_>) {
        if self.enabled(r.metadata()) {
            self.0
                .lock()
                .unwrap()
                .push((r.level(), r.target().to_owned(), r.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

fn records() -> Vec<(Level, String, String)> {
    let _ = log::set_logger(&CAPTURE);
    log::set_max_level(LevelFilter::Debug);
    CAPTURE.0.lock().unwrap().clone()
}

fn gate() -> Gate {
    let mut c = PolicyConfig::default();
    c.auth.api_keys = vec![Secret::new(API)];
    c.auth.admin_key = Some(Secret::new(ADMIN));
    Gate::builder(c)
        .audit_sink(Arc::new(MemoryAuditSink::new()))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap()
}

/// One test, because the logger is process-wide.
#[test]
fn events_reach_the_log_logger_without_secrets() {
    records();
    let g = gate();
    g.decide(
        &RequestView::new("GET", "/gallery")
            .header("x-api-key", WRONG)
            .header("x-request-id", "req-trace-1"),
    );
    g.decide(&RequestView::new("GET", "/gallery").header("x-api-key", API));
    let boot = g.decide(&RequestView::new("POST", "/admin/session").header("x-admin-key", ADMIN));
    let inferwarden::gate::Decision::Allow { principal, .. } = boot else {
        panic!("bootstrap refused")
    };
    let admin = g
        .issue_session(SessionKind::Admin, &principal, "req-2")
        .unwrap();
    let cookie = format!("gg_admin_session={}", admin.token.expose());
    g.decide(&RequestView::new("GET", "/admin/accounts").header("cookie", &cookie));
    g.decide(
        &RequestView::new("GET", "/admin/accounts")
            .header("x-admin-key", ADMIN)
            .query_param("admin_key", ADMIN),
    );

    let clock = ManualClock::new(1_800_000_000_000);
    let store =
        SqliteTaskStore::open(":memory:", TimeSource::Injected(Arc::new(clock.clone()))).unwrap();
    let life = Lifecycle::new(
        Arc::new(store),
        &PolicyConfig::default(),
        Arc::new(MemoryAuditSink::new()),
        Arc::new(clock.clone()),
    );
    life.create("trace-task-1", "image").unwrap();
    clock.advance_ms(24 * 3_600_000);
    life.sweep().unwrap();

    let got = records();
    assert!(
        got.iter().any(|(level, target, msg)| *level == Level::Info
            && target == "inferwarden::gate"
            && msg.contains("request refused")
            && msg.contains("code=\"invalid_api_key\"")
            && msg.contains("correlation_id=\"req-trace-1\"")),
        "{got:#?}"
    );
    assert!(got.iter().any(|(level, target, msg)| *level == Level::Debug
        && target == "inferwarden::gate"
        && msg.starts_with("request allowed")));
    assert!(
        got.iter()
            .any(|(_, target, msg)| target == "inferwarden::lifecycle"
                && msg.starts_with("sweep finished")
                && msg.contains("failed=1")),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .all(|(_, target, _)| target.starts_with("inferwarden::")),
        "spans (target tracing::span) stay at trace: {got:#?}"
    );
    for (_, _, msg) in &got {
        for secret in [API, ADMIN, WRONG, admin.token.expose()] {
            assert!(!msg.contains(secret), "a secret in a log record: {msg}");
        }
    }
}
