//! SQLite task store (the embedded default): WAL, `BEGIN IMMEDIATE` with a busy timeout,
//! compare-and-set writes, a partial index on the stale deadline so an idle sweep costs
//! O(stale) not O(all), and triggers that refuse illegal transitions even from raw SQL.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::iso_time;
use super::model::{
    new_lease, Claim, Completion, SweepPolicy, SweepReport, SweptTask, TaskRecord, TaskStatus,
    TransitionRecord,
};
use super::store::{
    check_clock_reading, check_done_args, check_failed_args, pass_window, sweep_in_batches,
    BatchOutcome, TaskStore, TimeSource, TASK_COLUMNS,
};
use crate::error::{Error, ErrorCode};
use crate::sqlite_error::{classify, SqliteFailure};

/// The schema; `CREATE ... IF NOT EXISTS` makes it its own migration (version 1).
pub const SQLITE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS iw_tasks (
    id TEXT PRIMARY KEY NOT NULL,
    task_type TEXT NOT NULL,
    -- Written as ORs, not `IN (...)`: SQLite builds an ephemeral table for an IN list in a
    -- CHECK on every row an UPDATE writes (12% of a 1,000-task sweep).
    status TEXT NOT NULL CHECK (status = 'pending' OR status = 'processing' OR status = 'done' OR status = 'failed'),
    progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    stale_deadline INTEGER,
    lease_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    result_path TEXT,
    error_code TEXT,
    error_message TEXT,
    finished_at INTEGER,
    heartbeat_at INTEGER
);
CREATE INDEX IF NOT EXISTS iw_tasks_stale ON iw_tasks (stale_deadline) WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS iw_tasks_pending ON iw_tasks (created_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS iw_task_transitions (
    -- Rows are never deleted, so the rowid alone is monotonic (no AUTOINCREMENT bookkeeping).
    seq INTEGER PRIMARY KEY,
    task_id TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    lease_id TEXT,
    at INTEGER NOT NULL,
    ttl_ms INTEGER,
    runtime_ms INTEGER
);
-- One index serves a task's history (by task_id) and allows one terminal row per task: a
-- terminal row's key is (task_id, 1), so a second one collides; any other row's is
-- (task_id, NULL), and NULLs never collide. (Schema version 4; before it, two indexes did
-- these two jobs and each transition row paid for both.)
CREATE UNIQUE INDEX IF NOT EXISTS iw_task_transitions_by_task
    ON iw_task_transitions (task_id, (CASE WHEN to_status = 'done' OR to_status = 'failed' THEN 1 END));
CREATE TRIGGER IF NOT EXISTS iw_tasks_insert_pending BEFORE INSERT ON iw_tasks
    WHEN NEW.status <> 'pending'
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: tasks start pending'); END;
";

/// The guards on updates (schema version 5), created by [`migrate`]. They run AFTER the row
/// is written: `RAISE(ABORT)` backs the whole statement out either way, and an AFTER trigger
/// spares SQLite re-reading the row a BEFORE trigger could have changed (3.6 % of a
/// 1,000-task sweep's instructions). Versions 1 to 4 had the same three as BEFORE triggers.
const SQLITE_GUARD_TRIGGERS: &str = "
CREATE TRIGGER IF NOT EXISTS iw_tasks_terminal_immutable AFTER UPDATE ON iw_tasks
    WHEN OLD.status IN ('done', 'failed')
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: terminal tasks are immutable'); END;
CREATE TRIGGER IF NOT EXISTS iw_tasks_legal_transition AFTER UPDATE OF status ON iw_tasks
    WHEN OLD.status <> NEW.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('processing', 'failed'))
        OR (OLD.status = 'processing' AND NEW.status IN ('done', 'failed')))
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: illegal status change'); END;
CREATE TRIGGER IF NOT EXISTS iw_tasks_terminal_fields AFTER UPDATE OF status ON iw_tasks
    WHEN (NEW.status = 'done' AND NEW.result_path IS NULL)
      OR (NEW.status = 'failed' AND (NEW.error_code IS NULL OR NEW.error_message IS NULL))
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: done needs a result path, failed an error'); END;
";

/// Upgrades from schema version 1 (no heartbeat column), after [`SQLITE_SCHEMA`].
const SQLITE_HEARTBEAT_INDEX: &str = "CREATE INDEX IF NOT EXISTS iw_tasks_heartbeat ON iw_tasks (heartbeat_at) WHERE status = 'processing'";

