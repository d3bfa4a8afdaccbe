//! Task lifecycle and the exactly-once typed stale sweep (REQUIREMENTS section 7).
//!
//! Every write is a compare-and-set: the decision IS the `WHERE` clause (`status =
//! 'processing' AND lease_id = ?`, `stale_deadline < now`), so a sweeper and a worker racing
//! on one task can never both win, and a late `done` can never reopen a failed task. Every
//! transition writes a row in a transitions table in the same transaction; a unique index
//! allows one terminal row per task, and database triggers refuse illegal transitions even
//! from raw SQL. Times are integer milliseconds from the DATABASE clock (a manual clock can
//! be injected for tests); a NULL or implausible reading aborts the operation.

mod iso_time;
mod model;
#[cfg(feature = "postgres")]
mod postgres_store;
mod service;
#[cfg(feature = "sqlite")]
mod sqlite_store;
mod store;

pub use iso_time::parse_iso8601_ms;
pub use model::{
    Claim, Completion, SweepPolicy, SweepReport, SweptTask, TaskRecord, TaskStatus,
    TransitionRecord,
};
#[cfg(feature = "postgres")]
pub use postgres_store::PostgresTaskStore;
pub use service::Lifecycle;
#[cfg(feature = "sqlite")]
pub use sqlite_store::{ImportReport, SqliteTaskStore};
pub use store::{check_clock_reading, open_task_store, TaskStore, TimeSource};
