//! PostgreSQL task store, for several API replicas: the same compare-and-set writes as the
//! SQLite store, `FOR UPDATE SKIP LOCKED` so concurrent sweepers split the stale set instead
//! of waiting on each other, a partial index on the deadline, and a PL/pgSQL trigger that
//! refuses illegal transitions even from raw SQL. Time is the server's `clock_timestamp()`.

use std::collections::BTreeMap;

use postgres::{Client, Row, Transaction};

use super::model::{
    new_lease, Claim, Completion, SweepPolicy, SweepReport, SweptTask, TaskRecord, TaskStatus,
    TransitionRecord,
};
use super::store::{
    check_clock_reading, check_done_args, check_failed_args, pass_window, sweep_in_batches,
    BatchOutcome, TaskStore, TimeSource, TASK_COLUMNS,
};
use crate::error::{Error, ErrorCode};
use crate::pg_pool::{col, commit, PgPool};

/// The schema (idempotent; run under an advisory lock so replicas can start together).
pub const POSTGRES_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS iw_tasks (
    -- Byte order (\"C\"): ids are opaque, and every index lookup and insert on them would
    -- otherwise go through the cluster locale's strcoll (6 % of a sweep's instructions
    -- under C.UTF-8).
    id TEXT COLLATE \"C\" PRIMARY KEY NOT NULL,
    task_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    started_at BIGINT,
    stale_deadline BIGINT,
    lease_id TEXT,
    attempt BIGINT NOT NULL DEFAULT 0,
    result_path TEXT,
    error_code TEXT,
    error_message TEXT,
    finished_at BIGINT,
    heartbeat_at BIGINT
);
ALTER TABLE iw_tasks ADD COLUMN IF NOT EXISTS heartbeat_at BIGINT;
CREATE INDEX IF NOT EXISTS iw_tasks_heartbeat ON iw_tasks (heartbeat_at) WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS iw_tasks_stale ON iw_tasks (stale_deadline) WHERE status = 'processing';
CREATE INDEX IF NOT EXISTS iw_tasks_pending ON iw_tasks (created_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS iw_task_transitions (
    seq BIGSERIAL PRIMARY KEY,
    task_id TEXT COLLATE \"C\" NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    lease_id TEXT,
    at BIGINT NOT NULL,
    ttl_ms BIGINT,
    runtime_ms BIGINT
);
-- The two transition indexes of older databases, replaced by iw_task_transitions_by_task
-- below; dropped first so the collation change does not rebuild them. All of this runs in
-- one transaction, so no other transaction ever sees the table without a one-terminal
-- guard.
DROP INDEX IF EXISTS iw_task_transitions_task;
DROP INDEX IF EXISTS iw_task_transitions_one_terminal;
-- Databases created before ids were byte-ordered: convert both id columns once (their
-- indexes are rebuilt), before the index below is built on task_id. iw_tasks first, the
-- order the writes lock the two tables in.
DO $$
DECLARE
    col RECORD;
BEGIN
    FOR col IN
        SELECT a.attrelid::regclass AS tbl, a.attname AS name FROM pg_attribute a
        JOIN pg_collation c ON c.oid = a.attcollation
        WHERE ((a.attrelid = 'iw_tasks'::regclass AND a.attname = 'id')
            OR (a.attrelid = 'iw_task_transitions'::regclass AND a.attname = 'task_id'))
          AND c.collname <> 'C'
        ORDER BY a.attrelid = 'iw_tasks'::regclass DESC
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I TYPE TEXT COLLATE \"C\"', col.tbl, col.name);
    END LOOP;
END
$$;
-- One index serves a task's history (by task_id) and allows one terminal row per task: a
-- terminal row's key is (task_id, 1), so a second one collides; any other row's is
-- (task_id, NULL), and NULLs never collide. It replaces two indexes (a history index and a
-- partial unique one) that each transition row paid for.
CREATE UNIQUE INDEX IF NOT EXISTS iw_task_transitions_by_task
    ON iw_task_transitions (task_id, (CASE WHEN to_status IN ('done', 'failed') THEN 1 END));
CREATE OR REPLACE FUNCTION iw_tasks_guard() RETURNS trigger AS $$
BEGIN
    -- Called only for writes the triggers' WHEN clauses found illegal: legal writes never
    -- enter PL/pgSQL, which keeps a 1,000-row sweep cheap.
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'invalid_transition: tasks start pending';
    END IF;
    IF OLD.status IN ('done', 'failed') THEN
        RAISE EXCEPTION 'invalid_transition: terminal tasks are immutable';
    END IF;
    IF OLD.status <> NEW.status AND NOT (
        (OLD.status = 'pending' AND NEW.status IN ('processing', 'failed'))
        OR (OLD.status = 'processing' AND NEW.status IN ('done', 'failed'))) THEN
        RAISE EXCEPTION 'invalid_transition: illegal status change';
    END IF;
    RAISE EXCEPTION 'invalid_transition: done needs a result path, failed an error';
END
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS iw_tasks_guard ON iw_tasks;
CREATE OR REPLACE TRIGGER iw_tasks_guard_insert BEFORE INSERT ON iw_tasks
    FOR EACH ROW WHEN (NEW.status <> 'pending') EXECUTE FUNCTION iw_tasks_guard();
CREATE OR REPLACE TRIGGER iw_tasks_guard_update BEFORE UPDATE ON iw_tasks
    FOR EACH ROW WHEN (
        OLD.status IN ('done', 'failed')
        OR (OLD.status <> NEW.status AND NOT (
            (OLD.status = 'pending' AND NEW.status IN ('processing', 'failed'))
            OR (OLD.status = 'processing' AND NEW.status IN ('done', 'failed'))))
        OR (NEW.status = 'done' AND NEW.result_path IS NULL)
        OR (NEW.status = 'failed' AND (NEW.error_code IS NULL OR NEW.error_message IS NULL)))
    EXECUTE FUNCTION iw_tasks_guard();
";

/// One kind of sweep write, as ONE statement: candidates locked with `FOR UPDATE SKIP LOCKED`
/// (concurrent sweepers split the set), the compare-and-set UPDATE re-checking the condition,
/// and the transition rows inserted from the UPDATE's own RETURNING, so a task is never
/// failed without its row. Parameters: $1 now, $2 room, $3 actor, then (except the stale pass) $4 cutoff, $5 limit (ms).
struct SweepPass {
    reason: &'static str,
    /// Whether a candidate is left (after a full batch); $1 cutoff.
    left: &'static str,
    sql: &'static str,
}

const SWEEP_PASSES: [SweepPass; 3] = [
    SweepPass {
        reason: "stale_timeout",
        left: "SELECT EXISTS (SELECT 1 FROM iw_tasks WHERE status = 'processing' AND stale_deadline < $1)",
        sql: "
WITH candidates AS (
    SELECT id FROM iw_tasks WHERE status = 'processing' AND stale_deadline < $1
    ORDER BY stale_deadline LIMIT $2 FOR UPDATE SKIP LOCKED),
swept AS (
    UPDATE iw_tasks t SET status = 'failed', error_code = 'stale_timeout',
        error_message = 'processing exceeded the stale limit of its task type', finished_at = $1, updated_at = $1
    FROM candidates WHERE t.id = candidates.id AND t.status = 'processing' AND t.stale_deadline < $1
    RETURNING t.id, t.task_type, $1::BIGINT - t.started_at AS runtime_ms, t.stale_deadline - t.started_at AS limit_ms, t.lease_id),
audit AS (
    INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
    SELECT id, 'processing', 'failed', 'stale_timeout', $3, lease_id, $1, limit_ms, runtime_ms FROM swept)
SELECT id, task_type, runtime_ms, limit_ms FROM swept",
    },
    SweepPass {
        reason: "heartbeat_timeout",
        left: "SELECT EXISTS (SELECT 1 FROM iw_tasks WHERE status = 'processing' AND heartbeat_at < $1)",
        sql: "
WITH candidates AS (
    SELECT id FROM iw_tasks WHERE status = 'processing' AND heartbeat_at < $4
    ORDER BY heartbeat_at LIMIT $2 FOR UPDATE SKIP LOCKED),
swept AS (
    UPDATE iw_tasks t SET status = 'failed', error_code = 'heartbeat_timeout',
        error_message = 'the worker stopped sending heartbeats', finished_at = $1, updated_at = $1
    FROM candidates WHERE t.id = candidates.id AND t.status = 'processing' AND t.heartbeat_at < $4
    RETURNING t.id, t.task_type, $1::BIGINT - t.started_at AS runtime_ms, $5::BIGINT AS limit_ms, t.lease_id),
audit AS (
    INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
    SELECT id, 'processing', 'failed', 'heartbeat_timeout', $3, lease_id, $1, limit_ms, runtime_ms FROM swept)
SELECT id, task_type, runtime_ms, limit_ms FROM swept",
    },
    SweepPass {
        reason: "worker_start_timeout",
        left: "SELECT EXISTS (SELECT 1 FROM iw_tasks WHERE status = 'pending' AND created_at < $1)",
        sql: "
WITH candidates AS (
    SELECT id FROM iw_tasks WHERE status = 'pending' AND created_at < $4
    ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED),
swept AS (
    UPDATE iw_tasks t SET status = 'failed', error_code = 'worker_start_timeout',
        error_message = 'no worker claimed the task in time', finished_at = $1, updated_at = $1
    FROM candidates WHERE t.id = candidates.id AND t.status = 'pending' AND t.created_at < $4
    RETURNING t.id, t.task_type, $1::BIGINT - t.created_at AS runtime_ms, $5::BIGINT AS limit_ms),
audit AS (
    INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
    SELECT id, 'pending', 'failed', 'worker_start_timeout', $3, NULL, $1, limit_ms, runtime_ms FROM swept)
SELECT id, task_type, runtime_ms, limit_ms FROM swept",
    },
];

fn db_err(e: postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        if db.message().contains("invalid_transition")
            || (db.code().code() == "23505"
                && matches!(
                    db.constraint(),
                    // The second name is the index an older build (sharing the database
                    // during a rolling upgrade) recreates.
                    Some("iw_task_transitions_by_task" | "iw_task_transitions_one_terminal")
                ))
        {
            return Error::with_detail(
                ErrorCode::InvalidTransition,
                "the database refused an illegal transition",
            )
            .with_cause(e);
        }
    }
    crate::pg_pool::unavailable(LABEL, &e)
}