fn db_err(e: rusqlite::Error) -> Error {
    match classify(&e) {
        // A guard trigger's RAISE, or a second terminal transition row for a task (refused
        // by iw_task_transitions_by_task, or by the index an older build sharing the
        // database during a rolling upgrade recreates). Those indexes are the only unique
        // keys a write can hit: a task's id is inserted with ON CONFLICT DO NOTHING.
        SqliteFailure::Guard | SqliteFailure::Duplicate => Error::with_detail(
            ErrorCode::InvalidTransition,
            "the database refused an illegal transition",
        )
        .with_cause(e),
        // A row that does not decode (an unknown status, a wrong column type) is corrupt
        // data, reported as such: never read as some other state.
        _ => crate::sqlite_error::unavailable("task store (sqlite)", e),
    }
}

/// A status name read back from a row; an unknown one is a decoding failure (reported as a
/// corrupt row by `db_err`), never read as some other state.
fn status_of(name: &str) -> rusqlite::Result<TaskStatus> {
    TaskStatus::from_name(name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Text,
            format!("unknown task status {name:?}").into(),
        )
    })
}

fn row_to_task(row: &Row<'_>) -> rusqlite::Result<TaskRecord> {
    let status: String = row.get(2)?;
    Ok(TaskRecord {
        id: row.get(0)?,
        task_type: row.get(1)?,
        status: status_of(&status)?,
        progress: row.get::<_, i64>(3)?.clamp(0, 100) as u8,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
        started_at: row.get(6)?,
        stale_deadline: row.get(7)?,
        lease_id: row.get(8)?,
        attempt: row.get(9)?,
        result_path: row.get(10)?,
        error_code: row.get(11)?,
        error_message: row.get(12)?,
        finished_at: row.get(13)?,
        heartbeat_at: row.get(14)?,
    })
}

/// A task store in one SQLite file.
#[derive(Debug)]
pub struct SqliteTaskStore {
    conn: Mutex<Connection>,
    time: TimeSource,
}

#[allow(clippy::too_many_arguments)]
fn insert_transition(
    tx: &Transaction<'_>,
    task_id: &str,
    from: Option<TaskStatus>,
    to: TaskStatus,
    reason: &str,
    actor: &str,
    lease: Option<&str>,
    at: i64,
    ttl_ms: Option<i64>,
    runtime_ms: Option<i64>,
) -> Result<(), Error> {
    // Cached: a sweep writes one row per failed task in the same transaction.
    tx.prepare_cached(
        "INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut stmt| stmt.execute(params![task_id, from.map(TaskStatus::as_str), to.as_str(), reason, actor, lease, at, ttl_ms, runtime_ms]))
    .map_err(db_err)?;
    Ok(())
}

/// The status CHECK of schema versions 1 and 2 (see [`STATUS_CHECK`]).
const STATUS_CHECK_V2: &str = "CHECK (status IN ('pending', 'processing', 'done', 'failed'))";
/// The status CHECK from schema version 3: the same constraint, cheaper to evaluate.
const STATUS_CHECK: &str =
    "CHECK (status = 'pending' OR status = 'processing' OR status = 'done' OR status = 'failed')";

/// The transition indexes of schema versions 1 to 3, replaced by `iw_task_transitions_by_task`.
const TRANSITION_INDEXES_V3: &str = "DROP INDEX IF EXISTS iw_task_transitions_task;
DROP INDEX IF EXISTS iw_task_transitions_one_terminal;";

/// Brings an older database to schema version 5, in one transaction: version 2 added
/// `heartbeat_at` and its partial index; version 3 rewrites the status CHECK as ORs (the
/// two CHECKs accept exactly the same values, so, as SQLite documents for changes that do
/// not touch the stored rows, the table's definition is edited in place, no table
/// rebuild); version 4 drops the two transition indexes that `iw_task_transitions_by_task`
/// (created by [`SQLITE_SCHEMA`], so it exists before they go) replaces; version 5 turns the
/// update guards into AFTER triggers ([`SQLITE_GUARD_TRIGGERS`]).
fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let has_heartbeat: i64 = tx.query_row(
        "SELECT COUNT(*) FROM pragma_table_info('iw_tasks') WHERE name = 'heartbeat_at'",
        [],
        |r| r.get(0),
    )?;
    if has_heartbeat == 0 {
        tx.execute_batch("ALTER TABLE iw_tasks ADD COLUMN heartbeat_at INTEGER")?;
    }
    tx.execute_batch(SQLITE_HEARTBEAT_INDEX)?;
    let table: String = tx.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'iw_tasks'",
        [],
        |r| r.get(0),
    )?;
    if table.contains(STATUS_CHECK_V2) {
        let schema_version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
        tx.execute_batch("PRAGMA writable_schema = ON")?;
        let edited = tx.execute(
            "UPDATE sqlite_schema SET sql = replace(sql, ?1, ?2) WHERE type = 'table' AND name = 'iw_tasks'",
            params![STATUS_CHECK_V2, STATUS_CHECK],
        );
        tx.execute_batch(&format!("PRAGMA schema_version = {}", schema_version + 1))?;
        tx.execute_batch("PRAGMA writable_schema = OFF")?;
        edited?;
        // The edited definition must parse and pass SQLite's own check before it commits.
        let check: String = tx.query_row("PRAGMA quick_check(iw_tasks)", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                Some(format!("schema migration check failed: {check}")),
            ));
        }
    }
    tx.execute_batch(TRANSITION_INDEXES_V3)?;
    if version < 5 {
        tx.execute_batch(
            "DROP TRIGGER IF EXISTS iw_tasks_terminal_immutable;
             DROP TRIGGER IF EXISTS iw_tasks_legal_transition;
             DROP TRIGGER IF EXISTS iw_tasks_terminal_fields;",
        )?;
    }
    tx.execute_batch(SQLITE_GUARD_TRIGGERS)?;
    tx.pragma_update(None, "user_version", 5)?;
    tx.commit()
}

