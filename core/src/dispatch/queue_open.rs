//! Opening the degraded queue's lease backend from a URL (`queue.backend`): `memory` (one
//! process) or `redis://...` (shared by several API replicas). Unknown schemes, or Redis in
//! a build without the `redis` feature, are `config_invalid`.

use std::sync::Arc;

use super::queue::{MemoryQueueBackend, QueueBackend};
use crate::error::Error;
use crate::store_url::{unknown_store, StoreUrl};

/// The key prefix of queue leases in Redis.
pub const REDIS_QUEUE_PREFIX: &str = "inferwarden:";

/// Opens the backend named by `url`. With `injected_clock` (tests, simulations) Redis takes
/// the caller's time; otherwise the Redis server's clock is the one clock of every replica.
pub fn open_queue_backend(
    url: &str,
    #[allow(unused_variables)] injected_clock: bool,
) -> Result<Arc<dyn QueueBackend>, Error> {
    match StoreUrl::parse(url) {
        Some(StoreUrl::Memory) => Ok(Arc::new(MemoryQueueBackend::default())),
        #[cfg(feature = "redis")]
        Some(StoreUrl::Redis(url)) => {
            let time = if injected_clock {
                crate::ratelimit::RedisTime::Caller
            } else {
                crate::ratelimit::RedisTime::Server
            };
            Ok(Arc::new(super::queue_redis::RedisQueueBackend::new(
                url,
                REDIS_QUEUE_PREFIX,
                time,
            )?))
        }
        #[cfg(not(feature = "redis"))]
        Some(StoreUrl::Redis(_)) => Err(crate::store_url::feature_missing("redis")),
        _ => Err(unknown_store("queue backend", "memory, redis://...")),
    }
}
