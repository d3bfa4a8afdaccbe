//! SQLite session store (the embedded default): one table, WAL mode, a busy timeout, only
//! token hashes stored. Any SQLite error is `dependency_unavailable` (fail closed).
//!
//! Lookups are answered from a cache of the records read before while the database's
//! WAL-index header is unchanged ([`crate::sqlite_wal_stamp`]): a revocation or any other
//! commit, by any connection in any process, makes the next lookup read the database.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use super::record::{SessionKind, SessionRecord, SessionStore};
use super::sqlite_record_cache::RecordCache;
use crate::error::{Error, ErrorCode};
use crate::sqlite_error::SqliteFailure;
use crate::sqlite_wal_stamp::WalStamp;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS inferwarden_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('generation', 'admin')),
    principal TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    idle_timeout_ms INTEGER,
    last_seen_ms INTEGER NOT NULL,
    revoked_ms INTEGER
);
CREATE INDEX IF NOT EXISTS inferwarden_sessions_expires ON inferwarden_sessions (expires_ms);
";

/// How long a call waits for another writer's lock (outside a [`crate::no_wait`] try).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const LABEL: &str = "session store (sqlite)";

fn unavailable(e: rusqlite::Error) -> Error {
    crate::sqlite_error::unavailable(LABEL, e)
}

/// A session store in a SQLite file (or `:memory:`).
#[derive(Debug)]
pub struct SqliteSessionStore {
    state: Mutex<Guarded>,
}

/// What a store's record cache has done ([`SqliteSessionStore::cache_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordCacheCounts {
    /// Lookups answered from the cache (the database unchanged since the record was read).
    pub hits: u64,
    /// Lookups under a stamp that read the database instead: a record not kept, or kept
    /// under an older stamp, or one that had used up its answers.
    pub misses: u64,
    /// Records kept now.
    pub kept: usize,
}

/// What the store's lock guards: the connection, and the cache of records read through it.
#[derive(Debug)]
struct Guarded {
    conn: Connection,
    /// `None` when the database is not in WAL mode with normal locking (`:memory:`): every
    /// lookup reads it. When `Some`, `conn` meets [`WalStamp::read`]'s safety conditions.
    cache: Option<RecordCache>,
}

