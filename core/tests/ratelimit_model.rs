//! The rate limiter against a reference model (property-based, proptest): random schedules
//! of requests over a few keys, with windows and limits drawn at random, must get exactly the
//! decisions of an exact sliding-window log: accepted when fewer than N accepted requests
//! are younger than the window, with `remaining`, `retry_after_ms` and `reset_ms` as the
//! model computes them, and never more than N accepted in any window. The in-memory backend
//! runs here; the Redis backend runs the same schedules with several clients (one
//! connection each) sharing the keys, when the test command's Redis is up.

#[path = "support/services.rs"]
mod services;

use std::collections::HashMap;

use inferwarden::config::RateLimit;
use inferwarden::ratelimit::{MemoryRateLimiter, RateDecision, RateLimiter};
use proptest::prelude::*;

/// The reference: every accepted time per key.
#[derive(Default)]
struct Model {
    accepted: HashMap<String, Vec<i64>>,
}

impl Model {
    fn check(&mut self, key: &str, limit: RateLimit, now: i64) -> RateDecision {
        let window = limit.window_s as i64 * 1000;
        let times = self.accepted.entry(key.to_owned()).or_default();
        let live: Vec<i64> = times.iter().copied().filter(|t| t + window > now).collect();
        let n = limit.limit as usize;
        if live.len() < n {
            times.push(now);
            let oldest = live.first().copied().unwrap_or(now);
            RateDecision {
                allowed: true,
                limit: limit.limit,
                remaining: (n - live.len() - 1) as u32,
                retry_after_ms: 0,
                reset_ms: (oldest + window - now) as u64,
                window_ms: window as u64,
            }
        } else {
            let oldest = live[live.len() - n];
            let newest = *live.last().unwrap();
            RateDecision {
                allowed: false,
                limit: limit.limit,
                remaining: 0,
                retry_after_ms: (oldest + window - now) as u64,
                reset_ms: (newest + window - now) as u64,
                window_ms: window as u64,
            }
        }
    }
}

/// One schedule: (key index, milliseconds after the previous request), times non-decreasing.
fn schedule() -> impl Strategy<Value = (u32, u64, Vec<(usize, i64)>)> {
    (1u32..6, 1u64..4).prop_flat_map(|(limit, window_s)| {
        let window_ms = window_s as i64 * 1000;
        // Gaps around the window's length hit its boundaries exactly.
        let gap = prop_oneof![
            Just(0i64),
            Just(1i64),
            0i64..window_ms,
            Just(window_ms - 1),
            Just(window_ms),
            Just(window_ms + 1),
        ];
        (
            Just(limit),
            Just(window_s),
            prop::collection::vec((0usize..3, gap), 1..80),
        )
    })
}

fn run(limiter: &dyn RateLimiter, prefix: &str, limit: u32, window_s: u64, steps: &[(usize, i64)]) {
    let rate = RateLimit { limit, window_s };
    let mut model = Model::default();
    let mut now = 1_800_000_000_000i64;
    for (i, (key, gap)) in steps.iter().enumerate() {
        now += gap;
        let key = format!("{prefix}k{key}");
        let got = limiter.check(&key, rate, now).unwrap();
        let want = model.check(&key, rate, now);
        assert_eq!(got, want, "step {i}: key {key} at +{gap} ms");
    }
    // Never more than N accepted in any window, per key.
    let window = window_s as i64 * 1000;
    for times in model.accepted.values() {
        for (i, t) in times.iter().enumerate() {
            let inside = times[i..].iter().take_while(|u| **u < t + window).count();
            assert!(inside <= limit as usize);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn memory_backend_matches_the_sliding_window_model((limit, window_s, steps) in schedule()) {
        run(&MemoryRateLimiter::default(), "", limit, window_s, &steps);
    }
}

#[cfg(feature = "redis")]
mod redis_backend {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use inferwarden::ratelimit::{RedisRateLimiter, RedisTime};

    use super::*;

    /// Several clients (one connection each) take turns on the same keys: the shared
    /// script keeps the one sliding window the model describes.
    struct Clients(Vec<RedisRateLimiter>, AtomicUsize);

    impl std::fmt::Debug for Clients {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} clients", self.0.len())
        }
    }

    impl RateLimiter for Clients {
        fn check(
            &self,
            key: &str,
            limit: RateLimit,
            now_ms: i64,
        ) -> Result<RateDecision, inferwarden::Error> {
            let i = self.1.fetch_add(1, Ordering::Relaxed) % self.0.len();
            self.0[i].check(key, limit, now_ms)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(60))]

        #[test]
        fn redis_backend_with_three_clients_matches_the_model((limit, window_s, steps) in schedule()) {
            let Some(url) = services::redis_url() else {
                return Ok(());
            };
            static RUN: AtomicUsize = AtomicUsize::new(0);
            let prefix = format!(
                "iw-model:{}:{}:",
                std::process::id(),
                RUN.fetch_add(1, Ordering::SeqCst)
            );
            let clients = Clients(
                (0..3)
                    .map(|_| RedisRateLimiter::new(&url, &prefix, RedisTime::Caller).unwrap())
                    .collect(),
                AtomicUsize::new(0),
            );
            run(&clients, "", limit, window_s, &steps);
        }
    }
}