/// The store's name in errors.
const LABEL: &str = "task store (postgres)";

/// A row that does not decode: `dependency_unavailable` with `reason = corrupt_row`, never a
/// panic and never read as some other state.
fn corrupt_row(cause: impl std::fmt::Display) -> Error {
    crate::pg_pool::corrupt_row(LABEL, cause)
}

fn status_of(name: &str) -> Result<TaskStatus, Error> {
    TaskStatus::from_name(name).ok_or_else(|| corrupt_row(format!("unknown task status {name:?}")))
}

fn row_to_task(r: &Row) -> Result<TaskRecord, Error> {
    let status: String = r.try_get(2).map_err(corrupt_row)?;
    Ok(TaskRecord {
        id: r.try_get(0).map_err(corrupt_row)?,
        task_type: r.try_get(1).map_err(corrupt_row)?,
        status: status_of(&status)?,
        progress: r.try_get::<_, i32>(3).map_err(corrupt_row)?.clamp(0, 100) as u8,
        created_at: r.try_get(4).map_err(corrupt_row)?,
        updated_at: r.try_get(5).map_err(corrupt_row)?,
        started_at: r.try_get(6).map_err(corrupt_row)?,
        stale_deadline: r.try_get(7).map_err(corrupt_row)?,
        lease_id: r.try_get(8).map_err(corrupt_row)?,
        attempt: r.try_get(9).map_err(corrupt_row)?,
        result_path: r.try_get(10).map_err(corrupt_row)?,
        error_code: r.try_get(11).map_err(corrupt_row)?,
        error_message: r.try_get(12).map_err(corrupt_row)?,
        finished_at: r.try_get(13).map_err(corrupt_row)?,
        heartbeat_at: r.try_get(14).map_err(corrupt_row)?,
    })
}

