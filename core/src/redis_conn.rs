//! Lazily opened Redis connections with 2 s connect/read/write timeouts, shared by the Redis
//! backends (rate limiter, degraded queue). A caller takes an idle connection (or opens one)
//! and gives it back after its command, so callers on several threads each have their own
//! connection instead of queueing on one while it waits for its reply. At most [`MAX_IDLE`]
//! are kept idle. A failed command drops its connection and every idle one (after a Redis
//! restart they are all dead, and each would otherwise fail one more call), so the next call
//! reconnects. Every failure is `dependency_unavailable` naming the component, never the URL.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, ErrorCode};

/// The most idle connections kept for reuse (more are closed when given back).
pub(crate) const MAX_IDLE: usize = 8;

/// A Redis client with a small pool of open connections.
pub(crate) struct LazyConnection {
    client: redis::Client,
    idle: Mutex<Vec<redis::Connection>>,
    component: &'static str,
}

impl LazyConnection {
    /// A client for `url` whose errors name `component` (`rate limiter`, `degraded queue`).
    pub(crate) fn new(url: &str, component: &'static str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|_| unavailable(component, "invalid URL"))?;
        Ok(LazyConnection {
            client,
            idle: Mutex::new(Vec::new()),
            component,
        })
    }

    /// `dependency_unavailable` for this component.
    pub(crate) fn error(&self, what: &str) -> Error {
        unavailable(self.component, what)
    }

    fn connect(&self) -> Result<redis::Connection, Error> {
        let timeout = Some(Duration::from_secs(2));
        let conn = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
            .map_err(|_| self.error("cannot connect"))?;
        conn.set_read_timeout(timeout)
            .map_err(|_| self.error("cannot configure"))?;
        conn.set_write_timeout(timeout)
            .map_err(|_| self.error("cannot configure"))?;
        Ok(conn)
    }

    /// Runs `f` on an idle connection (one is opened when none is idle); the lock is held
    /// only to take and give back, never across the command. A Redis error drops the
    /// connection and the idle ones.
    pub(crate) fn run<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        let taken = self
            .idle
            .lock()
            .map_err(|_| self.error("lock poisoned"))?
            .pop();
        let mut conn = match taken {
            Some(conn) => conn,
            None => self.connect()?,
        };
        match f(&mut conn) {
            Ok(out) => {
                if let Ok(mut idle) = self.idle.lock() {
                    if idle.len() < MAX_IDLE {
                        idle.push(conn);
                    }
                }
                Ok(out)
            }
            Err(_) => {
                if let Ok(mut idle) = self.idle.lock() {
                    idle.clear();
                }
                Err(self.error("command failed"))
            }
        }
    }
}

fn unavailable(component: &str, what: &str) -> Error {
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        format!("{component} (redis): {what}"),
    )
}
