//! The Redis backend: the same exact sliding-window semantics as the in-memory limiter, in one
//! atomic Lua script over a sorted set per key, so several API processes share one limit.
//! Time comes from the Redis server (`TIME`) by default, so replicas with skewed clocks still
//! agree; tests may pass the caller's clock instead. A connection failure is
//! `dependency_unavailable`; the gate applies its outage policy (fail closed by default).

use super::{RateDecision, RateLimiter};
use crate::config::RateLimit;
use crate::error::Error;
use crate::redis_conn::LazyConnection;

const SCRIPT: &str = r"
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now
if ARGV[3] == 'server' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[3])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  local seq = redis.call('INCR', KEYS[2])
  redis.call('ZADD', KEYS[1], now, now .. '-' .. seq)
  redis.call('PEXPIRE', KEYS[1], window)
  redis.call('PEXPIRE', KEYS[2], window)
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {1, limit - count - 1, 0, tonumber(oldest[2]) + window - now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
return {0, 0, tonumber(oldest[2]) + window - now, tonumber(newest[2]) + window - now}
";

/// Whose clock the Redis limiter uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedisTime {
    /// The Redis server's `TIME` (one clock for every replica). The default.
    Server,
    /// The `now_ms` the caller passes (deterministic tests).
    Caller,
}

/// A rate limiter backed by Redis.
pub struct RedisRateLimiter {
    conn: LazyConnection,
    script: redis::Script,
    time: RedisTime,
    prefix: String,
}

impl std::fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RedisRateLimiter(prefix={:?}, time={:?})",
            self.prefix, self.time
        )
    }
}

impl RedisRateLimiter {
    /// A limiter on `url` (`redis://host:port/db`); keys are prefixed with `prefix`.
    /// Connects lazily; an unparsable URL is `dependency_unavailable`.
    pub fn new(url: &str, prefix: &str, time: RedisTime) -> Result<Self, Error> {
        Ok(RedisRateLimiter {
            conn: LazyConnection::new(url, "rate limiter")?,
            script: redis::Script::new(SCRIPT),
            time,
            prefix: prefix.to_owned(),
        })
    }
}

impl RateLimiter for RedisRateLimiter {
    fn check(&self, key: &str, limit: RateLimit, now_ms: i64) -> Result<RateDecision, Error> {
        let window_ms = limit.window_s.saturating_mul(1000);
        // One hash tag per key so both keys live in the same cluster slot.
        let zset = format!("{}{{{}}}", self.prefix, key);
        let seq = format!("{zset}:seq");
        let now_arg = match self.time {
            RedisTime::Server => "server".to_owned(),
            RedisTime::Caller => now_ms.to_string(),
        };
        let values: Vec<i64> = self.conn.run(|conn| {
            self.script
                .key(&zset)
                .key(&seq)
                .arg(limit.limit)
                .arg(window_ms)
                .arg(&now_arg)
                .invoke(conn)
        })?;
        if values.len() != 4 {
            return Err(self.conn.error("unexpected script reply"));
        }
        let clamp = |v: i64| u64::try_from(v.max(0)).unwrap_or(0);
        Ok(RateDecision {
            allowed: values[0] == 1,
            limit: limit.limit,
            remaining: u32::try_from(values[1].max(0)).unwrap_or(0),
            retry_after_ms: if values[0] == 1 {
                0
            } else {
                clamp(values[2]).max(1)
            },
            reset_ms: clamp(values[3]),
            window_ms,
        })
    }
}
