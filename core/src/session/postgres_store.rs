//! PostgreSQL session store, for several API replicas sharing sessions. Same schema and
//! semantics as the SQLite store; any driver error is `dependency_unavailable`, and so is a
//! corrupt row (`metadata.reason = "corrupt_row"`). Connections come from a
//! [`PgPool`](crate::pg_pool::PgPool): pooled, reconnecting, statements prepared once.

use postgres::Row;

use super::record::{SessionKind, SessionRecord, SessionStore};
use crate::error::Error;
use crate::pg_pool::{corrupt_row, PgPool};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inferwarden_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('generation', 'admin')),
    principal TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    idle_timeout_ms BIGINT,
    last_seen_ms BIGINT NOT NULL,
    revoked_ms BIGINT
);
CREATE INDEX IF NOT EXISTS inferwarden_sessions_expires ON inferwarden_sessions (expires_ms);
";

/// Connections kept for the request path (each decision with a session takes one).
const POOL_SIZE: usize = 4;

const LABEL: &str = "session store (postgres)";

const SELECT: &str =
    "SELECT id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms
     FROM inferwarden_sessions WHERE id = $1";
const TOUCH: &str = "UPDATE inferwarden_sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE id = $1 AND revoked_ms IS NULL";
const INSERT: &str = "INSERT INTO inferwarden_sessions (id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const REVOKE: &str =
    "UPDATE inferwarden_sessions SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL";
const REVOKE_ALL: &str = "UPDATE inferwarden_sessions SET revoked_ms = $1 WHERE revoked_ms IS NULL AND ($2::TEXT IS NULL OR kind = $2)";
const PRUNE: &str = "DELETE FROM inferwarden_sessions WHERE expires_ms <= $1 OR revoked_ms < $1";
const COUNT_ACTIVE: &str = "SELECT kind, COUNT(*) FROM inferwarden_sessions WHERE revoked_ms IS NULL \
    AND expires_ms > $1 AND (idle_timeout_ms IS NULL OR last_seen_ms + idle_timeout_ms > $1) GROUP BY kind";

/// A session store in PostgreSQL: a small pool of connections that reconnect, each with
/// its statements prepared once, so a lookup is one round trip.
pub struct PostgresSessionStore {
    pool: PgPool,
}

impl std::fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresSessionStore")
    }
}

impl PostgresSessionStore {
    /// Connects (`postgres://user@host:port/db`; `sslmode`/`sslrootcert` as in libpq, see [`crate::pg_tls`]) and
    /// migrates the schema.
    pub fn connect(url: &str) -> Result<Self, Error> {
        let pool = PgPool::connect(url, POOL_SIZE, LABEL, |c| c.batch_execute(SCHEMA))?;
        Ok(PostgresSessionStore { pool })
    }

    /// Runs the prepared statement `sql` as an update; returns the rows changed.
    fn execute(
        &self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, Error> {
        self.pool.with(|c| {
            let s = c.prepared(sql)?;
            c.client().execute(&s, params)
        })
    }
}

/// A corrupt row is `dependency_unavailable` with `reason = corrupt_row`, never a panic.
fn row_to_record(row: &Row) -> Result<SessionRecord, Error> {
    let get = |e: postgres::Error| corrupt_row(LABEL, e);
    let kind: &str = row.try_get(1).map_err(get)?;
    Ok(SessionRecord {
        id: row.try_get(0).map_err(get)?,
        kind: SessionKind::from_name(kind)
            .ok_or_else(|| corrupt_row(LABEL, format!("unknown session kind {kind:?}")))?,
        principal: row.try_get(2).map_err(get)?,
        created_ms: row.try_get(3).map_err(get)?,
        expires_ms: row.try_get(4).map_err(get)?,
        idle_timeout_ms: row.try_get(5).map_err(get)?,
        last_seen_ms: row.try_get(6).map_err(get)?,
        revoked_ms: row.try_get(7).map_err(get)?,
    })
}

impl SessionStore for PostgresSessionStore {
    fn insert(&self, r: &SessionRecord) -> Result<(), Error> {
        self.execute(
            INSERT,
            &[
                &r.id,
                &r.kind.as_str(),
                &r.principal,
                &r.created_ms,
                &r.expires_ms,
                &r.idle_timeout_ms,
                &r.last_seen_ms,
                &r.revoked_ms,
            ],
        )
        .map(|_| ())
    }

    fn get(&self, id: &str) -> Result<Option<SessionRecord>, Error> {
        let row = self.pool.with(|c| {
            let s = c.prepared(SELECT)?;
            c.client().query_opt(&s, &[&id])
        })?;
        row.as_ref().map(row_to_record).transpose()
    }

    fn touch(&self, id: &str, now_ms: i64) -> Result<(), Error> {
        self.execute(TOUCH, &[&id, &now_ms]).map(|_| ())
    }

    fn revoke(&self, id: &str, now_ms: i64) -> Result<bool, Error> {
        self.execute(REVOKE, &[&id, &now_ms]).map(|n| n == 1)
    }

    fn revoke_all(&self, kind: Option<SessionKind>, now_ms: i64) -> Result<u64, Error> {
        let kind = kind.map(SessionKind::as_str);
        self.execute(REVOKE_ALL, &[&now_ms, &kind])
    }

    fn prune_expired(&self, now_ms: i64) -> Result<u64, Error> {
        self.execute(PRUNE, &[&now_ms])
    }

    fn count_active(&self, now_ms: i64) -> Result<Option<(u64, u64)>, Error> {
        let rows = self.pool.with(|c| {
            let s = c.prepared(COUNT_ACTIVE)?;
            c.client().query(&s, &[&now_ms])
        })?;
        let mut counts = (0u64, 0u64);
        for row in &rows {
            let kind: String = row.try_get(0).map_err(|e| corrupt_row(LABEL, e))?;
            let n: i64 = row.try_get(1).map_err(|e| corrupt_row(LABEL, e))?;
            super::record::add_active(&mut counts, &kind, n);
        }
        Ok(Some(counts))
    }
}
