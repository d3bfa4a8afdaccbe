//! The worker-account registry in SQLite (feature `sqlite`): one table, WAL mode, a busy
//! timeout. Every row read back is validated again under the registry's [`TargetPolicy`], so a
//! row edited by hand, or written before the policy was tightened, is refused
//! (`proxy_target_invalid`) instead of trusted. Any SQLite error is `dependency_unavailable`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::registry::WorkspaceRegistry;
use crate::error::{Error, ErrorCode};
use crate::workspace::TargetPolicy;
use crate::workspace::{WorkspaceEntry, WorkspaceStatus};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inferwarden_workspaces (
    workspace TEXT PRIMARY KEY NOT NULL,
    base_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'failed', 'disabled')),
    credential_ref TEXT NOT NULL,
    allow_private INTEGER NOT NULL CHECK (allow_private IN (0, 1))
);
";

const COLUMNS: &str = "workspace, base_url, status, credential_ref, allow_private";

fn unavailable(e: rusqlite::Error) -> Error {
    crate::sqlite_error::unavailable("workspace registry (sqlite)", e)
}

/// A workspace registry in a SQLite file (or `:memory:`).
#[derive(Debug)]
pub struct SqliteRegistry {
    conn: Mutex<Connection>,
    policy: TargetPolicy,
}

fn read_row(row: &Row<'_>) -> rusqlite::Result<(String, String, String, String, bool)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

impl SqliteRegistry {
    /// Opens (creating if needed) the database at `path`; rows are validated under `policy`.
    pub fn open(path: impl AsRef<Path>, policy: TargetPolicy) -> Result<Self, Error> {
        Self::init(Connection::open(path).map_err(unavailable)?, policy)
    }

    /// A private in-memory database.
    pub fn in_memory(policy: TargetPolicy) -> Result<Self, Error> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?, policy)
    }

    fn init(conn: Connection, policy: TargetPolicy) -> Result<Self, Error> {
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(unavailable)?;
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        Ok(SqliteRegistry {
            conn: Mutex::new(conn),
            policy,
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self.conn.lock().map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "workspace registry lock poisoned",
            )
        })?;
        f(&conn).map_err(unavailable)
    }

    fn build(
        &self,
        parts: (String, String, String, String, bool),
    ) -> Result<WorkspaceEntry, Error> {
        let (w, u, s, c, p) = parts;
        WorkspaceEntry::from_stored(&w, &u, &s, &c, p, &self.policy)
    }
}

impl WorkspaceRegistry for SqliteRegistry {
    fn get(&self, workspace: &str) -> Result<Option<Arc<WorkspaceEntry>>, Error> {
        let row = self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM inferwarden_workspaces WHERE workspace = ?1"
            ))?
            .query_row(params![workspace], read_row)
            .optional()
        })?;
        row.map(|r| self.build(r).map(Arc::new)).transpose()
    }

    fn ready(&self) -> Result<Vec<Arc<WorkspaceEntry>>, Error> {
        let rows = self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM inferwarden_workspaces WHERE status = 'ready' \
                 ORDER BY workspace"
            ))?
            .query_map([], read_row)?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        // A row that no longer validates is left out of the fan-out, never contacted.
        Ok(rows
            .into_iter()
            .filter_map(|r| self.build(r).ok().map(Arc::new))
            .collect())
    }

    fn upsert(&self, entry: WorkspaceEntry) -> Result<(), Error> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "INSERT INTO inferwarden_workspaces ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (workspace) DO UPDATE SET base_url = excluded.base_url, \
                 status = excluded.status, credential_ref = excluded.credential_ref, \
                 allow_private = excluded.allow_private"
            ))?
            .execute(params![
                entry.workspace,
                entry.base_url.base_url(),
                entry.status.as_str(),
                entry.credential_ref,
                entry.allow_private_addresses
            ])
        })?;
        Ok(())
    }

    fn set_status(&self, workspace: &str, status: WorkspaceStatus) -> Result<(), Error> {
        let n = self.with(|c| {
            c.prepare_cached("UPDATE inferwarden_workspaces SET status = ?2 WHERE workspace = ?1")?
                .execute(params![workspace, status.as_str()])
        })?;
        if n == 0 {
            return Err(Error::new(ErrorCode::TaskNotFound));
        }
        Ok(())
    }
}
