//! Lifecycle values: statuses and the legal transitions, task and transition records, and
//! the typed outcomes of claims, completions and sweeps.

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

/// A task's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for a worker.
    Pending,
    /// Claimed by a worker.
    Processing,
    /// Finished with a result (terminal).
    Done,
    /// Finished with an error (terminal).
    Failed,
}

impl TaskStatus {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Processing => "processing",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
        }
    }

    /// Parses a stable name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(TaskStatus::Pending),
            "processing" => Some(TaskStatus::Processing),
            "done" => Some(TaskStatus::Done),
            "failed" => Some(TaskStatus::Failed),
            _ => None,
        }
    }

    /// Whether the status is terminal (immutable).
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Done | TaskStatus::Failed)
    }

    /// Whether `self -> to` is allowed: pending->processing, pending->failed,
    /// processing->done, processing->failed.
    pub fn can_become(self, to: TaskStatus) -> bool {
        matches!(
            (self, to),
            (TaskStatus::Pending, TaskStatus::Processing)
                | (TaskStatus::Pending, TaskStatus::Failed)
                | (TaskStatus::Processing, TaskStatus::Done)
                | (TaskStatus::Processing, TaskStatus::Failed)
        )
    }

    /// Whether `to` can follow `self` through legal transitions (one or more): what a poller
    /// may see, since it can miss a short `processing` (`pending` then `done` is reachable).
    pub fn can_reach(self, to: TaskStatus) -> bool {
        self.can_become(to)
            || [TaskStatus::Processing]
                .iter()
                .any(|mid| self.can_become(*mid) && mid.can_become(to))
    }

    /// `Ok(())` or `invalid_transition` naming both statuses.
    pub fn check_transition(self, to: TaskStatus) -> Result<(), Error> {
        if self.can_become(to) {
            Ok(())
        } else {
            Err(Error::with_detail(
                ErrorCode::InvalidTransition,
                format!("a task cannot go from {} to {}", self.as_str(), to.as_str()),
            )
            .meta("from", self.as_str())
            .meta("to", to.as_str()))
        }
    }
}

/// One task row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// Task id.
    pub id: String,
    /// Task type (`image`, `video`, ...).
    pub task_type: String,
    /// Status.
    pub status: TaskStatus,
    /// Progress 0..=100.
    pub progress: u8,
    /// Creation time (ms, database clock).
    pub created_at: i64,
    /// Last write (ms).
    pub updated_at: i64,
    /// When it entered `processing` (ms).
    pub started_at: Option<i64>,
    /// `started_at + ttl(task_type)`, fixed at claim.
    pub stale_deadline: Option<i64>,
    /// The current claim's lease.
    pub lease_id: Option<String>,
    /// Number of claims.
    pub attempt: i64,
    /// Result location (`done`).
    pub result_path: Option<String>,
    /// Error code (`failed`).
    pub error_code: Option<String>,
    /// Error message (`failed`).
    pub error_message: Option<String>,
    /// When it became terminal (ms).
    pub finished_at: Option<i64>,
    /// The last heartbeat or progress report under the current lease (ms); set at claim.
    /// Never moves the stale deadline.
    pub heartbeat_at: Option<i64>,
}

/// One row of the transitions table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRecord {
    /// Task id.
    pub task_id: String,
    /// Previous status (`None` for creation).
    pub from_status: Option<TaskStatus>,
    /// New status.
    pub to_status: TaskStatus,
    /// Why (`created`, `claimed`, `completed`, `worker_failed`, `stale_timeout`, `worker_start_timeout`).
    pub reason: String,
    /// Who (`worker:NAME`, `sweeper:ID`, `api`).
    pub actor: String,
    /// The lease involved.
    pub lease_id: Option<String>,
    /// When (ms, database clock).
    pub at: i64,
    /// TTL applied (stale transitions and claims), ms.
    pub ttl_ms: Option<i64>,
    /// Runtime since `started_at` at this transition, ms.
    pub runtime_ms: Option<i64>,
}

/// A successful claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The lease the worker must present on every later write.
    pub lease_id: String,
    /// When processing started (database clock).
    pub started_at: i64,
    /// When the task becomes stale.
    pub stale_deadline: i64,
    /// The TTL applied, ms.
    pub ttl_ms: i64,
    /// Claim number.
    pub attempt: i64,
}

