//! The Redis connections behind the Redis backends (`redis_conn`), through the rate limiter
//! against a real `redis-server` (`INFERWARDEN_TEST_REDIS_URL`): callers on many threads at
//! once are counted exactly, each caller gets a connection of its own while the others wait
//! for their replies, and after the server drops every connection one call fails and the
//! next ones reconnect.
//!
//! Each test connects as its own ACL user, so it can count and kill its own connections
//! (`CLIENT LIST USER`, `CLIENT KILL USER`) without touching those of tests running beside it.
#![cfg(feature = "redis")]

#[path = "support/services.rs"]
mod services;

use std::sync::{Arc, Barrier};
use std::thread;

use inferwarden::clock::{Clock, SystemClock};
use inferwarden::config::RateLimit;
use inferwarden::ratelimit::{RateLimiter, RedisRateLimiter, RedisTime};
use services::redis_url;

/// An ACL user of this test's own (any password) and the service URL as that user.
fn own_user(url: &str, name: &str) -> (redis::Connection, String, String) {
    let user = format!("iw-conn-{name}-{}", std::process::id());
    let mut admin = redis::Client::open(url).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("reset")
        .arg("on")
        .arg("nopass")
        .arg("~*")
        .arg("+@all")
        .query(&mut admin)
        .unwrap();
    let as_user = url.replacen("redis://", &format!("redis://{user}:any@"), 1);
    (admin, user, as_user)
}

fn connections_of(admin: &mut redis::Connection, user: &str) -> usize {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(admin).unwrap();
    list.lines()
        .filter(|l| l.split(' ').any(|f| f == format!("user={user}")))
        .count()
}

/// Runs `per_thread` checks on each of `threads` threads started together; the number allowed.
fn hammer(
    limiter: &Arc<RedisRateLimiter>,
    key: &str,
    limit: RateLimit,
    threads: usize,
    per_thread: usize,
) -> usize {
    let start = Arc::new(Barrier::new(threads));
    let now = SystemClock.now_ms();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (limiter, start, key) = (Arc::clone(limiter), Arc::clone(&start), key.to_owned());
            thread::spawn(move || {
                start.wait();
                (0..per_thread)
                    .filter(|_| limiter.check(&key, limit, now).unwrap().allowed)
                    .count()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

#[test]
fn many_threads_share_one_limit_exactly_over_several_connections() {
    let Some(url) = redis_url() else { return };
    let (mut admin, user, as_user) = own_user(&url, "share");
    let prefix = format!("{user}:");
    let limiter = Arc::new(RedisRateLimiter::new(&as_user, &prefix, RedisTime::Caller).unwrap());
    let limit = RateLimit {
        limit: 50,
        window_s: 60,
    };
    assert_eq!(hammer(&limiter, "shared", limit, 8, 20), 50);
    // The threads did not queue on one connection: several were opened, and are kept.
    let open = connections_of(&mut admin, &user);
    assert!(
        (2..=8).contains(&open),
        "{open} connections of {user} after 8 concurrent callers"
    );
}

#[test]
fn after_the_server_drops_every_connection_one_call_fails_then_it_reconnects() {
    let Some(url) = redis_url() else { return };
    let (mut admin, user, as_user) = own_user(&url, "kill");
    let prefix = format!("{user}:");
    let limiter = Arc::new(RedisRateLimiter::new(&as_user, &prefix, RedisTime::Caller).unwrap());
    let limit = RateLimit {
        limit: 1_000,
        window_s: 60,
    };
    assert_eq!(hammer(&limiter, "k", limit, 8, 20), 160);
    // At least two idle connections, so a pool that dropped only the failed one would fail
    // the second call below as well.
    let open = connections_of(&mut admin, &user);
    assert!(open >= 2, "{open} connections of {user} before the kill");
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("USER")
        .arg(&user)
        .query(&mut admin)
        .unwrap();
    assert!(killed >= 1);
    let now = SystemClock.now_ms();
    let outcomes: Vec<bool> = (0..4)
        .map(|_| limiter.check("k", limit, now).is_ok())
        .collect();
    // The first call may meet a dead connection; every idle one is then dropped together.
    assert!(
        outcomes[1..].iter().all(|ok| *ok),
        "after the server dropped the connections: {outcomes:?}"
    );
    assert!(limiter.check("k", limit, now).unwrap().allowed);
    assert!(connections_of(&mut admin, &user) >= 1, "reconnected");
}