impl SqliteSessionStore {
    /// Opens (creating if needed) the database at `path` and migrates the schema.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let conn = Connection::open(path).map_err(unavailable)?;
        Self::init(conn)
    }

    /// A private in-memory database.
    pub fn in_memory() -> Result<Self, Error> {
        Self::init(Connection::open_in_memory().map_err(unavailable)?)
    }

    fn init(conn: Connection) -> Result<Self, Error> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        let journal: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(unavailable)?;
        let locking: String = conn
            .pragma_query_value(None, "locking_mode", |row| row.get(0))
            .map_err(unavailable)?;
        // A transaction in WAL mode: SQLite opens and maps the shared memory.
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        // The cache reads the WAL-index header (`WalStamp::read`): only in WAL mode with
        // normal locking, which the store never changes afterwards.
        let cache = (journal.eq_ignore_ascii_case("wal") && locking.eq_ignore_ascii_case("normal"))
            .then(RecordCache::default);
        Ok(SqliteSessionStore {
            state: Mutex::new(Guarded { conn, cache }),
        })
    }

    /// What the record cache has done since the store opened; `None` when the database is
    /// not in WAL mode (in memory), where every lookup reads it.
    pub fn cache_counts(&self) -> Result<Option<RecordCacheCounts>, Error> {
        let state = self.state.lock().map_err(|_| poisoned())?;
        Ok(state.cache.as_ref().map(|cache| {
            let (hits, misses) = cache.counts();
            RecordCacheCounts {
                hits,
                misses,
                kept: cache.kept(),
            }
        }))
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        self.with_state(|state| f(&state.conn))
    }

    fn with_state<T>(
        &self,
        f: impl FnOnce(&mut Guarded) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        if crate::no_wait::must_not_wait() {
            return self.with_no_wait(f);
        }
        let mut state = self.state.lock().map_err(|_| poisoned())?;
        f(&mut state).map_err(unavailable)
    }

    /// `with_state` inside a [`crate::no_wait`] try: the connection only if it is free, a
    /// zero busy timeout, and [`crate::no_wait::would_block`] instead of waiting.
    fn with_no_wait<T>(
        &self,
        f: impl FnOnce(&mut Guarded) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let mut state: MutexGuard<'_, Guarded> = match self.state.try_lock() {
            Ok(state) => state,
            Err(TryLockError::WouldBlock) => return Err(crate::no_wait::would_block(LABEL)),
            Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
        };
        state
            .conn
            .busy_timeout(Duration::ZERO)
            .map_err(unavailable)?;
        let out = f(&mut state);
        state.conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        match out {
            Ok(v) => Ok(v),
            Err(e) if crate::sqlite_error::classify(&e) == SqliteFailure::Busy => {
                Err(crate::no_wait::would_block(LABEL))
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

impl Guarded {
    /// The record of `id`: from the cache while the database's stamp is the one it was read
    /// under, otherwise read (and kept when the stamp did not change across the read).
    fn get(&mut self, id: &str) -> rusqlite::Result<Option<SessionRecord>> {
        let Some(cache) = self.cache.as_mut() else {
            return read_record(&self.conn, id);
        };
        let before = stamp(&self.conn);
        if let Some(stamp) = before {
            if let Some(record) = cache.lookup(id, stamp) {
                return Ok(Some(record));
            }
        }
        let found = read_record(&self.conn, id)?;
        match (&found, before) {
            (Some(record), Some(before)) if stamp(&self.conn) == Some(before) => {
                cache.fill(record, before);
            }
            _ => cache.forget(id),
        }
        Ok(found)
    }
}

/// The WAL stamp of the store's connection (only called when the store keeps a cache).
fn stamp(conn: &Connection) -> Option<WalStamp> {
    // SAFETY: a store keeps a cache only when its connection is in WAL mode with normal
    // locking after a transaction (`init`), and it never changes either mode; the caller
    // holds the store's lock, so it is the connection's only user.
    #[allow(unsafe_code)]
    unsafe {
        WalStamp::read(conn)
    }
}

fn read_record(conn: &Connection, id: &str) -> rusqlite::Result<Option<SessionRecord>> {
    conn.prepare_cached(
        "SELECT id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms
         FROM inferwarden_sessions WHERE id = ?1",
    )?
    .query_row(params![id], row_to_record)
    .optional()
}

impl SqliteSessionStore {
    #[cfg(feature = "test-hooks")]
    /// Runs `f` with the store's connection while no other store call can run: how tests
    /// make the store busy for a while (another thread in the middle of a call). `f` must
    /// not change the journal or locking mode (the record cache relies on both).
    pub fn with_connection<T>(&self, f: impl FnOnce(&Connection) -> T) -> Result<T, Error> {
        let state = self.state.lock().map_err(|_| poisoned())?;
        Ok(f(&state.conn))
    }
}

fn poisoned() -> Error {
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        "session store lock poisoned",
    )
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<SessionRecord> {
    let kind: String = row.get(1)?;
    Ok(SessionRecord {
        id: row.get(0)?,
        kind: SessionKind::from_name(&kind).ok_or(rusqlite::Error::InvalidColumnType(
            1,
            "kind".into(),
            rusqlite::types::Type::Text,
        ))?,
        principal: row.get(2)?,
        created_ms: row.get(3)?,
        expires_ms: row.get(4)?,
        idle_timeout_ms: row.get(5)?,
        last_seen_ms: row.get(6)?,
        revoked_ms: row.get(7)?,
    })
}

impl SessionStore for SqliteSessionStore {
    fn insert(&self, r: &SessionRecord) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT INTO inferwarden_sessions (id, kind, principal, created_ms, expires_ms, idle_timeout_ms, last_seen_ms, revoked_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![r.id, r.kind.as_str(), r.principal, r.created_ms, r.expires_ms, r.idle_timeout_ms, r.last_seen_ms, r.revoked_ms],
            )
            .map(|_| ())
        })
    }

    fn get(&self, id: &str) -> Result<Option<SessionRecord>, Error> {
        self.with_state(|state| state.get(id))
    }

    fn touch(&self, id: &str, now_ms: i64) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "UPDATE inferwarden_sessions SET last_seen_ms = MAX(last_seen_ms, ?2) WHERE id = ?1 AND revoked_ms IS NULL",
                params![id, now_ms],
            )
            .map(|_| ())
        })
    }

    fn revoke(&self, id: &str, now_ms: i64) -> Result<bool, Error> {
        self.with(|c| {
            c.execute("UPDATE inferwarden_sessions SET revoked_ms = ?2 WHERE id = ?1 AND revoked_ms IS NULL", params![id, now_ms])
                .map(|n| n == 1)
        })
    }

    fn revoke_all(&self, kind: Option<SessionKind>, now_ms: i64) -> Result<u64, Error> {
        self.with(|c| {
            c.execute(
                "UPDATE inferwarden_sessions SET revoked_ms = ?1 WHERE revoked_ms IS NULL AND (?2 IS NULL OR kind = ?2)",
                params![now_ms, kind.map(SessionKind::as_str)],
            )
            .map(|n| n as u64)
        })
    }

    fn prune_expired(&self, now_ms: i64) -> Result<u64, Error> {
        self.with(|c| {
            c.execute(
                "DELETE FROM inferwarden_sessions WHERE expires_ms <= ?1 OR revoked_ms < ?1",
                params![now_ms],
            )
            .map(|n| n as u64)
        })
    }

    fn count_active(&self, now_ms: i64) -> Result<Option<(u64, u64)>, Error> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT kind, COUNT(*) FROM inferwarden_sessions WHERE revoked_ms IS NULL \
                 AND expires_ms > ?1 AND (idle_timeout_ms IS NULL OR last_seen_ms + idle_timeout_ms > ?1) \
                 GROUP BY kind",
            )?;
            let rows = stmt.query_map(params![now_ms], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            let mut counts = (0u64, 0u64);
            for row in rows {
                let (kind, n) = row?;
                super::record::add_active(&mut counts, &kind, n);
            }
            Ok(Some(counts))
        })
    }

    fn can_try_without_waiting(&self) -> bool {
        true
    }
}
