//! The task store trait, the clock seam, and opening a store from a URL.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use super::model::{Claim, Completion, SweepPolicy, SweepReport, TaskRecord, TransitionRecord};
use crate::clock::Clock;
use crate::error::{Error, ErrorCode};

/// Where a store reads "now" from.
#[derive(Debug, Clone)]
pub enum TimeSource {
    /// The database server's clock (production).
    Database,
    /// An injected clock (deterministic tests).
    Injected(Arc<dyn Clock>),
}

/// Readings before 2001-09-09 or after 2100-01-01 are implausible: the sweep aborts rather
/// than reporting "0 stale" or failing everything.
pub fn check_clock_reading(now: Option<i64>) -> Result<i64, Error> {
    match now {
        Some(ms) if (1_000_000_000_000..4_102_444_800_000).contains(&ms) => Ok(ms),
        _ => Err(Error::with_detail(
            ErrorCode::DependencyUnavailable,
            "the database clock reading is missing or implausible",
        )),
    }
}

/// A lifecycle store. Every method runs in one transaction; errors are
/// `dependency_unavailable` (store), `task_not_found`, `invalid_transition` or
/// `validation_error` (unknown task type at claim).
pub trait TaskStore: Send + Sync + Debug {
    /// Creates a `pending` task.
    fn create(&self, id: &str, task_type: &str, actor: &str) -> Result<TaskRecord, Error>;
    /// `pending -> processing` with a new lease; the TTL is resolved from `ttls` for the
    /// task's type (unknown types are refused).
    fn claim(&self, id: &str, ttls: &BTreeMap<String, i64>, actor: &str) -> Result<Claim, Error>;
    /// Progress 0..=100 under the current lease (also a heartbeat); never extends the
    /// deadline and never lowers the recorded progress.
    fn report_progress(&self, id: &str, lease_id: &str, progress: u8) -> Result<Completion, Error>;
    /// `processing -> done` under the current lease.
    fn complete(
        &self,
        id: &str,
        lease_id: &str,
        result_path: &str,
        actor: &str,
    ) -> Result<Completion, Error>;
    /// `processing -> failed` under the current lease.
    fn fail(
        &self,
        id: &str,
        lease_id: &str,
        code: &str,
        message: &str,
        actor: &str,
    ) -> Result<Completion, Error>;
    /// Fails stale `processing` tasks (deadline passed), `processing` tasks whose heartbeat
    /// stopped (when the policy sets a heartbeat timeout) and `pending` tasks not claimed in
    /// time, in batches, each exactly once.
    fn sweep(&self, sweep_id: &str, policy: &SweepPolicy) -> Result<SweepReport, Error>;
    /// Reads a task.
    fn get(&self, id: &str) -> Result<Option<TaskRecord>, Error>;
    /// Every transition of a task, oldest first.
    fn transitions(&self, id: &str) -> Result<Vec<TransitionRecord>, Error>;
    /// The store's current time, ms.
    fn now_ms(&self) -> Result<i64, Error>;
}

/// Opens `sqlite:PATH` (or `postgres://...`) reading time from `time`.
pub fn open_task_store(url: &str, time: TimeSource) -> Result<Arc<dyn TaskStore>, Error> {
    #[cfg(not(any(feature = "sqlite", feature = "postgres")))]
    let _ = &time;
    let url = url.trim();
    if let Some(path) = url.strip_prefix("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            return Ok(Arc::new(super::sqlite_store::SqliteTaskStore::open(
                path.strip_prefix("//").unwrap_or(path),
                time,
            )?));
        }
        #[cfg(not(feature = "sqlite"))]
        {
            let _ = path;
            return Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                "this build has no `sqlite` feature",
            ));
        }
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            return Ok(Arc::new(super::postgres_store::PostgresTaskStore::connect(
                url, time,
            )?));
        }
        #[cfg(not(feature = "postgres"))]
        {
            return Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                "this build has no `postgres` feature",
            ));
        }
    }
    Err(Error::with_detail(
        ErrorCode::ConfigInvalid,
        "unknown task store (sqlite:PATH, postgres://...)",
    ))
}
