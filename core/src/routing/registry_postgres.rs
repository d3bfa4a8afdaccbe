//! The worker-account registry in PostgreSQL (feature `postgres`), shared by several API
//! replicas. Same table and semantics as the SQLite registry: rows are validated again when
//! read. The connection is replaced when the server closed it. Driver errors are
//! `dependency_unavailable` and never carry the connection URL.

use std::sync::{Arc, Mutex, MutexGuard};

use postgres::{Client, NoTls, Row};

use super::registry::{WorkspaceEntry, WorkspaceRegistry, WorkspaceStatus};
use super::target_url::TargetPolicy;
use crate::error::{Error, ErrorCode};
use crate::pg_pool::col;
use crate::secret::Secret;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inferwarden_workspaces (
    workspace TEXT PRIMARY KEY NOT NULL,
    base_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed', 'disabled')),
    credential_ref TEXT NOT NULL,
    allow_private BOOLEAN NOT NULL
);
";

const COLUMNS: &str = "workspace, base_url, status, credential_ref, allow_private";

fn unavailable(e: postgres::Error) -> Error {
    let kind = if e.is_closed() {
        "connection closed"
    } else {
        "query failed"
    };
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        format!("workspace registry (postgres): {kind}"),
    )
}

/// A workspace registry in PostgreSQL.
pub struct PostgresRegistry {
    client: Mutex<Client>,
    url: Secret,
    policy: TargetPolicy,
}

impl std::fmt::Debug for PostgresRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresRegistry")
    }
}

impl PostgresRegistry {
    /// Connects (`postgres://user@host:port/db`, no TLS: loopback or a private network) and
    /// creates the table; rows are validated under `policy`.
    pub fn connect(url: &str, policy: TargetPolicy) -> Result<Self, Error> {
        let mut client = Client::connect(url, NoTls).map_err(unavailable)?;
        client.batch_execute(SCHEMA).map_err(unavailable)?;
        Ok(PostgresRegistry {
            client: Mutex::new(client),
            url: Secret::new(url.to_owned()),
            policy,
        })
    }

    fn client(&self) -> Result<MutexGuard<'_, Client>, Error> {
        let mut client = self.client.lock().map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "workspace registry lock poisoned",
            )
        })?;
        if client.is_closed() {
            *client = Client::connect(self.url.expose(), NoTls).map_err(unavailable)?;
        }
        Ok(client)
    }

    fn build(&self, row: &Row) -> Result<WorkspaceEntry, Error> {
        const LABEL: &str = "workspace registry (postgres)";
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
        let row = self
            .client()?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM inferwarden_workspaces WHERE workspace = $1"),
                &[&workspace],
            )
            .map_err(unavailable)?;
        row.map(|r| self.build(&r).map(Arc::new)).transpose()
    }

    fn ready(&self) -> Result<Vec<Arc<WorkspaceEntry>>, Error> {
        let rows = self
            .client()?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM inferwarden_workspaces WHERE status = 'ready' \
                     ORDER BY workspace"
                ),
                &[],
            )
            .map_err(unavailable)?;
        Ok(rows
            .iter()
            .filter_map(|r| self.build(r).ok().map(Arc::new))
            .collect())
    }

    fn upsert(&self, entry: WorkspaceEntry) -> Result<(), Error> {
        self.client()?
            .execute(
                &format!(
                    "INSERT INTO inferwarden_workspaces ({COLUMNS}) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (workspace) DO UPDATE SET base_url = excluded.base_url, \
                     status = excluded.status, credential_ref = excluded.credential_ref, \
                     allow_private = excluded.allow_private"
                ),
                &[
                    &entry.workspace,
                    &entry.base_url.base_url(),
                    &entry.status.as_str(),
                    &entry.credential_ref,
                    &entry.allow_private_addresses,
                ],
            )
            .map_err(unavailable)?;
        Ok(())
    }

    fn set_status(&self, workspace: &str, status: WorkspaceStatus) -> Result<(), Error> {
        let n = self
            .client()?
            .execute(
                "UPDATE inferwarden_workspaces SET status = $2 WHERE workspace = $1",
                &[&workspace, &status.as_str()],
            )
            .map_err(unavailable)?;
        if n == 0 {
            return Err(Error::new(ErrorCode::TaskNotFound));
        }
        Ok(())
    }
}