/// What a worker's completion or failure report did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Completion {
    /// Applied.
    Applied {
        /// Runtime, ms.
        runtime_ms: i64,
    },
    /// The same report was already applied (idempotent repeat): nothing changed.
    Repeated,
    /// The task was already failed (e.g. stale timeout): refused, recorded, not applied.
    AlreadyFailed {
        /// The recorded failure code.
        error_code: String,
        /// How late the report came, ms: after the stale deadline for a `stale_timeout`,
        /// after the failure was recorded for any other failure.
        late_by_ms: i64,
    },
    /// The task was already done with another result: refused.
    AlreadyDone,
    /// The lease does not match the current claim: refused.
    LeaseMismatch,
    /// The task is not `processing` (e.g. still `pending`): refused.
    NotProcessing,
}

impl Completion {
    /// `Ok` for applied/repeated, `invalid_transition` (with metadata.outcome) otherwise.
    pub fn into_result(self) -> Result<Completion, Error> {
        match &self {
            Completion::Applied { .. } | Completion::Repeated => Ok(self),
            other => {
                let name = serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v["outcome"].as_str().map(str::to_owned))
                    .unwrap_or_default();
                Err(Error::with_detail(
                    ErrorCode::InvalidTransition,
                    format!("report refused: {name}"),
                )
                .meta("outcome", name))
            }
        }
    }
}

/// One task failed by a sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweptTask {
    /// Task id.
    pub task_id: String,
    /// Task type.
    pub task_type: String,
    /// `stale_timeout` or `worker_start_timeout`.
    pub reason: String,
    /// Runtime (processing) or wait (pending) at the sweep, ms.
    pub runtime_ms: i64,
    /// The TTL applied, ms.
    pub ttl_ms: i64,
}

/// What one sweep did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// The sweep's id (in every transition row and log line it wrote).
    pub sweep_id: String,
    /// The database time the sweep used, ms.
    pub swept_at: i64,
    /// Tasks failed, oldest deadline first.
    pub failed: Vec<SweptTask>,
    /// Batches run.
    pub batches: u32,
}

/// What one sweep fails, and how much per transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepPolicy {
    /// A `pending` task older than this fails as `worker_start_timeout`, ms.
    pub pending_timeout_ms: i64,
    /// A `processing` task without a heartbeat (or progress report) for this long fails as
    /// `heartbeat_timeout` before its stale deadline; `None` disables the check.
    pub heartbeat_timeout_ms: Option<i64>,
    /// Tasks failed per transaction.
    pub batch: u32,
}

impl Completion {
    /// The typed outcome when a worker's compare-and-set matched no row: decided from the row
    /// as it is now (`target` is the status the worker reported, `result_path` its result).
    pub fn for_miss(
        task: &TaskRecord,
        lease: &str,
        target: TaskStatus,
        result_path: Option<&str>,
        now: i64,
    ) -> Completion {
        match task.status {
            TaskStatus::Failed
                if target == TaskStatus::Failed
                    && task.lease_id.as_deref() == Some(lease)
                    && task.error_code.as_deref() == result_path =>
            {
                Completion::Repeated
            }
            TaskStatus::Failed => Completion::AlreadyFailed {
                error_code: task.error_code.clone().unwrap_or_default(),
                late_by_ms: match (task.error_code.as_deref(), task.stale_deadline) {
                    (Some("stale_timeout"), Some(deadline)) => now - deadline,
                    _ => task.finished_at.map_or(0, |f| now - f),
                },
            },
            TaskStatus::Done
                if target == TaskStatus::Done
                    && task.lease_id.as_deref() == Some(lease)
                    && task.result_path.as_deref() == result_path =>
            {
                Completion::Repeated
            }
            TaskStatus::Done => Completion::AlreadyDone,
            TaskStatus::Processing => Completion::LeaseMismatch,
            TaskStatus::Pending => Completion::NotProcessing,
        }
    }
}

/// A fresh random lease id (128 bits, hex).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub fn new_lease() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| {
        Error::with_detail(
            ErrorCode::DependencyUnavailable,
            "the OS random number generator failed",
        )
    })?;
    Ok(crate::hex::encode(&b))
}