impl SqliteTaskStore {
    /// Opens (creating and migrating) the database at `path`.
    pub fn open(path: impl AsRef<Path>, time: TimeSource) -> Result<Self, Error> {
        Self::open_with_busy_timeout(path, time, Duration::from_secs(10))
    }

    /// Opens with a busy timeout other than the default 10 s: a write that cannot take the
    /// database lock in time fails with `dependency_unavailable` (`metadata.busy = true`),
    /// never with a partial result.
    pub fn open_with_busy_timeout(
        path: impl AsRef<Path>,
        time: TimeSource,
        busy_timeout: Duration,
    ) -> Result<Self, Error> {
        let mut conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(busy_timeout).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        conn.execute_batch(SQLITE_SCHEMA).map_err(db_err)?;
        migrate(&mut conn).map_err(db_err)?;
        conn.execute_batch(SWEEP_BATCH_TABLE).map_err(db_err)?;
        Ok(SqliteTaskStore {
            conn: Mutex::new(conn),
            time,
        })
    }

    /// A write transaction: `BEGIN IMMEDIATE` takes the write lock up front (waiting up to
    /// the busy timeout), so a compare-and-set never upgrades a read lock mid-way.
    fn tx<T>(&self, f: impl FnOnce(&Transaction<'_>, i64) -> Result<T, Error>) -> Result<T, Error> {
        self.run(TransactionBehavior::Immediate, f)
    }

    /// A read transaction: in WAL mode it never waits for a writer.
    fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>, i64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.run(TransactionBehavior::Deferred, f)
    }

