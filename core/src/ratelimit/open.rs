//! Opening a rate limiter from a URL: `memory`, `allow-all` (explicit opt-out), or
//! `redis://host:port/db` (server time, keys prefixed `inferwarden:rl:`).

use std::sync::Arc;

use super::memory::MemoryRateLimiter;
use super::{AllowAllRateLimiter, RateLimiter};
use crate::error::Error;
use crate::store_url::{unknown_store, StoreUrl};

/// Opens the limiter named by `url`; unknown schemes or a compiled-out backend are
/// `config_invalid`.
pub fn open_rate_limiter(url: &str) -> Result<Arc<dyn RateLimiter>, Error> {
    match StoreUrl::parse(url) {
        Some(StoreUrl::Memory) => Ok(Arc::new(MemoryRateLimiter::default())),
        Some(StoreUrl::AllowAll) => Ok(Arc::new(AllowAllRateLimiter)),
        #[cfg(feature = "redis")]
        Some(StoreUrl::Redis(u)) => Ok(Arc::new(super::redis_backend::RedisRateLimiter::new(
            u,
            "inferwarden:rl:",
            super::redis_backend::RedisTime::Server,
        )?)),
        #[cfg(not(feature = "redis"))]
        Some(StoreUrl::Redis(_)) => Err(crate::store_url::feature_missing("redis")),
        _ => Err(unknown_store(
            "rate limiter",
            "memory, allow-all, redis://...",
        )),
    }
}
