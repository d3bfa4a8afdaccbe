//! Tests for `ratelimit/`: exact sliding-window semantics, Retry-After, concurrency, the
//! memory bound, and client identity.

use std::net::IpAddr;
use std::sync::Arc;

use inferwarden::config::RateLimit;
use inferwarden::ratelimit::{client_key, client_key_from_ip, MemoryRateLimiter, RateLimiter};

const TEN_PER_MIN: RateLimit = RateLimit {
    limit: 10,
    window_s: 60,
};

#[test]
fn n_plus_one_is_refused_with_exact_retry_after() {
    let l = MemoryRateLimiter::default();
    let t0 = 1_000_000;
    for i in 0..10 {
        let d = l.check("k", TEN_PER_MIN, t0 + i * 100).unwrap();
        assert!(d.allowed, "request {i}");
        assert_eq!(d.remaining, 9 - i as u32);
    }
    let d = l.check("k", TEN_PER_MIN, t0 + 1_500).unwrap();
    assert!(!d.allowed);
    assert_eq!(d.retry_after_ms, 60_000 - 1_500);
    assert_eq!(d.retry_after_seconds(), 59);
    let e = d.to_error();
    assert_eq!(e.code_str(), "rate_limited");
    assert_eq!(e.retry_after_seconds(), Some(59));
    let headers = d.headers("auth_session");
    assert!(headers.contains(&("Retry-After".to_owned(), "59".to_owned())));
    assert!(headers
        .iter()
        .any(|(n, v)| n == "RateLimit-Policy" && v == "\"auth_session\";q=10;w=60"));
}

#[test]
fn window_edge_plus_minus_one_ms() {
    let l = MemoryRateLimiter::default();
    let t0 = 5_000_000;
    for _ in 0..10 {
        assert!(l.check("k", TEN_PER_MIN, t0).unwrap().allowed);
    }
    assert!(
        !l.check("k", TEN_PER_MIN, t0 + 59_999).unwrap().allowed,
        "1 ms before the window ends"
    );
    let d = l.check("k", TEN_PER_MIN, t0 + 60_000).unwrap();
    assert!(d.allowed, "exactly one window later the oldest has left");
}

#[test]
fn throttled_requests_are_not_counted() {
    let l = MemoryRateLimiter::default();
    for _ in 0..10 {
        l.check("k", TEN_PER_MIN, 0).unwrap();
    }
    for t in 1..1000 {
        assert!(!l.check("k", TEN_PER_MIN, t).unwrap().allowed);
    }
    assert!(l.check("k", TEN_PER_MIN, 60_000).unwrap().allowed);
}

/// Slides in 1 ms steps over 3 windows with a request every ms, and checks that no window of
/// 60 s ever holds more than 10 accepted requests (a GCRA `per_minute(10)` admits 19).
#[test]
fn sliding_in_1ms_steps_never_exceeds_n_in_any_window() {
    let l = MemoryRateLimiter::default();
    let mut accepted = Vec::new();
    for t in 0..180_000i64 {
        if l.check("k", TEN_PER_MIN, t).unwrap().allowed {
            accepted.push(t);
        }
    }
    for (i, &t) in accepted.iter().enumerate() {
        let in_window = accepted[i..]
            .iter()
            .take_while(|&&u| u < t + 60_000)
            .count();
        assert!(in_window <= 10, "window starting at {t} holds {in_window}");
    }
    assert_eq!(accepted.len(), 30, "exactly N per window over 3 windows");
}

#[test]
fn sixteen_threads_on_one_key_never_exceed_n() {
    let l = Arc::new(MemoryRateLimiter::default());
    let limit = RateLimit {
        limit: 50,
        window_s: 60,
    };
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let l = l.clone();
            std::thread::spawn(move || {
                (0..100)
                    .filter(|_| l.check("shared", limit, 1_000).unwrap().allowed)
                    .count()
            })
        })
        .collect();
    let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, 50);
}