    fn run<T>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Transaction<'_>, i64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut conn = self.conn.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "task store lock poisoned")
        })?;
        let tx = conn.transaction_with_behavior(behavior).map_err(db_err)?;
        let now = match &self.time {
            TimeSource::Injected(clock) => check_clock_reading(Some(clock.now_ms()))?,
            TimeSource::Database => {
                let reading: Option<i64> = tx
                    .query_row(
                        "SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER)",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(db_err)?;
                check_clock_reading(reading)?
            }
        };
        let out = f(&tx, now)?;
        tx.commit().map_err(db_err)?;
        Ok(out)
    }

    #[cfg(feature = "test-hooks")]
    /// Runs `f` with the store's connection while no other store call can run: an escape
    /// hatch for operators and fault-injection tests. The triggers still apply.
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> Result<T, Error> {
        let conn = self.conn.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "task store lock poisoned")
        })?;
        Ok(f(&conn))
    }

    #[cfg(feature = "test-hooks")]
    /// Runs raw SQL (operators and tests); the triggers still apply.
    pub fn execute_raw(&self, sql: &str) -> Result<usize, Error> {
        let conn = self.conn.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "task store lock poisoned")
        })?;
        conn.execute(sql, []).map_err(db_err)
    }

    #[cfg(feature = "test-hooks")]
    /// The `EXPLAIN QUERY PLAN` lines of the stale pass: its candidate read (tests assert
    /// it uses the partial index) followed by its compare-and-set update (rowid lookups of
    /// the batch, never a scan).
    pub fn sweep_query_plan(&self) -> Result<Vec<String>, Error> {
        let conn = self.conn.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "task store lock poisoned")
        })?;
        let mut lines = Vec::new();
        let stale = &SWEEP_PASSES[0];
        for sql in [stale.select, stale.update] {
            let mut stmt = conn
                .prepare_cached(&format!("EXPLAIN QUERY PLAN {sql}"))
                .map_err(db_err)?;
            bind_sweep_params(&mut stmt, [0, 10, 0, 0], "plan").map_err(db_err)?;
            let mut rows = stmt.raw_query();
            while let Some(row) = rows.next().map_err(db_err)? {
                lines.push(row.get::<_, String>(3).map_err(db_err)?);
            }
        }
        Ok(lines)
    }
}

/// The per-connection scratch table a sweep batch's candidate rowids go into.
const SWEEP_BATCH_TABLE: &str =
    "CREATE TEMP TABLE IF NOT EXISTS iw_sweep_batch (rid INTEGER PRIMARY KEY)";

/// One kind of sweep write, three set-based statements in the batch's transaction:
/// `select` puts the candidates' rowids (read from a partial index) into
/// `temp.iw_sweep_batch`; `update` is the compare-and-set that re-checks the condition in
/// its WHERE clause and returns id, type, runtime, the limit applied and the lease;
/// `transitions` writes one transition row for each task that update failed (the rows of
/// the batch that are now failed by this sweep, and only those: the write lock is held
/// from the candidate read to the commit). Parameters: ?1 now, ?2 room in the batch,
/// ?3 cutoff, ?4 limit (ms), ?5 actor; each statement binds the ones it uses.
struct SweepPass {
    reason: &'static str,
    /// Whether a candidate is left (after a full batch); ?1 now, ?3 cutoff.
    left: &'static str,
    select: &'static str,
    update: &'static str,
    transitions: &'static str,
}

const SWEEP_PASSES: [SweepPass; 3] = [
    SweepPass {
        reason: "stale_timeout",
        left: "SELECT EXISTS (SELECT 1 FROM iw_tasks WHERE status = 'processing' AND stale_deadline < ?1)",
        select: "INSERT INTO temp.iw_sweep_batch (rid)
              SELECT rowid FROM iw_tasks WHERE status = 'processing' AND stale_deadline < ?1 ORDER BY stale_deadline LIMIT ?2",
        update: "UPDATE iw_tasks SET status = 'failed', error_code = 'stale_timeout',
              error_message = 'processing exceeded the stale limit of its task type', finished_at = ?1, updated_at = ?1
              WHERE rowid IN (SELECT rid FROM temp.iw_sweep_batch) AND status = 'processing' AND stale_deadline < ?1
              RETURNING id, task_type, ?1 - started_at, stale_deadline - started_at, lease_id",
        transitions: "INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
              SELECT id, 'processing', 'failed', 'stale_timeout', ?5, lease_id, ?1, stale_deadline - started_at, ?1 - started_at
              FROM iw_tasks WHERE rowid IN (SELECT rid FROM temp.iw_sweep_batch)
                AND status = 'failed' AND error_code = 'stale_timeout' AND finished_at = ?1",
    },
    SweepPass {
        reason: "heartbeat_timeout",
        left: "SELECT EXISTS (SELECT 1 FROM iw_tasks WHERE status = 'processing' AND heartbeat_at < ?3)",
        select: "INSERT INTO temp.iw_sweep_batch (rid)
              SELECT rowid FROM iw_tasks WHERE status = 'processing' AND heartbeat_at < ?3 ORDER BY heartbeat_at LIMIT ?2",
        update: "UPDATE iw_tasks SET status = 'failed', error_code = 'heartbeat_timeout',
              error_message = 'the worker stopped sending heartbeats', finished_at = ?1, updated_at = ?1
              WHERE rowid IN (SELECT rid FROM temp.iw_sweep_batch) AND status = 'processing' AND heartbeat_at < ?3
              RETURNING id, task_type, ?1 - started_at, ?4, lease_id",
        transitions: "INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
              SELECT id, 'processing', 'failed', 'heartbeat_timeout', ?5, lease_id, ?1, ?4, ?1 - started_at
              FROM iw_tasks WHERE rowid IN (SELECT rid FROM temp.iw_sweep_batch)
                AND status = 'failed' AND error_code = 'heartbeat_timeout' AND finished_at = ?1",
    },
    SweepPass {
        reason: "worker_start_timeout",
        left: "SELECT EXISTS (SELECT 1 FROM iw_tasks WHERE status = 'pending' AND created_at < ?3)",
        select: "INSERT INTO temp.iw_sweep_batch (rid)
              SELECT rowid FROM iw_tasks WHERE status = 'pending' AND created_at < ?3 ORDER BY created_at LIMIT ?2",
        update: "UPDATE iw_tasks SET status = 'failed', error_code = 'worker_start_timeout',
              error_message = 'no worker claimed the task in time', finished_at = ?1, updated_at = ?1
              WHERE rowid IN (SELECT rid FROM temp.iw_sweep_batch) AND status = 'pending' AND created_at < ?3
              RETURNING id, task_type, ?1 - created_at, ?4, NULL",
        transitions: "INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
              SELECT id, 'pending', 'failed', 'worker_start_timeout', ?5, NULL, ?1, ?4, ?1 - created_at
              FROM iw_tasks WHERE rowid IN (SELECT rid FROM temp.iw_sweep_batch)
                AND status = 'failed' AND error_code = 'worker_start_timeout' AND finished_at = ?1",
    },
];

