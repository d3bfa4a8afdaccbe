//! The in-memory exact sliding-window limiter: sharded, at most N timestamps per key, idle
//! keys evicted, and a hard cap on the number of keys so a flood of distinct keys has a stated
//! memory bound (`max_keys * (limit * 8 + key bytes + overhead)`).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use super::{RateDecision, RateLimiter};
use crate::config::RateLimit;
use crate::error::{Error, ErrorCode};

const SHARDS: usize = 16;

#[derive(Debug)]
struct Entry {
    /// Accepted request times, oldest first; never more than the limit.
    times: VecDeque<i64>,
    /// The window this entry was last checked with (for idle eviction).
    window_ms: i64,
}

#[derive(Debug, Default)]
struct Shard {
    entries: HashMap<Box<str>, Entry>,
}

impl Shard {
    /// Drops keys whose newest accepted request has left its window.
    fn evict_idle(&mut self, now_ms: i64) {
        self.entries
            .retain(|_, e| e.times.back().is_some_and(|t| t + e.window_ms > now_ms));
    }

    /// Drops the least recently accepted keys until at most `cap` remain.
    fn evict_oldest(&mut self, cap: usize) {
        if self.entries.len() <= cap {
            return;
        }
        let mut newest: Vec<(i64, Box<str>)> = self
            .entries
            .iter()
            .map(|(k, e)| (e.times.back().copied().unwrap_or(i64::MIN), k.clone()))
            .collect();
        newest.sort_unstable();
        let excess = self.entries.len() - cap;
        for (_, k) in newest.into_iter().take(excess) {
            self.entries.remove(&k);
        }
    }
}

/// The in-memory backend (one process). Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct MemoryRateLimiter {
    shards: Vec<Mutex<Shard>>,
    max_keys_per_shard: usize,
}

impl Default for MemoryRateLimiter {
    fn default() -> Self {
        Self::with_max_keys(100_000)
    }
}

impl MemoryRateLimiter {
    /// A limiter holding at most about `max_keys` keys in total.
    pub fn with_max_keys(max_keys: usize) -> Self {
        MemoryRateLimiter {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            max_keys_per_shard: max_keys.div_ceil(SHARDS).max(1),
        }
    }

    /// Number of keys currently held.
    pub fn key_count(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.entries.len()).unwrap_or(0))
            .sum()
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[(h.finish() as usize) % SHARDS]
    }
}

impl RateLimiter for MemoryRateLimiter {
    fn may_block(&self) -> bool {
        false
    }

    fn check(&self, key: &str, limit: RateLimit, now_ms: i64) -> Result<RateDecision, Error> {
        let window_ms = i64::try_from(limit.window_s.saturating_mul(1000)).unwrap_or(i64::MAX);
        let cap = limit.limit as usize;
        let mut shard = self.shard(key).lock().map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "rate limiter state poisoned",
            )
        })?;
        if !shard.entries.contains_key(key) {
            if shard.entries.len() >= self.max_keys_per_shard {
                shard.evict_idle(now_ms);
                // Still full of live keys: drop the least recently used eighth at once, so
                // the cost of eviction is amortised over many insertions.
                if shard.entries.len() >= self.max_keys_per_shard {
                    let keep = self.max_keys_per_shard - self.max_keys_per_shard.div_ceil(8);
                    shard.evict_oldest(keep);
                }
            }
            // The key is copied only when it is new (a known key costs no allocation).
            shard.entries.insert(
                Box::from(key),
                Entry {
                    times: VecDeque::with_capacity(cap.min(16)),
                    window_ms,
                },
            );
        }
        let Some(entry) = shard.entries.get_mut(key) else {
            return Err(Error::with_detail(
                ErrorCode::InternalError,
                "rate limiter entry missing after insertion",
            ));
        };
        entry.window_ms = window_ms;
        // A request at time t is counted while t + window > now.
        while entry.times.front().is_some_and(|t| t + window_ms <= now_ms) {
            entry.times.pop_front();
        }
        while entry.times.len() > cap {
            entry.times.pop_front();
        }
        let window_u = window_ms as u64;
        if entry.times.len() < cap {
            entry.times.push_back(now_ms);
            let oldest = entry.times.front().copied().unwrap_or(now_ms);
            Ok(RateDecision {
                allowed: true,
                limit: limit.limit,
                remaining: (cap - entry.times.len()) as u32,
                retry_after_ms: 0,
                reset_ms: (oldest + window_ms - now_ms).max(0) as u64,
                window_ms: window_u,
            })
        } else {
            let oldest = entry.times.front().copied().unwrap_or(now_ms);
            let newest = entry.times.back().copied().unwrap_or(now_ms);
            Ok(RateDecision {
                allowed: false,
                limit: limit.limit,
                remaining: 0,
                retry_after_ms: (oldest + window_ms - now_ms).max(1) as u64,
                reset_ms: (newest + window_ms - now_ms).max(0) as u64,
                window_ms: window_u,
            })
        }
    }
}