/// 1M distinct keys: the key count stays at the configured cap, so memory is bounded by
/// `cap * (N * 8 bytes + key + map overhead)`.
#[test]
fn a_flood_of_distinct_keys_stays_bounded() {
    let cap = 50_000;
    let l = MemoryRateLimiter::with_max_keys(cap);
    for i in 0..1_000_000u32 {
        l.check(
            &format!("ip4:{i}"),
            TEN_PER_MIN,
            1_000 + i64::from(i % 1000),
        )
        .unwrap();
    }
    let n = l.key_count();
    assert!(n <= cap + 16, "{n} keys held, cap {cap}");
    assert!(n >= cap / 2, "eviction should not empty the table ({n})");
}

#[test]
fn idle_keys_are_evicted_first() {
    let l = MemoryRateLimiter::with_max_keys(16);
    for i in 0..16 {
        l.check(&format!("old{i}"), TEN_PER_MIN, 0).unwrap();
    }
    // Everything above is idle 61 s later; new keys replace it.
    for i in 0..16 {
        l.check(&format!("new{i}"), TEN_PER_MIN, 61_000).unwrap();
    }
    assert!(l.key_count() <= 32);
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn ipv6_keyed_by_64_and_mapped_ipv4_shares_bucket() {
    assert_eq!(
        client_key_from_ip(ip("2001:db8:1:2:3:4:5:6")),
        client_key_from_ip(ip("2001:db8:1:2:ffff::1"))
    );
    assert_ne!(
        client_key_from_ip(ip("2001:db8:1:2::1")),
        client_key_from_ip(ip("2001:db8:1:3::1"))
    );
    assert_eq!(
        client_key_from_ip(ip("::ffff:1.2.3.4")),
        client_key_from_ip(ip("1.2.3.4"))
    );
}

#[test]
fn forwarded_for_is_only_trusted_for_configured_hops() {
    let peer = Some(ip("10.0.0.9"));
    // No trusted hops: spoofed XFF ignored.
    assert_eq!(client_key(peer, &["1.1.1.1"], 0), "ip4:10.0.0.9");
    // One trusted proxy: the rightmost entry is the client.
    assert_eq!(client_key(peer, &["6.6.6.6, 2.2.2.2"], 1), "ip4:2.2.2.2");
    // Lines are joined in order.
    assert_eq!(client_key(peer, &["6.6.6.6", "2.2.2.2"], 1), "ip4:2.2.2.2");
    assert_eq!(client_key(peer, &["6.6.6.6", "2.2.2.2"], 2), "ip4:6.6.6.6");
    // Too few entries, garbage, `unknown`: the peer, never the leftmost entry.
    assert_eq!(client_key(peer, &["2.2.2.2"], 2), "ip4:10.0.0.9");
    assert_eq!(client_key(peer, &["garbage"], 1), "ip4:10.0.0.9");
    assert_eq!(client_key(peer, &["unknown"], 1), "ip4:10.0.0.9");
    assert_eq!(client_key(peer, &[""], 1), "ip4:10.0.0.9");
    assert_eq!(
        client_key(peer, &["[2001:db8::1]:443"], 1),
        "ip6:2001:db8::/64"
    );
    assert_eq!(client_key(peer, &["3.3.3.3:8080"], 1), "ip4:3.3.3.3");
    // No peer: one shared bucket, never empty.
    assert_eq!(client_key(None, &[], 0), "unknown-peer");
}

#[test]
fn spoofed_xff_rotation_from_untrusted_peer_shares_one_bucket() {
    let l = MemoryRateLimiter::default();
    let peer = Some(ip("203.0.113.5"));
    let mut allowed = 0;
    for i in 0..50 {
        let spoof = format!("198.51.100.{i}");
        let key = client_key(peer, &[spoof.as_str()], 0);
        if l.check(&key, TEN_PER_MIN, 0).unwrap().allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10);
}