/// Binds the sweep parameters a statement uses (see [`SweepPass`]).
fn bind_sweep_params(
    stmt: &mut rusqlite::CachedStatement<'_>,
    numbers: [i64; 4],
    actor: &str,
) -> rusqlite::Result<()> {
    for index in 1..=stmt.parameter_count() {
        if index == 5 {
            stmt.raw_bind_parameter(index, actor)?;
        } else {
            stmt.raw_bind_parameter(index, numbers[index - 1])?;
        }
    }
    Ok(())
}

/// Whether any pass still has a candidate at `now` (read from the partial indexes).
fn candidates_left(tx: &Transaction<'_>, policy: &SweepPolicy, now: i64) -> rusqlite::Result<bool> {
    for pass in &SWEEP_PASSES {
        let Some((cutoff, limit)) = pass_window(pass.reason, policy, now) else {
            continue;
        };
        let mut stmt = tx.prepare_cached(pass.left)?;
        bind_sweep_params(&mut stmt, [now, 0, cutoff, limit], "")?;
        let mut rows = stmt.raw_query();
        if let Some(row) = rows.next()? {
            if row.get::<_, bool>(0)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Runs one pass over at most `room` tasks: what it failed and how many transition rows
/// it wrote.
fn run_sweep_pass(
    tx: &Transaction<'_>,
    pass: &SweepPass,
    numbers: [i64; 4],
    actor: &str,
) -> rusqlite::Result<(Vec<SweptTask>, usize)> {
    tx.prepare_cached("DELETE FROM temp.iw_sweep_batch")?
        .execute([])?;
    let mut select = tx.prepare_cached(pass.select)?;
    bind_sweep_params(&mut select, numbers, actor)?;
    if select.raw_execute()? == 0 {
        return Ok((Vec::new(), 0));
    }
    let mut update = tx.prepare_cached(pass.update)?;
    bind_sweep_params(&mut update, numbers, actor)?;
    let mut rows = update.raw_query();
    let mut swept = Vec::new();
    while let Some(r) = rows.next()? {
        swept.push(SweptTask {
            task_id: r.get(0)?,
            task_type: r.get(1)?,
            reason: pass.reason.into(),
            runtime_ms: r.get(2)?,
            ttl_ms: r.get(3)?,
        });
    }
    drop(rows);
    let mut transitions = tx.prepare_cached(pass.transitions)?;
    bind_sweep_params(&mut transitions, numbers, actor)?;
    let written = transitions.raw_execute()?;
    Ok((swept, written))
}

fn get_task(tx: &Transaction<'_>, id: &str) -> Result<Option<TaskRecord>, Error> {
    tx.query_row(
        &format!("SELECT {TASK_COLUMNS} FROM iw_tasks WHERE id = ?1"),
        params![id],
        row_to_task,
    )
    .optional()
    .map_err(db_err)
}

fn not_found() -> Error {
    Error::new(ErrorCode::TaskNotFound)
}

impl TaskStore for SqliteTaskStore {
    fn create(&self, id: &str, task_type: &str, actor: &str) -> Result<TaskRecord, Error> {
        self.tx(|tx, now| {
            let inserted = tx
                .execute(
                    "INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)
                     ON CONFLICT (id) DO NOTHING",
                    params![id, task_type, now],
                )
                .map_err(db_err)?;
            if inserted == 0 {
                return Err(Error::with_detail(ErrorCode::InvalidTransition, "a task with this id already exists"));
            }
            insert_transition(tx, id, None, TaskStatus::Pending, "created", actor, None, now, None, None)?;
            get_task(tx, id)?.ok_or_else(not_found)
        })
    }

    fn claim(&self, id: &str, ttls: &BTreeMap<String, i64>, actor: &str) -> Result<Claim, Error> {
        self.tx(|tx, now| {
            let task = get_task(tx, id)?.ok_or_else(not_found)?;
            let ttl = *ttls.get(&task.task_type).ok_or_else(|| {
                Error::with_detail(ErrorCode::ValidationError, "unknown task type: no stale TTL is configured for it").meta("task_type", task.task_type.clone())
            })?;
            let lease = new_lease()?;
            let n = tx
                .execute(
                    "UPDATE iw_tasks SET status = 'processing', started_at = ?2, stale_deadline = ?2 + ?3, lease_id = ?4,
                     attempt = attempt + 1, updated_at = ?2, heartbeat_at = ?2 WHERE id = ?1 AND status = 'pending'",
                    params![id, now, ttl, lease],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(task.status.check_transition(TaskStatus::Processing).err().unwrap_or_else(|| Error::new(ErrorCode::InvalidTransition)));
            }
            insert_transition(tx, id, Some(TaskStatus::Pending), TaskStatus::Processing, "claimed", actor, Some(&lease), now, Some(ttl), Some(0))?;
            Ok(Claim { lease_id: lease, started_at: now, stale_deadline: now + ttl, ttl_ms: ttl, attempt: task.attempt + 1 })
        })
    }

    fn report_progress(&self, id: &str, lease_id: &str, progress: u8) -> Result<Completion, Error> {
        self.tx(|tx, now| {
            let n = tx
                .execute(
                    "UPDATE iw_tasks SET progress = MAX(progress, ?3), updated_at = ?4, heartbeat_at = ?4 WHERE id = ?1 AND status = 'processing' AND lease_id = ?2",
                    params![id, lease_id, i64::from(progress.min(100)), now],
                )
                .map_err(db_err)?;
            if n == 1 {
                return Ok(Completion::Applied { runtime_ms: 0 });
            }
            let task = get_task(tx, id)?.ok_or_else(not_found)?;
            Ok(Completion::for_miss(&task, lease_id, TaskStatus::Processing, None, now))
        })
    }

    fn complete(
        &self,
        id: &str,
        lease_id: &str,
        result_path: &str,
        actor: &str,
    ) -> Result<Completion, Error> {
        check_done_args(result_path)?;
        self.tx(|tx, now| {
            let started: Option<Option<i64>> = tx
                .query_row(
                    "UPDATE iw_tasks SET status = 'done', result_path = ?3, progress = 100, finished_at = ?4, updated_at = ?4
                     WHERE id = ?1 AND status = 'processing' AND lease_id = ?2 RETURNING started_at",
                    params![id, lease_id, result_path, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if let Some(started) = started {
                let runtime = now - started.unwrap_or(now);
                insert_transition(tx, id, Some(TaskStatus::Processing), TaskStatus::Done, "completed", actor, Some(lease_id), now, None, Some(runtime))?;
                return Ok(Completion::Applied { runtime_ms: runtime });
            }
            let task = get_task(tx, id)?.ok_or_else(not_found)?;
            Ok(Completion::for_miss(&task, lease_id, TaskStatus::Done, Some(result_path), now))
        })
    }

    fn fail(
        &self,
        id: &str,
        lease_id: &str,
        code: &str,
        message: &str,
        actor: &str,
    ) -> Result<Completion, Error> {
        check_failed_args(code, message)?;
        self.tx(|tx, now| {
            let started: Option<Option<i64>> = tx
                .query_row(
                    "UPDATE iw_tasks SET status = 'failed', error_code = ?3, error_message = ?4, finished_at = ?5, updated_at = ?5
                     WHERE id = ?1 AND status = 'processing' AND lease_id = ?2 RETURNING started_at",
                    params![id, lease_id, code, message, now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db_err)?;
            if let Some(started) = started {
                let runtime = now - started.unwrap_or(now);
                insert_transition(tx, id, Some(TaskStatus::Processing), TaskStatus::Failed, "worker_failed", actor, Some(lease_id), now, None, Some(runtime))?;
                return Ok(Completion::Applied { runtime_ms: runtime });
            }
            let task = get_task(tx, id)?.ok_or_else(not_found)?;
            Ok(Completion::for_miss(&task, lease_id, TaskStatus::Failed, Some(code), now))
        })
    }

    fn sweep(&self, sweep_id: &str, policy: &SweepPolicy) -> Result<SweepReport, Error> {
        sweep_in_batches(sweep_id, policy, |actor, batch| {
            self.tx(|tx, now| {
                let mut out = Vec::new();
                for pass in &SWEEP_PASSES {
                    let room = i64::from(batch) - out.len() as i64;
                    if room <= 0 {
                        break;
                    }
                    let Some((cutoff, limit)) = pass_window(pass.reason, policy, now) else {
                        continue;
                    };
                    let (swept, written) =
                        run_sweep_pass(tx, pass, [now, room, cutoff, limit], actor)
                            .map_err(db_err)?;
                    if written != swept.len() {
                        // Never commit a failed task without its transition row: the
                        // error rolls the whole batch back.
                        return Err(Error::with_detail(
                            ErrorCode::InternalError,
                            format!(
                                "sweep wrote {written} transition rows for {} failed tasks",
                                swept.len()
                            ),
                        ));
                    }
                    out.extend(swept);
                }
                let more = out.len() >= batch as usize
                    && candidates_left(tx, policy, now).map_err(db_err)?;
                Ok(BatchOutcome {
                    swept_at: now,
                    failed: out,
                    more,
                })
            })
        })
    }

    fn get(&self, id: &str) -> Result<Option<TaskRecord>, Error> {
        self.read(|tx, _| get_task(tx, id))
    }

    fn transitions(&self, id: &str) -> Result<Vec<TransitionRecord>, Error> {
        self.read(|tx, _| {
            let mut stmt = tx
                .prepare("SELECT task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms FROM iw_task_transitions WHERE task_id = ?1 ORDER BY seq")
                .map_err(db_err)?;
            let rows = stmt
                .query_map(params![id], |r| {
                    let from: Option<String> = r.get(1)?;
                    let to: String = r.get(2)?;
                    Ok(TransitionRecord {
                        task_id: r.get(0)?,
                        from_status: from.as_deref().map(status_of).transpose()?,
                        to_status: status_of(&to)?,
                        reason: r.get(3)?,
                        actor: r.get(4)?,
                        lease_id: r.get(5)?,
                        at: r.get(6)?,
                        ttl_ms: r.get(7)?,
                        runtime_ms: r.get(8)?,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
        })
    }

    fn now_ms(&self) -> Result<i64, Error> {
        self.read(|_, now| Ok(now))
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Rows imported.
    pub imported: u64,
    /// Rows already present (skipped).
    pub skipped: u64,
    /// Processing rows whose `started_at` was backfilled from `updated_at`.
    pub backfilled: u64,
}

impl SqliteTaskStore {
    /// Adopts an existing platform table (`id`, `task_type` or `type`, `status`, `created_at`,
    /// `updated_at` as ISO-8601 text, optional `result_path`, `error` or `error_msg`; other
    /// columns are left alone) from the SQLite file
    /// `legacy_path`: times become integer ms, every row enters through legal transitions
    /// (each written to the transitions table with reason `imported`), and rows already
    /// processing get `started_at` backfilled from `updated_at` and a deadline from the TTL of
    /// their type (unknown types: the strictest TTL). One transaction: all or nothing.
    pub fn import_legacy(
        &self,
        legacy_path: &Path,
        table: &str,
        ttls: &BTreeMap<String, i64>,
    ) -> Result<ImportReport, Error> {
        if table.is_empty()
            || !table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(Error::with_detail(
                ErrorCode::ValidationError,
                "legacy table name must be [A-Za-z0-9_]+",
            ));
        }
        let strictest = ttls.values().copied().min().unwrap_or(600_000);
        let legacy =
            Connection::open_with_flags(legacy_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(db_err)?;
        let has = |col: &str| -> bool {
            legacy
                .prepare(&format!("SELECT {col} FROM {table} LIMIT 0"))
                .is_ok()
        };
        let result_col = if has("result_path") {
            "result_path"
        } else {
            "NULL"
        };
        // The type and error columns go by either name (`type` and `error_msg` in platforms
        // that store the request's own `type` beside it).
        let error_col = ["error", "error_msg"]
            .into_iter()
            .find(|c| has(c))
            .unwrap_or("NULL");
        let type_col = ["task_type", "type"]
            .into_iter()
            .find(|c| has(c))
            .ok_or_else(|| {
                Error::with_detail(
                    ErrorCode::ValidationError,
                    format!("legacy table {table} has neither a task_type nor a type column"),
                )
            })?;
        let mut stmt = legacy
            .prepare(&format!("SELECT id, {type_col}, status, created_at, updated_at, {result_col}, {error_col} FROM {table} ORDER BY created_at"))
            .map_err(db_err)?;
        type Row7 = (
            String,
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<Row7> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .map_err(db_err)?
            .collect::<Result<_, _>>()
            .map_err(db_err)?;
        self.tx(|tx, _now| {
            let mut report = ImportReport::default();
            for (id, task_type, status, created, updated, result, error) in rows {
                let status = TaskStatus::from_name(status.trim()).ok_or_else(|| {
                    Error::with_detail(ErrorCode::ValidationError, "legacy row has an unknown status").meta("task_id", id.clone())
                })?;
                let (created, updated) = (iso_time::parse_iso8601_ms(&created)?, iso_time::parse_iso8601_ms(&updated)?);
                let inserted = tx
                    .execute(
                        "INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3) ON CONFLICT (id) DO NOTHING",
                        params![id, task_type, created],
                    )
                    .map_err(db_err)?;
                if inserted == 0 {
                    report.skipped += 1;
                    continue;
                }
                insert_transition(tx, &id, None, TaskStatus::Pending, "imported", "importer", None, created, None, None)?;
                let ttl = ttls.get(&task_type).copied().unwrap_or(strictest);
                if matches!(status, TaskStatus::Processing | TaskStatus::Done) {
                    tx.execute(
                        "UPDATE iw_tasks SET status = 'processing', started_at = ?2, stale_deadline = ?2 + ?3, lease_id = 'imported', attempt = 1, updated_at = ?2, heartbeat_at = ?2 WHERE id = ?1",
                        params![id, updated, ttl],
                    )
                    .map_err(db_err)?;
                    insert_transition(tx, &id, Some(TaskStatus::Pending), TaskStatus::Processing, "imported", "importer", Some("imported"), updated, Some(ttl), Some(0))?;
                    if status == TaskStatus::Processing {
                        report.backfilled += 1;
                    }
                }
                match status {
                    TaskStatus::Done => {
                        let path = result.filter(|r| !r.trim().is_empty()).unwrap_or_else(|| "(not recorded)".to_owned());
                        tx.execute("UPDATE iw_tasks SET status = 'done', result_path = ?2, progress = 100, finished_at = ?3 WHERE id = ?1", params![id, path, updated])
                            .map_err(db_err)?;
                        insert_transition(tx, &id, Some(TaskStatus::Processing), TaskStatus::Done, "imported", "importer", Some("imported"), updated, None, None)?;
                    }
                    TaskStatus::Failed => {
                        let msg = error.filter(|e| !e.trim().is_empty()).unwrap_or_else(|| "(not recorded)".to_owned());
                        tx.execute(
                            "UPDATE iw_tasks SET status = 'failed', error_code = 'imported', error_message = ?2, finished_at = ?3 WHERE id = ?1",
                            params![id, msg, updated],
                        )
                        .map_err(db_err)?;
                        insert_transition(tx, &id, Some(TaskStatus::Pending), TaskStatus::Failed, "imported", "importer", None, updated, None, None)?;
                    }
                    TaskStatus::Pending | TaskStatus::Processing => {}
                }
                report.imported += 1;
            }
            Ok(report)
        })
    }
}
