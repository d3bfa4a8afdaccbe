//! Tests for `trace.rs`'s span guard: a `log` logger that takes `trace` still gets the
//! decision's span with its fields (tracing's `log` fallback, no subscriber set), and its
//! records carry no key. The logger is process-wide, so this file holds one test
//! (`trace.rs` holds the `debug` logger's).
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};

use inferwarden::audit::MemoryAuditSink;
use inferwarden::config::PolicyConfig;
use inferwarden::gate::{Gate, RequestView};
use inferwarden::ratelimit::MemoryRateLimiter;
use inferwarden::secret::Secret;
use log::{LevelFilter, Log, Metadata, Record};

const API: &str = "span-canary-api-key-0123456789abcdef";

struct Capture(Mutex<Vec<(String, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &Record<'_>) {
        self.0
            .lock()
            .unwrap()
            .push((r.target().to_owned(), r.args().to_string()));
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

#[test]
fn a_trace_logger_gets_the_decision_span_with_its_fields() {
    log::set_logger(&CAPTURE).unwrap();
    let mut c = PolicyConfig::default();
    c.auth.api_keys = vec![Secret::new(API)];
    let gate = Gate::builder(c)
        .audit_sink(Arc::new(MemoryAuditSink::new()))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap();
    let req = RequestView {
        method: "GET".into(),
        path: "/status/t1".into(),
        headers: vec![
            ("X-API-Key".into(), API.into()),
            ("X-Request-Id".into(), "req-span-1".into()),
        ],
        query: vec![],
        peer: None,
    };

    // Below `trace`: the span is not built, so nothing of it reaches the logger.
    log::set_max_level(LevelFilter::Debug);
    assert!(gate.decide(&req).is_allowed());
    let at_debug = std::mem::take(&mut *CAPTURE.0.lock().unwrap());
    assert!(
        !at_debug.iter().any(|(_, m)| m.contains("req-span-1")),
        "{at_debug:#?}"
    );

    log::set_max_level(LevelFilter::Trace);
    assert!(gate.decide(&req).is_allowed());
    let at_trace = std::mem::take(&mut *CAPTURE.0.lock().unwrap());
    assert!(
        at_trace
            .iter()
            .any(|(_, m)| m.contains("decide") && m.contains("correlation_id=\"req-span-1\"")),
        "{at_trace:#?}"
    );
    for (_, m) in &at_trace {
        assert!(!m.contains(API), "a key in a log record: {m}");
    }
}
