//! PostgreSQL session store, for several API replicas sharing sessions. Same schema and
//! semantics as the SQLite store; any driver error is `dependency_unavailable`.

use std::sync::Mutex;

use postgres::{Client, NoTls, Row};

use super::record::{SessionKind, SessionRecord, SessionStore};
use crate::error::{Error, ErrorCode};

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

fn unavailable(e: postgres::Error) -> Error {
    // The driver's message can include the connection target but never a session token:
    // only token hashes are ever sent.
    let kind = if e.is_closed() {
        "connection closed"
    } else {
        "query failed"
    };
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        format!("session store (postgres): {kind}"),
    )
}

/// A session store in PostgreSQL.
pub struct PostgresSessionStore {
    client: Mutex<Client>,
}

impl std::fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresSessionStore")
    }
}

impl PostgresSessionStore {
    /// Connects (`postgres://user@host:port/db`, no TLS: loopback or a private network) and
    /// migrates the schema.
    pub fn connect(url: &str) -> Result<Self, Error> {
        let mut client = Client::connect(url, NoTls).map_err(unavailable)?;
        client.batch_execute(SCHEMA).map_err(unavailable)?;
        Ok(PostgresSessionStore {
            client: Mutex::new(client),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, Error> {
        let mut client = self.client.lock().map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "session store lock poisoned",
            )
        })?;
        f(&mut client).map_err(unavailable)
    }
}

fn row_to_record(row: &Row) -> Option<SessionRecord> {
    Some(SessionRecord {
        id: row.get(0),
        kind: SessionKind::from_name(row.get::<_, &str>(1))?,
        principal: row.get(2),
        created_ms: row.get(3),
        expires_ms: row.get(4),
        idle_timeout_ms: row.get(5),
        last_seen_ms: row.get(6),
        revoked_ms: row.get(7),
    })
}

impl SessionStore for PostgresSessionStore {
    fn insert(&self, r: &SessionRecord) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT INTO inferwarden_sessions (id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[&r.id, &r.kind.as_str(), &r.principal, &r.created_ms, &r.expires_ms, &r.idle_timeout_ms, &r.last_seen_ms, &r.revoked_ms],
            )
            .map(|_| ())
        })
    }

    fn get(&self, id: &str) -> Result<Option<SessionRecord>, Error> {
        let row = self.with(|c| {
            c.query_opt(
                "SELECT id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms
                 FROM inferwarden_sessions WHERE id = $1",
                &[&id],
            )
        })?;
        match row {
            None => Ok(None),
            Some(row) => row_to_record(&row).map(Some).ok_or_else(|| {
                Error::with_detail(
                    ErrorCode::DependencyUnavailable,
                    "session store (postgres): corrupt row",
                )
            }),
        }
    }

    fn touch(&self, id: &str, now_ms: i64) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "UPDATE inferwarden_sessions SET last_seen_ms = GREATEST(last_seen_ms, $2) WHERE id = $1 AND revoked_ms IS NULL",
                &[&id, &now_ms],
            )
            .map(|_| ())
        })
    }

    fn revoke(&self, id: &str, now_ms: i64) -> Result<bool, Error> {
        self.with(|c| {
            c.execute("UPDATE inferwarden_sessions SET revoked_ms = $2 WHERE id = $1 AND revoked_ms IS NULL", &[&id, &now_ms])
                .map(|n| n == 1)
        })
    }

    fn revoke_all(&self, kind: Option<SessionKind>, now_ms: i64) -> Result<u64, Error> {
        let kind = kind.map(SessionKind::as_str);
        self.with(|c| {
            c.execute(
                "UPDATE inferwarden_sessions SET revoked_ms = $1 WHERE revoked_ms IS NULL AND ($2::TEXT IS NULL OR kind = $2)",
                &[&now_ms, &kind],
            )
        })
    }

    fn prune_expired(&self, now_ms: i64) -> Result<u64, Error> {
        self.with(|c| {
            c.execute(
                "DELETE FROM inferwarden_sessions WHERE expires_ms <= $1 OR revoked_ms < $1",
                &[&now_ms],
            )
        })
    }
}
