//! The degraded queue on Redis (`RedisQueueBackend`, a real `redis-server` started on
//! loopback by the test command): the same contract as the in-memory backend, and 4 OS
//! processes sharing one queue, one of them dying with its slots held.
#![cfg(feature = "redis")]

#[path = "support/services.rs"]
mod services;

#[path = "support/queue_contract.rs"]
mod queue_contract;

use services::redis_url;
use std::process::{Command, Stdio};
use std::sync::Arc;

use inferwarden::clock::{Clock, ManualClock, SystemClock};
use inferwarden::dispatch::{DegradedQueue, QueueBackend, RedisQueueBackend};
use inferwarden::ratelimit::RedisTime;
use inferwarden::ErrorCode;

fn unique(name: &str) -> String {
    format!(
        "iw-test:{name}-{}-{}:",
        std::process::id(),
        SystemClock.now_ms()
    )
}

fn queue(url: &str, prefix: &str, clock: &ManualClock) -> DegradedQueue {
    let backend = RedisQueueBackend::new(url, prefix, RedisTime::Caller).unwrap();
    DegradedQueue::with_backend(
        Arc::new(backend),
        25,
        30_000,
        60_000,
        Arc::new(clock.clone()),
    )
}

#[test]
fn depth_boundary_and_release_on_drop() {
    let Some(url) = redis_url() else { return };
    let clock = ManualClock::new(1_000_000);
    queue_contract::depth_boundary_and_release_on_drop(&queue(&url, &unique("depth"), &clock));
}

#[test]
fn wait_boundary_and_dead_holders() {
    let Some(url) = redis_url() else { return };
    let clock = ManualClock::new(1_000_000);
    queue_contract::wait_boundary_and_dead_holders(&queue(&url, &unique("wait"), &clock), &clock);
}

#[test]
fn sixty_four_connections_admitting_at_once_never_exceed_25() {
    let Some(url) = redis_url() else { return };
    let clock = ManualClock::new(1_000_000);
    let prefix = unique("concurrent");
    // Every thread has its own connection: the atomicity is the script's, not a lock's.
    queue_contract::sixty_four_concurrent_admissions(|| queue(&url, &prefix, &clock));
}

#[test]
fn an_unreachable_redis_is_dependency_unavailable() {
    let clock = ManualClock::new(1_000_000);
    let q = queue("redis://127.0.0.1:1/0", "iw-test:down:", &clock);
    assert_eq!(
        q.admit().unwrap_err().code(),
        ErrorCode::DependencyUnavailable
    );
    assert_eq!(q.snapshot().depth, 25, "an outage reads as a full queue");
}

/// Child body: admits up to 10 slots at `IW_QUEUE_NOW`, prints how many, then exits without
/// releasing them (like a killed worker).
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn queue_child() {
    let (Ok(url), Ok(prefix)) = (
        std::env::var("IW_QUEUE_URL"),
        std::env::var("IW_QUEUE_PREFIX"),
    ) else {
        return;
    };
    let now: i64 = std::env::var("IW_QUEUE_NOW").unwrap().parse().unwrap();
    let q = queue(&url, &prefix, &ManualClock::new(now));
    let mut held = Vec::new();
    for _ in 0..10 {
        if let Ok(slot) = q.admit() {
            held.push(slot);
        }
    }
    println!("ADMITTED {}", held.len());
    // Die holding the slots: no Drop runs.
    std::mem::forget(held);
    std::process::exit(0);
}

#[test]
fn four_processes_share_one_queue_and_dead_holders_are_reclaimed() {
    let Some(url) = redis_url() else { return };
    let prefix = unique("procs");
    let now = 5_000_000i64;
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "queue_child",
                    "--ignored",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("IW_QUEUE_URL", &url)
                .env("IW_QUEUE_PREFIX", &prefix)
                .env("IW_QUEUE_NOW", now.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut admitted = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        admitted += String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split("ADMITTED ").nth(1))
            .map(|n| n.trim().parse::<usize>().unwrap())
            .sum::<usize>();
    }
    assert_eq!(admitted, 25, "40 attempts from 4 processes, 25 slots");
    let backend = RedisQueueBackend::new(&url, &prefix, RedisTime::Caller).unwrap();
    let counts = backend.counts(now).unwrap();
    assert_eq!((counts.depth, counts.overloads), (25, 15));
    // The holders are gone; their slots expire after the 30 s wait, not a moment earlier.
    assert_eq!(backend.counts(now + 29_999).unwrap().depth, 25);
    let after = backend.counts(now + 30_000).unwrap();
    assert_eq!((after.depth, after.expired), (0, 25));
}

#[test]
fn lane_routers_built_from_config_share_the_redis_queue() {
    use inferwarden::config::PolicyConfig;
    use inferwarden::dispatch::{LaneHealth, LaneRouter};
    let Some(url) = redis_url() else { return };
    // A database of its own, emptied first, so the fixed key prefix cannot meet other tests.
    let base = url.trim_end_matches('/');
    let base = match base.rsplit_once('/') {
        // `redis://host:port/N`: drop the database number (the scheme's `//` has no host).
        Some((head, db)) if !head.ends_with('/') && db.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => base,
    };
    let db = format!("{base}/7");
    let mut conn = redis::Client::open(db.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("FLUSHDB").query::<()>(&mut conn).unwrap();
    let mut config = PolicyConfig::default();
    config.queue.degraded_max_depth = 2;
    config.queue.backend = db.clone().into();
    let clock = ManualClock::new(1_000_000);
    let replicas: Vec<LaneRouter> = (0..2)
        .map(|_| LaneRouter::from_config(&config, 60_000, Arc::new(clock.clone()), true).unwrap())
        .collect();
    let lane = LaneHealth {
        ready: false,
        quota_denied: false,
        failing_since_ms: None,
        awaiting_assignment_since_ms: None,
        manual_fallback: false,
    };
    for r in &replicas {
        r.set_lane("ltx", lane.clone()).unwrap();
    }
    let a = replicas[0].route("ltx").unwrap();
    let b = replicas[1].route("ltx").unwrap();
    let err = replicas[0].route("ltx").unwrap_err();
    assert_eq!(err.code(), ErrorCode::QueueOverloaded);
    drop(b);
    let c = replicas[0].route("ltx").unwrap();
    drop((a, c));
    config.queue.backend = "postgres://x".into();
    assert_eq!(
        LaneRouter::from_config(&config, 60_000, Arc::new(clock), true)
            .unwrap_err()
            .code(),
        ErrorCode::ConfigInvalid
    );
    assert!(!config.validate().errors.is_empty());
}
