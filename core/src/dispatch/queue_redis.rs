//! The degraded queue's leases in Redis, shared by several API replicas: a sorted set of
//! slot ids scored by expiry, a hash of admission times and a set of started ids, each
//! operation one Lua script (reap expired leases, then act), so admission stays atomic
//! across processes and a dead holder's slot expires on its own. Time is the Redis server's
//! `TIME` by default (one clock for every replica) or the caller's (deterministic tests).

use super::queue::{Admission, BackendCounts, QueueBackend};
use crate::error::Error;
use crate::ratelimit::RedisTime;
use crate::redis_conn::LazyConnection;

/// Shared prologue: `now` from the server or ARGV[1]; expired leases removed and counted.
/// KEYS: 1 leases (zset id -> expiry), 2 admitted (hash id -> ms), 3 started (set),
/// 4 counters (hash: seq, overloads, expired).
const PROLOGUE: &str = r"
local now
if ARGV[1] == 'server' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[1])
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #gone > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('SREM', KEYS[3], unpack(gone))
  redis.call('HINCRBY', KEYS[4], 'expired', #gone)
end
";

/// ARGV: now, max_depth, max_wait_ms -> {1, id, now} | {0, depth, soonest_expiry}.
const ADMIT: &str = r"
local depth = redis.call('ZCARD', KEYS[1])
if depth >= tonumber(ARGV[2]) then
  redis.call('HINCRBY', KEYS[4], 'overloads', 1)
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local at = now + tonumber(ARGV[3])
  if soonest[2] then at = tonumber(soonest[2]) end
  return {0, depth, at}
end
local id = redis.call('HINCRBY', KEYS[4], 'seq', 1)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
redis.call('HSET', KEYS[2], id, now)
return {1, id, now}
";

/// ARGV: now, id, lease_ms -> admitted ms, or -1 when expired.
const START: &str = r"
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return -1 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[2])
redis.call('SADD', KEYS[3], ARGV[2])
return tonumber(redis.call('HGET', KEYS[2], ARGV[2]))
";

/// ARGV: now, id, lease_ms -> 1 renewed, 0 expired or never started.
const RENEW: &str = r"
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
if redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[2])
return 1
";

/// ARGV: now, id.
const RELEASE: &str = r"
redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[2])
return 1
";

/// ARGV: now -> {depth, overloads, expired}.
const COUNTS: &str = r"
local c = redis.call('HMGET', KEYS[4], 'overloads', 'expired')
return {redis.call('ZCARD', KEYS[1]), tonumber(c[1] or 0), tonumber(c[2] or 0)}
";

/// Degraded-queue leases in Redis.
pub struct RedisQueueBackend {
    conn: LazyConnection,
    keys: [String; 4],
    time: RedisTime,
    scripts: Scripts,
}

struct Scripts {
    admit: redis::Script,
    start: redis::Script,
    renew: redis::Script,
    release: redis::Script,
    counts: redis::Script,
}

impl std::fmt::Debug for RedisQueueBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RedisQueueBackend(keys={:?}, time={:?})",
            self.keys[0], self.time
        )
    }
}

impl RedisQueueBackend {
    /// Leases under keys prefixed `prefix` on `url` (`redis://host:port/db`). Connects
    /// lazily; an unparsable URL is `dependency_unavailable`.
    pub fn new(url: &str, prefix: &str, time: RedisTime) -> Result<Self, Error> {
        // One hash tag so every key of the queue lives in the same cluster slot.
        let base = format!("{prefix}{{queue}}");
        let script = |body: &str| redis::Script::new(&format!("{PROLOGUE}{body}"));
        Ok(RedisQueueBackend {
            conn: LazyConnection::new(url, "degraded queue")?,
            keys: [
                format!("{base}:leases"),
                format!("{base}:admitted"),
                format!("{base}:started"),
                format!("{base}:counters"),
            ],
            time,
            scripts: Scripts {
                admit: script(ADMIT),
                start: script(START),
                renew: script(RENEW),
                release: script(RELEASE),
                counts: script(COUNTS),
            },
        })
    }

    fn run<T: redis::FromRedisValue>(
        &self,
        script: &redis::Script,
        now_ms: i64,
        args: &[i64],
    ) -> Result<T, Error> {
        let mut invocation = script.prepare_invoke();
        for key in &self.keys {
            invocation.key(key);
        }
        match self.time {
            RedisTime::Server => invocation.arg("server"),
            RedisTime::Caller => invocation.arg(now_ms),
        };
        for a in args {
            invocation.arg(*a);
        }
        self.conn.run(|conn| invocation.invoke(conn))
    }
}

impl QueueBackend for RedisQueueBackend {
    fn admit(&self, now_ms: i64, max_depth: u32, max_wait_ms: i64) -> Result<Admission, Error> {
        let reply: Vec<i64> = self.run(
            &self.scripts.admit,
            now_ms,
            &[i64::from(max_depth), max_wait_ms],
        )?;
        match reply[..] {
            [1, id, _] => Ok(Admission::Admitted(u64::try_from(id).unwrap_or(0))),
            [0, depth, soonest] => Ok(Admission::Full {
                depth: u32::try_from(depth).unwrap_or(u32::MAX),
                soonest_expiry_ms: soonest,
            }),
            _ => Err(self.conn.error("unexpected script reply")),
        }
    }

    fn start(&self, id: u64, now_ms: i64, lease_ms: i64) -> Result<Option<i64>, Error> {
        let id = i64::try_from(id).map_err(|_| self.conn.error("slot id out of range"))?;
        let admitted: i64 = self.run(&self.scripts.start, now_ms, &[id, lease_ms])?;
        Ok((admitted >= 0).then_some(admitted))
    }

    fn renew(&self, id: u64, now_ms: i64, lease_ms: i64) -> Result<bool, Error> {
        let id = i64::try_from(id).map_err(|_| self.conn.error("slot id out of range"))?;
        let renewed: i64 = self.run(&self.scripts.renew, now_ms, &[id, lease_ms])?;
        Ok(renewed == 1)
    }

    fn release(&self, id: u64) {
        if let Ok(id) = i64::try_from(id) {
            // A failed release is reclaimed by expiry; there is nobody to report it to.
            let _ = self.run::<i64>(&self.scripts.release, 0, &[id]);
        }
    }

    fn counts(&self, now_ms: i64) -> Result<BackendCounts, Error> {
        let reply: Vec<i64> = self.run(&self.scripts.counts, now_ms, &[])?;
        match reply[..] {
            [depth, overloads, expired] => Ok(BackendCounts {
                depth: u32::try_from(depth).unwrap_or(u32::MAX),
                overloads: u64::try_from(overloads).unwrap_or(0),
                expired: u64::try_from(expired).unwrap_or(0),
            }),
            _ => Err(self.conn.error("unexpected script reply")),
        }
    }
}
