//! The task store trait, the clock seam, and opening a store from a URL.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use super::model::SweptTask;
use super::model::{Claim, Completion, SweepPolicy, SweepReport, TaskRecord, TransitionRecord};
use crate::clock::Clock;
use crate::error::{Error, ErrorCode};
use crate::store_url::{unknown_store, StoreUrl};

/// The task columns every store reads, in [`TaskRecord`]'s order (both dialects decode rows
/// by these positions).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) const TASK_COLUMNS: &str = "id, task_type, status, progress, created_at, updated_at, started_at, stale_deadline, lease_id, attempt, result_path, error_code, error_message, finished_at, heartbeat_at";

/// `done` needs a result path (checked before any store is touched, the same for every
/// store; the database's guard refuses a missing one too).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn check_done_args(result_path: &str) -> Result<(), Error> {
    if result_path.trim().is_empty() {
        return Err(Error::with_detail(
            ErrorCode::InvalidTransition,
            "done requires a result path",
        ));
    }
    Ok(())
}

/// `failed` needs an error code and a message.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn check_failed_args(code: &str, message: &str) -> Result<(), Error> {
    if code.trim().is_empty() || message.trim().is_empty() {
        return Err(Error::with_detail(
            ErrorCode::InvalidTransition,
            "failed requires an error code and message",
        ));
    }
    Ok(())
}

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

/// The window a sweep pass applies at `now`: `(cutoff, limit_ms)`, or `None` when the
/// policy disables that pass. Pass reasons: `stale_timeout` (cutoff = now; the limit is the
/// task's own TTL), `heartbeat_timeout`, `worker_start_timeout`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn pass_window(reason: &str, policy: &SweepPolicy, now: i64) -> Option<(i64, i64)> {
    match reason {
        "stale_timeout" => Some((now, 0)),
        "heartbeat_timeout" => policy.heartbeat_timeout_ms.map(|t| (now - t, t)),
        _ => Some((now - policy.pending_timeout_ms, policy.pending_timeout_ms)),
    }
}

/// What one sweep batch did: the database time it used, what it failed and, when it came
/// back full, whether its transaction still saw candidates left (so a sweep whose last batch
/// is exactly full does not spend a transaction finding nothing).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) struct BatchOutcome {
    pub(crate) swept_at: i64,
    pub(crate) failed: Vec<SweptTask>,
    pub(crate) more: bool,
}

/// The batch loop every store shares: `one_batch(actor, batch)` runs ONE transaction that
/// fails at most `batch` tasks; batches continue while they come back full with candidates
/// left (at most 10,000 batches per sweep).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn sweep_in_batches(
    sweep_id: &str,
    policy: &SweepPolicy,
    mut one_batch: impl FnMut(&str, u32) -> Result<BatchOutcome, Error>,
) -> Result<SweepReport, Error> {
    let actor = format!("sweeper:{sweep_id}");
    let batch = policy.batch.max(1);
    let mut report = SweepReport {
        sweep_id: sweep_id.to_owned(),
        swept_at: 0,
        failed: Vec::new(),
        batches: 0,
    };
    loop {
        let outcome = one_batch(&actor, batch)?;
        report.swept_at = outcome.swept_at;
        report.batches += 1;
        let full = outcome.failed.len() as u32 >= batch;
        report.failed.extend(outcome.failed);
        if !full || !outcome.more || report.batches >= 10_000 {
            return Ok(report);
        }
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
    match StoreUrl::parse(url) {
        #[cfg(feature = "sqlite")]
        Some(StoreUrl::Sqlite(path)) => Ok(Arc::new(super::sqlite_store::SqliteTaskStore::open(
            path, time,
        )?)),
        #[cfg(not(feature = "sqlite"))]
        Some(StoreUrl::Sqlite(_)) => Err(crate::store_url::feature_missing("sqlite")),
        #[cfg(feature = "postgres")]
        Some(StoreUrl::Postgres(url)) => Ok(Arc::new(
            super::postgres_store::PostgresTaskStore::connect(url, time)?,
        )),
        #[cfg(not(feature = "postgres"))]
        Some(StoreUrl::Postgres(_)) => Err(crate::store_url::feature_missing("postgres")),
        _ => Err(unknown_store("task store", "sqlite:PATH, postgres://...")),
    }
}
