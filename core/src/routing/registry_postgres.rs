//! The worker-account registry in PostgreSQL (feature `postgres`), shared by several API
//! replicas. Same table and semantics as the SQLite registry: rows are validated again when
//! read. Connections come from a [`PgPool`](crate::pg_pool::PgPool): pooled, reopened when
//! the server closed them, statements prepared once. Driver errors are
//! `dependency_unavailable` and never carry the connection URL.

use std::sync::Arc;

use postgres::Row;

use super::registry::WorkspaceRegistry;
use crate::error::{Error, ErrorCode};
use crate::pg_pool::{col, PgPool};
use crate::workspace::TargetPolicy;
use crate::workspace::{WorkspaceEntry, WorkspaceStatus};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inferwarden_workspaces (
    workspace TEXT PRIMARY KEY NOT NULL,
    base_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed', 'disabled')),
    credential_ref TEXT NOT NULL,
    allow_private BOOLEAN NOT NULL
);
";

/// The store's name in errors.
const LABEL: &str = "workspace registry (postgres)";

/// Connections kept (registry reads happen per proxied request).
const POOL_SIZE: usize = 2;

const GET: &str = "SELECT workspace, base_url, status, credential_ref, allow_private \
     FROM inferwarden_workspaces WHERE workspace = $1";
const READY: &str = "SELECT workspace, base_url, status, credential_ref, allow_private \
     FROM inferwarden_workspaces WHERE status = 'ready' ORDER BY workspace";
const UPSERT: &str = "INSERT INTO inferwarden_workspaces \
     (workspace, base_url, status, credential_ref, allow_private) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (workspace) DO UPDATE SET base_url = excluded.base_url, \
     status = excluded.status, credential_ref = excluded.credential_ref, \
     allow_private = excluded.allow_private";
const SET_STATUS: &str = "UPDATE inferwarden_workspaces SET status = $2 WHERE workspace = $1";

/// A workspace registry in PostgreSQL: a small pool of reconnecting connections
/// ([`PgPool`]), each with its statements prepared once.
pub struct PostgresRegistry {
    pool: PgPool,
    policy: TargetPolicy,
}

impl std::fmt::Debug for PostgresRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresRegistry")
    }
}

impl PostgresRegistry {
    /// Connects (`postgres://user@host:port/db`; `sslmode`/`sslrootcert` as in libpq, see [`crate::pg_tls`]) and
    /// creates the table; rows are validated under `policy`.
    pub fn connect(url: &str, policy: TargetPolicy) -> Result<Self, Error> {
        let pool = PgPool::connect(url, POOL_SIZE, LABEL, |c| c.batch_execute(SCHEMA))?;
        Ok(PostgresRegistry { pool, policy })
    }

    fn build(&self, row: &Row) -> Result<WorkspaceEntry, Error> {
        WorkspaceEntry::from_stored(
            col(row, 0, LABEL)?,
            col(row, 1, LABEL)?,
            col(row, 2, LABEL)?,
            col(row, 3, LABEL)?,
            col(row, 4, LABEL)?,
            &self.policy,
        )
    }
}

impl WorkspaceRegistry for PostgresRegistry {
    fn get(&self, workspace: &str) -> Result<Option<Arc<WorkspaceEntry>>, Error> {
        let row = self.pool.with(|c| {
            let s = c.prepared(GET)?;
            c.client().query_opt(&s, &[&workspace])
        })?;
        row.map(|r| self.build(&r).map(Arc::new)).transpose()
    }

    fn ready(&self) -> Result<Vec<Arc<WorkspaceEntry>>, Error> {
        let rows = self.pool.with(|c| {
            let s = c.prepared(READY)?;
            c.client().query(&s, &[])
        })?;
        Ok(rows
            .iter()
            .filter_map(|r| self.build(r).ok().map(Arc::new))
            .collect())
    }

    fn upsert(&self, entry: WorkspaceEntry) -> Result<(), Error> {
        let base_url = entry.base_url.base_url();
        self.pool.with(|c| {
            let s = c.prepared(UPSERT)?;
            c.client().execute(
                &s,
                &[
                    &entry.workspace,
                    &base_url,
                    &entry.status.as_str(),
                    &entry.credential_ref,
                    &entry.allow_private_addresses,
                ],
            )
        })?;
        Ok(())
    }

    fn set_status(&self, workspace: &str, status: WorkspaceStatus) -> Result<(), Error> {
        let n = self.pool.with(|c| {
            let s = c.prepared(SET_STATUS)?;
            c.client().execute(&s, &[&workspace, &status.as_str()])
        })?;
        if n == 0 {
            return Err(Error::new(ErrorCode::TaskNotFound));
        }
        Ok(())
    }
}
