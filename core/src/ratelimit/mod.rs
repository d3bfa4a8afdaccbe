//! Rate limiting for the auth and admin surfaces (REQUIREMENTS section 4).
//!
//! Semantics: "N per W" means AT MOST N accepted requests in ANY window of length W (an exact
//! sliding window log), not a token bucket. A throttled request is not counted; every
//! accepted one is, whether or not it then passes authentication. `Retry-After` is the time
//! until the oldest counted request leaves the window, rounded up to whole seconds.
//!
//! Backends implement [`RateLimiter`]; the gate does not know which one it uses:
//! [`MemoryRateLimiter`] (sharded, bounded memory) and, with the `redis` feature, a Redis
//! backend whose check is one atomic server-side script so several API replicas share limits.

mod client_key;
mod memory;
mod open;
#[cfg(feature = "redis")]
mod redis_backend;

pub use client_key::{client_key, client_key_from_ip};
pub use memory::MemoryRateLimiter;
pub use open::open_rate_limiter;
#[cfg(feature = "redis")]
pub use redis_backend::{RedisRateLimiter, RedisTime};

use std::fmt::Debug;

use crate::config::RateLimit;
use crate::error::{Error, ErrorCode};

/// The answer of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request is accepted (and was counted).
    pub allowed: bool,
    /// The policy's limit.
    pub limit: u32,
    /// Requests left in the current window after this one.
    pub remaining: u32,
    /// Milliseconds until a request would be accepted again (0 when allowed).
    pub retry_after_ms: u64,
    /// Milliseconds until the window holds no counted request.
    pub reset_ms: u64,
    /// The policy's window, milliseconds.
    pub window_ms: u64,
}

impl RateDecision {
    /// `Retry-After` in whole seconds (rounded up, at least 1 when throttled).
    pub fn retry_after_seconds(&self) -> u64 {
        if self.allowed {
            0
        } else {
            self.retry_after_ms.div_ceil(1000).max(1)
        }
    }

    /// The draft IETF `RateLimit` and `RateLimit-Policy` headers (and `Retry-After` when
    /// throttled), for the response.
    pub fn headers(&self, policy_name: &str) -> Vec<(String, String)> {
        let window_s = self.window_ms.div_ceil(1000);
        let mut h = vec![
            (
                "RateLimit-Policy".to_owned(),
                format!("\"{policy_name}\";q={};w={window_s}", self.limit),
            ),
            (
                "RateLimit".to_owned(),
                format!(
                    "\"{policy_name}\";r={};t={}",
                    self.remaining,
                    self.reset_ms.div_ceil(1000)
                ),
            ),
        ];
        if !self.allowed {
            h.push((
                "Retry-After".to_owned(),
                self.retry_after_seconds().to_string(),
            ));
        }
        h
    }

    /// The `rate_limited` error for a throttled decision.
    pub fn to_error(&self) -> Error {
        Error::new(ErrorCode::RateLimited)
            .meta("retry_after_seconds", self.retry_after_seconds())
            .meta("limit", self.limit)
            .meta("window_seconds", self.window_ms.div_ceil(1000))
    }
}

/// What a backend does when it cannot reach its store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutagePolicy {
    /// Refuse the request (`dependency_unavailable`). The default for admin routes.
    FailClosed,
    /// Accept the request and report the outage (an audit event by the caller).
    FailOpen,
}

/// A rate limiter backend.
pub trait RateLimiter: Send + Sync + Debug {
    /// Checks (and on acceptance counts) one request for `key` under `limit` at `now_ms`.
    /// Errors are `dependency_unavailable` (store unreachable).
    fn check(&self, key: &str, limit: RateLimit, now_ms: i64) -> Result<RateDecision, Error>;

    /// Whether `check` may wait on I/O (a network or disk store). An in-process limiter
    /// answers `false`, so callers on an event loop can decide inline without a thread hop.
    fn may_block(&self) -> bool {
        true
    }
}

/// A limiter that accepts everything (tests of other gate stages, or a deliberate opt-out).
#[derive(Debug, Clone, Copy, Default)]
pub struct AllowAllRateLimiter;

impl RateLimiter for AllowAllRateLimiter {
    fn check(&self, _key: &str, limit: RateLimit, _now_ms: i64) -> Result<RateDecision, Error> {
        Ok(RateDecision {
            allowed: true,
            limit: limit.limit,
            remaining: limit.limit,
            retry_after_ms: 0,
            reset_ms: 0,
            window_ms: limit.window_s.saturating_mul(1000),
        })
    }

    fn may_block(&self) -> bool {
        false
    }
}
