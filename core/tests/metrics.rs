//! Tests for `metrics/`: each instrumented decision moves exactly its own series (gate
//! decisions, rate-limit checks, sessions, audit appends and verification, sweeps, lane
//! routing, the degraded queue, the pipeline slot), histograms stay cumulative, label values
//! are escaped and bounded, and turning recording off stops every count. The registry is
//! process-wide, so the tests in this file take one lock and compare before/after values.

use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::{GpuConfig, PolicyConfig, RateLimit};
use inferwarden::dispatch::{LaneHealth, LaneRouter, MemoryReading, PipelineSlot};
use inferwarden::gate::{Gate, RequestView};
use inferwarden::lifecycle::{Lifecycle, SqliteTaskStore, TimeSource};
use inferwarden::metrics::{self, Histogram};
use inferwarden::ratelimit::MemoryRateLimiter;
use inferwarden::secret::Secret;
use inferwarden::session::SessionKind;

const API: &str = "metrics-test-api-key-0123456789abcdef";
const ADMIN: &str = "metrics-test-admin-key-0123456789abcdef";

static LOCK: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    let guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    metrics::set_enabled(true);
    guard
}

/// The value of the sample written exactly as `series` (name and labels), or 0 if absent.
fn value(series: &str) -> f64 {
    let text = metrics::render();
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

fn gate() -> (Gate, ManualClock) {
    let mut c = PolicyConfig::default();
    c.auth.api_keys = vec![Secret::new(API)];
    c.auth.admin_key = Some(Secret::new(ADMIN));
    c.rate_limits.admin_bootstrap = RateLimit {
        limit: 2,
        window_s: 60,
    };
    let clock = ManualClock::new(1_700_000_000_000);
    let gate = Gate::builder(c)
        .audit_sink(Arc::new(MemoryAuditSink::new()))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    (gate, clock)
}

fn peer() -> IpAddr {
    "198.51.100.4".parse().unwrap()
}

#[test]
fn each_gate_decision_counts_once_under_its_class_and_outcome() {
    let _g = serial();
    let (gate, _) = gate();
    let allowed = r#"inferwarden_gate_decisions_total{route_class="generation",outcome="allowed"}"#;
    let bad_key =
        r#"inferwarden_gate_decisions_total{route_class="generation",outcome="invalid_api_key"}"#;
    let public = r#"inferwarden_gate_decisions_total{route_class="public",outcome="allowed"}"#;
    let (a0, b0, p0) = (value(allowed), value(bad_key), value(public));
    for _ in 0..3 {
        gate.decide(&RequestView::new("GET", "/gallery").header("x-api-key", API));
    }
    gate.decide(&RequestView::new("GET", "/gallery").header("x-api-key", "wrong"));
    gate.decide(&RequestView::new("GET", "/health"));
    assert_eq!(value(allowed) - a0, 3.0);
    assert_eq!(value(bad_key) - b0, 1.0);
    assert_eq!(value(public) - p0, 1.0);
}

#[test]
fn rate_limit_checks_count_allowed_and_limited_by_policy() {
    let _g = serial();
    let (gate, _) = gate();
    let ok = r#"inferwarden_rate_limit_checks_total{policy="admin_bootstrap",result="allowed"}"#;
    let limited =
        r#"inferwarden_rate_limit_checks_total{policy="admin_bootstrap",result="limited"}"#;
    let (o0, l0) = (value(ok), value(limited));
    for _ in 0..3 {
        gate.decide(
            &RequestView::new("POST", "/admin/session")
                .header("x-admin-key", "wrong")
                .peer(peer()),
        );
    }
    assert_eq!(value(ok) - o0, 2.0);
    assert_eq!(value(limited) - l0, 1.0);
}

#[test]
fn sessions_count_issues_checks_and_revocations() {
    let _g = serial();
    let (gate, clock) = gate();
    let issued = r#"inferwarden_sessions_issued_total{kind="generation"}"#;
    let active = r#"inferwarden_session_checks_total{kind="generation",result="active"}"#;
    let expired = r#"inferwarden_session_checks_total{kind="generation",result="expired"}"#;
    let unknown = r#"inferwarden_session_checks_total{kind="generation",result="unknown"}"#;
    let one = r#"inferwarden_sessions_revoked_total{scope="one"}"#;
    let all = r#"inferwarden_sessions_revoked_total{scope="all"}"#;
    let before: Vec<f64> = [issued, active, expired, unknown, one, all]
        .iter()
        .map(|s| value(s))
        .collect();
    let s = gate.sessions();
    let a = s.issue(SessionKind::Generation, "u").unwrap();
    let b = s.issue(SessionKind::Generation, "u").unwrap();
    let _c = s.issue(SessionKind::Generation, "u").unwrap();
    s.validate(SessionKind::Generation, a.token.expose())
        .unwrap();
    s.peek(SessionKind::Generation, "not-a-token").unwrap();
    assert!(s.revoke(a.token.expose()).unwrap());
    assert!(
        !s.revoke(a.token.expose()).unwrap(),
        "a second revoke revokes nothing"
    );
    clock.advance_ms(i64::try_from(s.config().generation_lifetime_s).unwrap() * 1000);
    s.validate(SessionKind::Generation, b.token.expose())
        .unwrap();
    // The store's own count: c is active, a revoked, b expired (before revoke-all).
    let gauge = r#"inferwarden_sessions_active{kind="generation"}"#;
    let before_gauge = value(gauge);
    let extra = s.issue(SessionKind::Generation, "u").unwrap();
    assert_eq!(value(gauge) - before_gauge, 1.0, "one more active session");
    assert!(s.revoke(extra.token.expose()).unwrap());
    assert_eq!(value(gauge), before_gauge);
    let revoked_all = s.revoke_all(None).unwrap();
    let after: Vec<f64> = [issued, active, expired, unknown, one, all]
        .iter()
        .map(|s| value(s))
        .collect();
    let delta: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(delta, vec![4.0, 1.0, 1.0, 1.0, 2.0, revoked_all as f64]);
}

#[test]
fn memory_audit_appends_and_sweeps_are_counted() {
    let _g = serial();
    let appends = r#"inferwarden_audit_appends_total{sink="memory",result="ok"}"#;
    let sweeps_ok = r#"inferwarden_sweeps_total{result="ok"}"#;
    let stale = r#"inferwarden_tasks_swept_total{reason="stale_timeout"}"#;
    let start = r#"inferwarden_tasks_swept_total{reason="worker_start_timeout"}"#;
    let sweep_count = "inferwarden_sweep_duration_seconds_count";
    let before: Vec<f64> = [appends, sweeps_ok, stale, start, sweep_count]
        .iter()
        .map(|s| value(s))
        .collect();
    let clock = ManualClock::new(1_800_000_000_000);
    let store =
        SqliteTaskStore::open(":memory:", TimeSource::Injected(Arc::new(clock.clone()))).unwrap();
    let audit = Arc::new(MemoryAuditSink::new());
    let life = Lifecycle::new(
        Arc::new(store),
        &PolicyConfig::default(),
        audit.clone(),
        Arc::new(clock.clone()),
    );
    life.create("task-a", "image").unwrap();
    life.create("task-b", "image").unwrap();
    life.claim("task-a", "w1").unwrap();
    clock.advance_ms(24 * 3_600_000);
    let report = life.sweep().unwrap();
    assert_eq!(report.failed.len(), 2);
    let after: Vec<f64> = [appends, sweeps_ok, stale, start, sweep_count]
        .iter()
        .map(|s| value(s))
        .collect();
    let delta: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    // sweep_started + two stale transitions, all into the memory sink.
    assert_eq!(delta, vec![audit.len() as f64, 1.0, 1.0, 1.0, 1.0]);
    assert_eq!(
        value("inferwarden_sweep_batch_size"),
        f64::from(life.current_batch())
    );
}

#[test]
fn lane_routing_queue_and_pipeline_events_are_counted() {
    let _g = serial();
    let clock = ManualClock::new(1_800_000_000_000);
    let mut config = PolicyConfig::default();
    config.queue.degraded_max_depth = 1;
    let router = LaneRouter::new(&config, 60_000, Arc::new(clock.clone()));
    let dedicated = r#"inferwarden_lane_routes_total{lane="dedicated"}"#;
    let degraded = r#"inferwarden_lane_routes_total{lane="degraded"}"#;
    let refused = r#"inferwarden_lane_routes_total{lane="refused"}"#;
    let capacity = r#"inferwarden_lane_fallbacks_total{cause="capacity"}"#;
    let held = "inferwarden_queue_slots_held";
    let overloaded = r#"inferwarden_queue_events_total{event="overloaded"}"#;
    let series = [dedicated, degraded, refused, capacity, overloaded];
    let before: Vec<f64> = series.iter().map(|s| value(s)).collect();
    let held0 = value(held);
    router
        .set_lane(
            "wan-video",
            LaneHealth {
                ready: true,
                ..LaneHealth::default()
            },
        )
        .unwrap();
    assert_eq!(value(r#"inferwarden_lane_ready{model="wan-video"}"#), 1.0);
    let _dedicated = router.route("wan-video").unwrap();
    let slot = router.route("ltx-video").unwrap();
    assert_eq!(value(held) - held0, 1.0, "one slot held");
    assert!(router.route("ltx-video").is_err(), "the queue is full");
    let after: Vec<f64> = series.iter().map(|s| value(s)).collect();
    let delta: Vec<f64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(delta, vec![1.0, 1.0, 1.0, 2.0, 1.0]);
    drop(slot);
    assert_eq!(value(held) - held0, 0.0, "released on drop");

    let cold = r#"inferwarden_pipeline_events_total{event="cold_load"}"#;
    let warm = r#"inferwarden_pipeline_events_total{event="warm_hit"}"#;
    let generation = r#"inferwarden_pipeline_events_total{event="generation"}"#;
    let (c0, w0, g0) = (value(cold), value(warm), value(generation));
    let pipeline = PipelineSlot::new(600_000, Arc::new(clock.clone()));
    assert!(!pipeline.acquire("m", |_| Ok(())).unwrap());
    pipeline.mark_loaded("m").unwrap();
    assert!(pipeline.acquire("m", |_| Ok(())).unwrap());
    pipeline
        .record_generation(
            "T4",
            MemoryReading {
                allocated_mib: 1,
                reserved_mib: 1,
                cleanup_done: true,
            },
            &GpuConfig::default(),
        )
        .unwrap();
    assert_eq!(
        (value(cold) - c0, value(warm) - w0, value(generation) - g0),
        (1.0, 1.0, 1.0)
    );
}

#[test]
fn histograms_are_cumulative_and_end_with_the_count() {
    let h = Histogram::new();
    for ms in [0u64, 1, 3, 40, 2_000, 90_000] {
        h.observe(Duration::from_millis(ms));
    }
    let snap = h.snapshot();
    assert_eq!(snap.count, 6);
    let (last_bound, last) = *snap.cumulative.last().unwrap();
    assert!(last_bound.is_infinite());
    assert_eq!(last, 6);
    assert!(snap.cumulative.windows(2).all(|w| w[0].1 <= w[1].1));
    // 0 ms and 1 ms are <= 1 ms; 90 s is past the last finite bound (60 s).
    let at = |b: f64| snap.cumulative.iter().find(|(x, _)| *x == b).unwrap().1;
    assert_eq!(at(0.001), 2);
    assert_eq!(at(60.0), 5);
    assert!((snap.sum_s - 92.044).abs() < 1e-9);
}

#[test]
fn recording_off_changes_nothing() {
    let _g = serial();
    let (gate, _) = gate();
    let allowed = r#"inferwarden_gate_decisions_total{route_class="generation",outcome="allowed"}"#;
    metrics::set_enabled(false);
    let before = value(allowed);
    gate.decide(&RequestView::new("GET", "/gallery").header("x-api-key", API));
    let after = value(allowed);
    metrics::set_enabled(true);
    assert_eq!(before, after);
    gate.decide(&RequestView::new("GET", "/gallery").header("x-api-key", API));
    assert_eq!(value(allowed) - after, 1.0);
}

#[test]
fn route_class_labels_follow_the_enum_order() {
    use inferwarden::config::RouteClass;
    for (i, name) in metrics::ROUTE_CLASSES.iter().enumerate() {
        let class: RouteClass = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(class as usize, i, "{name}");
    }
    // Every class is listed: the last one is the last variant.
    assert_eq!(
        RouteClass::Public as usize,
        metrics::ROUTE_CLASSES.len() - 1
    );
}

#[test]
fn a_try_that_gives_up_counts_nothing() {
    // (Here, not in tests/no_wait.rs: rendering counts each store's sessions and so holds the
    // very connection a concurrent try needs.)
    let _g = serial();
    let dir = std::env::temp_dir().join(format!("inferwarden-metrics-try-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = Arc::new(inferwarden::session::SqliteSessionStore::open(dir.join("s.db")).unwrap());
    let mut c = PolicyConfig::default();
    c.auth.api_keys = vec![Secret::new(API)];
    let gate = Gate::builder(c)
        .session_store(store.clone())
        .audit_sink(Arc::new(MemoryAuditSink::new()))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap();
    let issued = gate.sessions().issue(SessionKind::Generation, "u").unwrap();
    let name = gate
        .sessions()
        .cookie_name(SessionKind::Generation)
        .to_owned();
    let req = RequestView::new("GET", "/gallery")
        .header("cookie", &format!("{name}={}", issued.token.expose()));
    let store_error = r#"inferwarden_session_checks_total{kind="generation",result="store_error"}"#;
    let allowed = r#"inferwarden_gate_decisions_total{route_class="generation",outcome="allowed"}"#;
    let (e0, a0) = (value(store_error), value(allowed));
    let gave_up = store
        .with_connection(|_| gate.try_decide_now(&req).is_none())
        .unwrap();
    assert!(gave_up, "the connection was in use: the try must give up");
    assert_eq!(
        value(store_error),
        e0,
        "a lookup that gave up is not a store error"
    );
    assert_eq!(value(allowed), a0, "a discarded decision is not counted");
    assert!(gate.try_decide_now(&req).unwrap().is_allowed());
    assert_eq!(value(allowed) - a0, 1.0);
}
