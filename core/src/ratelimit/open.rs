//! Opening a rate limiter from a URL: `memory`, `allow-all` (explicit opt-out), or
//! `redis://host:port/db` (server time, keys prefixed `inferwarden:rl:`).

use std::sync::Arc;

use super::memory::MemoryRateLimiter;
use super::{AllowAllRateLimiter, RateLimiter};
use crate::error::{Error, ErrorCode};

/// Opens the limiter named by `url`; unknown schemes or a compiled-out backend are
/// `config_invalid`.
pub fn open_rate_limiter(url: &str) -> Result<Arc<dyn RateLimiter>, Error> {
    match url.trim() {
        "memory" => Ok(Arc::new(MemoryRateLimiter::default())),
        "allow-all" => Ok(Arc::new(AllowAllRateLimiter)),
        u if u.starts_with("redis://") || u.starts_with("rediss://") => {
            #[cfg(feature = "redis")]
            {
                Ok(Arc::new(super::redis_backend::RedisRateLimiter::new(
                    u,
                    "inferwarden:rl:",
                    super::redis_backend::RedisTime::Server,
                )?))
            }
            #[cfg(not(feature = "redis"))]
            {
                Err(Error::with_detail(
                    ErrorCode::ConfigInvalid,
                    "this build has no `redis` feature",
                ))
            }
        }
        _ => Err(Error::with_detail(
            ErrorCode::ConfigInvalid,
            "unknown rate limiter (memory, allow-all, redis://...)",
        )),
    }
}
