//! Gate decision and rate-limiter check: goals under 1 us per decision (valid API key, valid
//! in-memory session) and under 200 ns per in-memory limiter check. The same decisions with
//! metrics recording off (`*_metrics_off`) give the cost of the metrics (goal under 50 ns).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use inferwarden::config::{PolicyConfig, RateLimit};
use inferwarden::gate::{Decision, Gate, RequestView};
use inferwarden::ratelimit::{MemoryRateLimiter, RateLimiter};
use inferwarden::secret::Secret;
use inferwarden::session::SessionKind;

fn gate() -> Gate {
    let mut c = PolicyConfig::default();
    c.auth.api_keys = vec![Secret::new(inferwarden_benches::BENCH_API_KEY)];
    Gate::builder(c)
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .expect("gate")
}

fn bench_gate(c: &mut Criterion) {
    let g = gate();
    let key_req = RequestView::new("GET", "/status/3f2b9c1e")
        .header("X-API-Key", inferwarden_benches::BENCH_API_KEY)
        .header("Accept", "application/json");
    let Decision::Allow { principal, .. } = g.decide(
        &RequestView::new("POST", "/auth/session")
            .header("X-API-Key", inferwarden_benches::BENCH_API_KEY),
    ) else {
        panic!("setup refused")
    };
    let token = g
        .issue_session(SessionKind::Generation, &principal, "bench")
        .expect("session")
        .token
        .expose()
        .to_owned();
    let session_req = RequestView::new("GET", "/status/3f2b9c1e")
        .header("Cookie", &format!("theme=dark; gg_session={token}"));
    let mut group = c.benchmark_group("gate");
    group.bench_function("decide_api_key", |b| {
        b.iter(|| black_box(g.decide(black_box(&key_req))).is_allowed())
    });
    group.bench_function("decide_memory_session", |b| {
        b.iter(|| black_box(g.decide(black_box(&session_req))).is_allowed())
    });
    inferwarden::metrics::set_enabled(false);
    group.bench_function("decide_api_key_metrics_off", |b| {
        b.iter(|| black_box(g.decide(black_box(&key_req))).is_allowed())
    });
    group.bench_function("decide_memory_session_metrics_off", |b| {
        b.iter(|| black_box(g.decide(black_box(&session_req))).is_allowed())
    });
    inferwarden::metrics::set_enabled(true);
    group.finish();

    let limiter = MemoryRateLimiter::default();
    let limit = RateLimit {
        limit: 120,
        window_s: 60,
    };
    let mut now = 0i64;
    c.bench_function("ratelimit/memory_check", |b| {
        b.iter(|| {
            now += 1_000; // 1 request/s per key: always within the limit, window kept full
            limiter
                .check(black_box("ip4:203.0.113.7"), limit, now)
                .map(|d| d.allowed)
        })
    });
}

criterion_group!(benches, bench_gate);
criterion_main!(benches);