/// Connections per store: workers claiming and completing, the sweeper and status reads
/// run side by side.
const POOL_SIZE: usize = 4;

/// A task store in PostgreSQL.
pub struct PostgresTaskStore {
    pool: PgPool,
    time: TimeSource,
}

impl std::fmt::Debug for PostgresTaskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresTaskStore")
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_transition(
    tx: &mut Transaction<'_>,
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
    tx.execute(
        "INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[&task_id, &from.map(TaskStatus::as_str), &to.as_str(), &reason, &actor, &lease, &at, &ttl_ms, &runtime_ms],
    )
    .map_err(db_err)?;
    Ok(())
}

/// Whether any pass still has a candidate at `now` (rows other sweepers hold locked
/// count: the next batch skips them).
fn candidates_left(
    tx: &mut Transaction<'_>,
    policy: &SweepPolicy,
    now: i64,
) -> Result<bool, Error> {
    for pass in &SWEEP_PASSES {
        let Some((cutoff, _)) = pass_window(pass.reason, policy, now) else {
            continue;
        };
        let row = tx.query_one(pass.left, &[&cutoff]).map_err(db_err)?;
        if col::<bool>(&row, 0, LABEL)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn get_task(tx: &mut Transaction<'_>, id: &str) -> Result<Option<TaskRecord>, Error> {
    tx.query_opt(
        &format!("SELECT {TASK_COLUMNS} FROM iw_tasks WHERE id = $1"),
        &[&id],
    )
    .map_err(db_err)?
    .map(|r| row_to_task(&r))
    .transpose()
}

impl PostgresTaskStore {
    /// Connects and migrates the schema.
    pub fn connect(url: &str, time: TimeSource) -> Result<Self, Error> {
        let pool = PgPool::connect_with(url, POOL_SIZE, LABEL, |client| {
            let mut tx = client.transaction().map_err(db_err)?;
            tx.execute("SELECT pg_advisory_xact_lock(7402117)", &[])
                .map_err(db_err)?;
            tx.batch_execute(POSTGRES_SCHEMA).map_err(db_err)?;
            commit(tx, LABEL)
        })?;
        Ok(PostgresTaskStore { pool, time })
    }

    /// One transaction on a pooled connection. A connection the server closed (a restart, a
    /// killed backend) is replaced and the transaction runs again, unless its COMMIT was
    /// already sent (then `reason = commit_unknown`): nothing is half done or done twice.
    fn tx<T>(
        &self,
        mut f: impl FnMut(&mut Transaction<'_>, i64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.pool
            .run(|conn| Self::in_transaction(conn.client(), &self.time, &mut f))
    }

    fn in_transaction<T>(
        client: &mut Client,
        time: &TimeSource,
        f: &mut impl FnMut(&mut Transaction<'_>, i64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut tx = client.transaction().map_err(db_err)?;
        let now = match time {
            TimeSource::Injected(clock) => check_clock_reading(Some(clock.now_ms()))?,
            TimeSource::Database => {
                let row = tx
                    .query_one(
                        "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
                        &[],
                    )
                    .map_err(db_err)?;
                check_clock_reading(col::<Option<i64>>(&row, 0, LABEL)?)?
            }
        };
        let out = f(&mut tx, now)?;
        commit(tx, LABEL)?;
        Ok(out)
    }

    #[cfg(feature = "test-hooks")]
    /// Runs raw SQL (operators and tests); the trigger still applies.
    pub fn execute_raw(&self, sql: &str) -> Result<u64, Error> {
        self.pool
            .run(|conn| conn.client().execute(sql, &[]).map_err(db_err))
    }

    #[cfg(feature = "test-hooks")]
    /// The `EXPLAIN` lines of the sweep's candidate query with sequential scans disabled
    /// (tests assert the partial index can serve it).
    pub fn sweep_query_plan(&self) -> Result<Vec<String>, Error> {
        self.pool.run(|conn| Self::plan(conn.client()))
    }

    #[cfg(feature = "test-hooks")]
    fn plan(client: &mut Client) -> Result<Vec<String>, Error> {
        let mut tx = client.transaction().map_err(db_err)?;
        tx.execute("SET LOCAL enable_seqscan = off", &[])
            .map_err(db_err)?;
        let rows = tx
            .query(
                "EXPLAIN SELECT id FROM iw_tasks WHERE status = 'processing' AND stale_deadline < $1 ORDER BY stale_deadline LIMIT $2",
                &[&0i64, &10i64],
            )
            .map_err(db_err)?;
        rows.iter().map(|r| col::<String>(r, 0, LABEL)).collect()
    }
}

impl TaskStore for PostgresTaskStore {
    fn create(&self, id: &str, task_type: &str, actor: &str) -> Result<TaskRecord, Error> {
        self.tx(|tx, now| {
            let n = tx
                .execute(
                    "INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at) VALUES ($1, $2, 'pending', $3, $3)
                     ON CONFLICT (id) DO NOTHING",
                    &[&id, &task_type, &now],
                )
                .map_err(db_err)?;
            if n == 0 {
                return Err(Error::with_detail(ErrorCode::InvalidTransition, "a task with this id already exists"));
            }
            insert_transition(tx, id, None, TaskStatus::Pending, "created", actor, None, now, None, None)?;
            get_task(tx, id)?.ok_or_else(|| Error::new(ErrorCode::TaskNotFound))
        })
    }

    fn claim(&self, id: &str, ttls: &BTreeMap<String, i64>, actor: &str) -> Result<Claim, Error> {
        self.tx(|tx, now| {
            let task = get_task(tx, id)?.ok_or_else(|| Error::new(ErrorCode::TaskNotFound))?;
            let ttl = *ttls.get(&task.task_type).ok_or_else(|| {
                Error::with_detail(ErrorCode::ValidationError, "unknown task type: no stale TTL is configured for it").meta("task_type", task.task_type.clone())
            })?;
            let lease = new_lease()?;
            let row = tx
                .query_opt(
                    "UPDATE iw_tasks SET status = 'processing', started_at = $2, stale_deadline = $2::BIGINT + $3::BIGINT, lease_id = $4,
                     attempt = attempt + 1, updated_at = $2, heartbeat_at = $2 WHERE id = $1 AND status = 'pending' RETURNING attempt",
                    &[&id, &now, &ttl, &lease],
                )
                .map_err(db_err)?;
            let Some(row) = row else {
                return Err(task.status.check_transition(TaskStatus::Processing).err().unwrap_or_else(|| Error::new(ErrorCode::InvalidTransition)));
            };
            insert_transition(tx, id, Some(TaskStatus::Pending), TaskStatus::Processing, "claimed", actor, Some(&lease), now, Some(ttl), Some(0))?;
            Ok(Claim { lease_id: lease, started_at: now, stale_deadline: now + ttl, ttl_ms: ttl, attempt: col(&row, 0, LABEL)? })
        })
    }

    fn report_progress(&self, id: &str, lease_id: &str, progress: u8) -> Result<Completion, Error> {
        self.tx(|tx, now| {
            let p = i32::from(progress.min(100));
            let n = tx
                .execute(
                    "UPDATE iw_tasks SET progress = GREATEST(progress, $3), updated_at = $4, heartbeat_at = $4 WHERE id = $1 AND status = 'processing' AND lease_id = $2",
                    &[&id, &lease_id, &p, &now],
                )
                .map_err(db_err)?;
            if n == 1 {
                return Ok(Completion::Applied { runtime_ms: 0 });
            }
            let task = get_task(tx, id)?.ok_or_else(|| Error::new(ErrorCode::TaskNotFound))?;
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
            let row = tx
                .query_opt(
                    "UPDATE iw_tasks SET status = 'done', result_path = $3, progress = 100, finished_at = $4, updated_at = $4
                     WHERE id = $1 AND status = 'processing' AND lease_id = $2 RETURNING started_at",
                    &[&id, &lease_id, &result_path, &now],
                )
                .map_err(db_err)?;
            if let Some(row) = row {
                let runtime = now - col::<Option<i64>>(&row, 0, LABEL)?.unwrap_or(now);
                insert_transition(tx, id, Some(TaskStatus::Processing), TaskStatus::Done, "completed", actor, Some(lease_id), now, None, Some(runtime))?;
                return Ok(Completion::Applied { runtime_ms: runtime });
            }
            let task = get_task(tx, id)?.ok_or_else(|| Error::new(ErrorCode::TaskNotFound))?;
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
            let row = tx
                .query_opt(
                    "UPDATE iw_tasks SET status = 'failed', error_code = $3, error_message = $4, finished_at = $5, updated_at = $5
                     WHERE id = $1 AND status = 'processing' AND lease_id = $2 RETURNING started_at",
                    &[&id, &lease_id, &code, &message, &now],
                )
                .map_err(db_err)?;
            if let Some(row) = row {
                let runtime = now - col::<Option<i64>>(&row, 0, LABEL)?.unwrap_or(now);
                insert_transition(tx, id, Some(TaskStatus::Processing), TaskStatus::Failed, "worker_failed", actor, Some(lease_id), now, None, Some(runtime))?;
                return Ok(Completion::Applied { runtime_ms: runtime });
            }
            let task = get_task(tx, id)?.ok_or_else(|| Error::new(ErrorCode::TaskNotFound))?;
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
                    let args: [&(dyn postgres::types::ToSql + Sync); 5] =
                        [&now, &room, &actor, &cutoff, &limit];
                    // The stale pass reads its limit from each row ($4/$5 unused).
                    let used = if pass.reason == "stale_timeout" { 3 } else { 5 };
                    let rows = tx.query(pass.sql, &args[..used]).map_err(db_err)?;
                    for r in &rows {
                        out.push(SweptTask {
                            task_id: r.try_get(0).map_err(corrupt_row)?,
                            task_type: r.try_get(1).map_err(corrupt_row)?,
                            reason: pass.reason.into(),
                            runtime_ms: r.try_get(2).map_err(corrupt_row)?,
                            ttl_ms: r.try_get(3).map_err(corrupt_row)?,
                        });
                    }
                }
                let more = out.len() >= batch as usize && candidates_left(tx, policy, now)?;
                Ok(BatchOutcome {
                    swept_at: now,
                    failed: out,
                    more,
                })
            })
        })
    }

    fn get(&self, id: &str) -> Result<Option<TaskRecord>, Error> {
        self.tx(|tx, _| get_task(tx, id))
    }

    fn transitions(&self, id: &str) -> Result<Vec<TransitionRecord>, Error> {
        self.tx(|tx, _| {
            let rows = tx
                .query(
                    "SELECT task_id, from_status, to_status, reason, actor, lease_id, at, ttl_ms, runtime_ms FROM iw_task_transitions WHERE task_id = $1 ORDER BY seq",
                    &[&id],
                )
                .map_err(db_err)?;
            rows.iter()
                .map(|r| {
                    let from: Option<String> = r.try_get(1).map_err(corrupt_row)?;
                    let to: String = r.try_get(2).map_err(corrupt_row)?;
                    Ok(TransitionRecord {
                        task_id: r.try_get(0).map_err(corrupt_row)?,
                        from_status: from.as_deref().map(status_of).transpose()?,
                        to_status: status_of(&to)?,
                        reason: r.try_get(3).map_err(corrupt_row)?,
                        actor: r.try_get(4).map_err(corrupt_row)?,
                        lease_id: r.try_get(5).map_err(corrupt_row)?,
                        at: r.try_get(6).map_err(corrupt_row)?,
                        ttl_ms: r.try_get(7).map_err(corrupt_row)?,
                        runtime_ms: r.try_get(8).map_err(corrupt_row)?,
                    })
                })
                .collect()
        })
    }

    fn now_ms(&self) -> Result<i64, Error> {
        self.tx(|_, now| Ok(now))
    }
}
