//! One lazily opened Redis connection with 2 s connect/read/write timeouts, shared by the
//! Redis backends (rate limiter, degraded queue): a failed command drops the connection so
//! the next call reconnects, and every failure is `dependency_unavailable` naming the
//! component, never the URL.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, ErrorCode};

/// A Redis client with at most one open connection.
pub(crate) struct LazyConnection {
    client: redis::Client,
    conn: Mutex<Option<redis::Connection>>,
    component: &'static str,
}

impl LazyConnection {
    /// A client for `url` whose errors name `component` (`rate limiter`, `degraded queue`).
    pub(crate) fn new(url: &str, component: &'static str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|_| unavailable(component, "invalid URL"))?;
        Ok(LazyConnection {
            client,
            conn: Mutex::new(None),
            component,
        })
    }

    /// `dependency_unavailable` for this component.
    pub(crate) fn error(&self, what: &str) -> Error {
        unavailable(self.component, what)
    }

    /// Runs `f` on the connection (opened first if needed); a Redis error drops it.
    pub(crate) fn run<T>(
        &self,
        f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, Error> {
        let mut guard = self.conn.lock().map_err(|_| self.error("lock poisoned"))?;
        if guard.is_none() {
            let timeout = Some(Duration::from_secs(2));
            let conn = self
                .client
                .get_connection_with_timeout(Duration::from_secs(2))
                .map_err(|_| self.error("cannot connect"))?;
            conn.set_read_timeout(timeout)
                .map_err(|_| self.error("cannot configure"))?;
            conn.set_write_timeout(timeout)
                .map_err(|_| self.error("cannot configure"))?;
            *guard = Some(conn);
        }
        let conn = guard.as_mut().ok_or_else(|| self.error("no connection"))?;
        f(conn).map_err(|_| {
            // Drop the connection so the next call reconnects.
            *guard = None;
            self.error("command failed")
        })
    }
}

fn unavailable(component: &str, what: &str) -> Error {
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        format!("{component} (redis): {what}"),
    )
}
