//! The Redis rate limiter against a real `redis-server` (started on loopback by the test
//! command, `INFERWARDEN_TEST_REDIS_URL`): the same boundaries as the in-memory backend, and 4
//! OS processes sharing one limit, checked from the Redis side.
#![cfg(feature = "redis")]

#[path = "support/services.rs"]
mod services;

use services::redis_url;
use std::process::Command;
use std::time::{Duration, Instant};

use inferwarden::clock::{Clock, SystemClock};
use inferwarden::config::RateLimit;
use inferwarden::ratelimit::{RateLimiter, RedisRateLimiter, RedisTime};

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), SystemClock.now_ms())
}

#[test]
fn boundaries_match_the_memory_backend() {
    let Some(url) = redis_url() else { return };
    let l = RedisRateLimiter::new(&url, &unique("iw-test:"), RedisTime::Caller).unwrap();
    let limit = RateLimit {
        limit: 10,
        window_s: 60,
    };
    let t0 = 10_000_000;
    for i in 0..10 {
        let d = l.check("k", limit, t0 + i).unwrap();
        assert!(d.allowed);
        assert_eq!(d.remaining, 9 - i as u32);
    }
    let d = l.check("k", limit, t0 + 59_999).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.retry_after_ms, 1);
    assert_eq!(d.retry_after_seconds(), 1);
    assert!(
        l.check("k", limit, t0 + 60_000).unwrap().allowed,
        "the first request left the window"
    );
    assert!(
        !l.check("k", limit, t0 + 60_000).unwrap().allowed,
        "the second is still inside"
    );
}

#[test]
fn server_time_mode_counts() {
    let Some(url) = redis_url() else { return };
    let l = RedisRateLimiter::new(&url, &unique("iw-test:"), RedisTime::Server).unwrap();
    let limit = RateLimit {
        limit: 3,
        window_s: 60,
    };
    let allowed = (0..5)
        .filter(|_| l.check("k", limit, 0).unwrap().allowed)
        .count();
    assert_eq!(allowed, 3);
}

#[test]
fn unreachable_redis_is_dependency_unavailable() {
    let l = RedisRateLimiter::new("redis://127.0.0.1:1/", "x:", RedisTime::Server).unwrap();
    let err = l
        .check(
            "k",
            RateLimit {
                limit: 1,
                window_s: 1,
            },
            0,
        )
        .unwrap_err();
    assert_eq!(err.code_str(), "dependency_unavailable");
}

const HAMMER_LIMIT: u32 = 20;
const HAMMER_WINDOW_MS: i64 = 1_000;

/// Child-process body of `four_processes_never_exceed_n`; a no-op unless spawned by it.
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn hammer_worker() {
    let (Ok(url), Ok(prefix)) = (
        std::env::var("IW_HAMMER_URL"),
        std::env::var("IW_HAMMER_PREFIX"),
    ) else {
        return;
    };
    let l = RedisRateLimiter::new(&url, &prefix, RedisTime::Caller).unwrap();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let limit = RateLimit {
        limit: HAMMER_LIMIT,
        window_s: 1,
    };
    let end = Instant::now() + Duration::from_millis(2_500);
    while Instant::now() < end {
        let now = SystemClock.now_ms();
        if l.check("shared", limit, now).unwrap().allowed {
            let _: i64 = redis::cmd("RPUSH")
                .arg(format!("{prefix}accepted"))
                .arg(now)
                .query(&mut conn)
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn four_processes_never_exceed_n() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("iw-hammer:");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args(["hammer_worker", "--ignored", "--exact", "--test-threads=1"])
                .env("IW_HAMMER_URL", &url)
                .env("IW_HAMMER_PREFIX", &prefix)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut accepted: Vec<i64> = redis::cmd("LRANGE")
        .arg(format!("{prefix}accepted"))
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    accepted.sort_unstable();
    assert!(
        accepted.len() >= 2 * HAMMER_LIMIT as usize,
        "the hammer accepted too little: {}",
        accepted.len()
    );
    for (i, &t) in accepted.iter().enumerate() {
        let in_window = accepted[i..]
            .iter()
            .take_while(|&&u| u < t + HAMMER_WINDOW_MS)
            .count();
        assert!(
            in_window <= HAMMER_LIMIT as usize,
            "window at {t} holds {in_window} > {HAMMER_LIMIT}"
        );
    }
}
