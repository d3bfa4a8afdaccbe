//! The SQLite audit store (the embedded default): WAL, `BEGIN IMMEDIATE` appends (so several
//! processes on one file append whole batches in turn), and triggers that refuse an update,
//! a delete other than retention's, an out-of-order insert and any change to tiles,
//! checkpoints or the retention anchor moving backwards.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};

use super::event::AuditEvent;
use super::merkle::Hash;
use super::record::{hash_from_bytes, AuditRecord};
use super::store::{
    write_completed_tiles, AuditMeta, AuditQuery, AuditStore, TileTx, TILE_RECORDS,
};
use crate::error::{Error, ErrorCode};

/// The schema and its guards (`IF NOT EXISTS`: it is its own migration, version 1).
pub const SQLITE_AUDIT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS iw_audit_log (
    seq INTEGER PRIMARY KEY,
    timestamp_ms INTEGER NOT NULL,
    actor TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    outcome TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS iw_audit_log_time ON iw_audit_log (timestamp_ms);
CREATE TABLE IF NOT EXISTS iw_audit_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_below INTEGER NOT NULL,
    anchor BLOB NOT NULL
);
INSERT OR IGNORE INTO iw_audit_meta (id, pruned_below, anchor) VALUES (1, 0, zeroblob(32));
CREATE TABLE IF NOT EXISTS iw_audit_tiles (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS iw_audit_checkpoints (
    size INTEGER PRIMARY KEY,
    note TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS iw_audit_log_no_update BEFORE UPDATE ON iw_audit_log
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_log_retention_only BEFORE DELETE ON iw_audit_log
    WHEN OLD.seq >= (SELECT pruned_below FROM iw_audit_meta WHERE id = 1)
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: audit records are deleted only by retention'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_log_contiguous BEFORE INSERT ON iw_audit_log
    WHEN NEW.seq IS NOT coalesce((SELECT max(seq) FROM iw_audit_log) + 1,
                                 (SELECT pruned_below FROM iw_audit_meta WHERE id = 1))
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: audit records are appended in sequence'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_meta_forward BEFORE UPDATE ON iw_audit_meta
    WHEN NEW.pruned_below <= OLD.pruned_below OR NEW.id IS NOT OLD.id
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: the retention cut only moves forward'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_meta_no_delete BEFORE DELETE ON iw_audit_meta
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: the retention anchor is kept'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_tiles_no_update BEFORE UPDATE ON iw_audit_tiles
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: tiles are append-only'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_tiles_no_delete BEFORE DELETE ON iw_audit_tiles
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: tiles are append-only'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_checkpoints_no_update BEFORE UPDATE ON iw_audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS iw_audit_checkpoints_no_delete BEFORE DELETE ON iw_audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'invalid_transition: checkpoints are append-only'); END;
";

const COLUMNS: &str =
    "seq, timestamp_ms, actor, source, action, target, outcome, correlation_id, details, prev_hash, hash";

fn db_err(e: rusqlite::Error) -> Error {
    match crate::sqlite_error::classify(&e) {
        // A guard's refusal, or a sequence number already taken.
        crate::sqlite_error::SqliteFailure::Guard
        | crate::sqlite_error::SqliteFailure::Duplicate => Error::with_detail(
            ErrorCode::InvalidTransition,
            "audit store (sqlite) refused the write (append-only guard)",
        )
        .with_cause(e),
        _ => crate::sqlite_error::unavailable("audit store (sqlite)", e),
    }
}

fn text_col(row: &Row<'_>, i: usize) -> rusqlite::Result<String> {
    // A value edited to another type still reads (as its text form), so verify can flag it.
    Ok(match row.get_ref(i)? {
        rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
        rusqlite::types::ValueRef::Real(f) => f.to_string(),
        rusqlite::types::ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        rusqlite::types::ValueRef::Null => String::new(),
    })
}

fn row_to_record(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    let timestamp_ms = match row.get_ref(1)? {
        rusqlite::types::ValueRef::Integer(n) => n,
        _ => i64::MIN,
    };
    let blob = |i: usize| -> rusqlite::Result<Hash> {
        Ok(match row.get_ref(i)? {
            rusqlite::types::ValueRef::Blob(b) => hash_from_bytes(b),
            _ => hash_from_bytes(&[]),
        })
    };
    Ok(AuditRecord {
        seq: row.get(0)?,
        timestamp_ms,
        actor: text_col(row, 2)?,
        source: text_col(row, 3)?,
        action: text_col(row, 4)?,
        target: text_col(row, 5)?,
        outcome: text_col(row, 6)?,
        correlation_id: text_col(row, 7)?,
        details: text_col(row, 8)?,
        prev_hash: blob(9)?,
        hash: blob(10)?,
    })
}

/// The SQLite audit store.
#[derive(Debug)]
pub struct SqliteAuditStore {
    conn: Mutex<Connection>,
}

struct SqliteTiles<'a, 'b>(&'a Transaction<'b>);

impl TileTx for SqliteTiles<'_, '_> {
    fn leaves(&mut self, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
        read_leaves(self.0, start, end)
    }

    fn tile_hashes(&mut self, level: u32, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
        Ok(read_tiles(self.0, level, start, end)?
            .into_iter()
            .map(|(_, h)| h)
            .collect())
    }

    fn put_tile(&mut self, level: u32, index: u64, hash: &Hash) -> Result<(), Error> {
        self.0
            .prepare_cached("INSERT INTO iw_audit_tiles (level, idx, hash) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![level, index as i64, &hash[..]]))
            .map_err(db_err)?;
        Ok(())
    }
}

fn read_leaves(conn: &Connection, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
    let mut stmt = conn
        .prepare_cached("SELECT hash FROM iw_audit_log WHERE seq >= ?1 AND seq < ?2 ORDER BY seq")
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![start as i64, end as i64], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .map_err(db_err)?;
    rows.map(|r| r.map(|b| hash_from_bytes(&b)).map_err(db_err))
        .collect()
}

fn read_tiles(
    conn: &Connection,
    level: u32,
    start: u64,
    end: u64,
) -> Result<Vec<(u64, Hash)>, Error> {
    let end = end.min(i64::MAX as u64);
    let mut stmt = conn
        .prepare_cached(
            "SELECT idx, hash FROM iw_audit_tiles WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx",
        )
        .map_err(db_err)?;
    let rows = stmt
        .query_map(params![level, start as i64, end as i64], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                hash_from_bytes(&r.get::<_, Vec<u8>>(1)?),
            ))
        })
        .map_err(db_err)?;
    rows.map(|r| r.map_err(db_err)).collect()
}

fn read_meta(conn: &Connection) -> Result<AuditMeta, Error> {
    let (pruned_below, anchor, max_seq): (i64, Vec<u8>, Option<i64>) = conn
        .query_row(
            "SELECT pruned_below, anchor, (SELECT max(seq) FROM iw_audit_log)
             FROM iw_audit_meta WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(db_err)?;
    let pruned_below = pruned_below.max(0) as u64;
    Ok(AuditMeta {
        pruned_below,
        anchor: hash_from_bytes(&anchor),
        size: max_seq
            .map(|s| s.max(-1).saturating_add(1) as u64)
            .unwrap_or(pruned_below)
            .max(pruned_below),
    })
}

impl SqliteAuditStore {
    /// Opens (creating and migrating) the log at `path` with a 10 s busy timeout.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open_with_busy_timeout(path, Duration::from_secs(10))
    }

    /// Opens with another busy timeout: an append that cannot take the write lock in time
    /// fails with `dependency_unavailable`.
    pub fn open_with_busy_timeout(path: impl AsRef<Path>, busy: Duration) -> Result<Self, Error> {
        let mut conn = Connection::open(path).map_err(db_err)?;
        conn.busy_timeout(busy).map_err(db_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        tx.execute_batch(SQLITE_AUDIT_SCHEMA).map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(SqliteAuditStore {
            conn: Mutex::new(conn),
        })
    }

    /// Opens an existing log read-only (what a verifier or an export should do: it never
    /// writes, not even the schema).
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, Error> {
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db_err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(db_err)?;
        Ok(SqliteAuditStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, Error> {
        self.conn.lock().map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "audit store lock poisoned",
            )
        })
    }
}

impl AuditStore for SqliteAuditStore {
    fn append(&self, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, Error> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let tail: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT seq, hash FROM iw_audit_log ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db_err)?;
        let (mut next, mut prev) = match tail {
            Some((seq, hash)) => (seq.saturating_add(1).max(0) as u64, hash_from_bytes(&hash)),
            None => {
                let meta = read_meta(&tx)?;
                (meta.pruned_below, meta.empty_tail())
            }
        };
        let old_size = next;
        let mut records = Vec::with_capacity(events.len());
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO iw_audit_log ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ))
                .map_err(db_err)?;
            for event in events {
                let r = AuditRecord::chained(event, next, prev);
                insert
                    .execute(params![
                        r.seq,
                        r.timestamp_ms,
                        r.actor,
                        r.source,
                        r.action,
                        r.target,
                        r.outcome,
                        r.correlation_id,
                        r.details,
                        &r.prev_hash[..],
                        &r.hash[..],
                    ])
                    .map_err(db_err)?;
                prev = r.hash;
                next += 1;
                records.push(r);
            }
        }
        write_completed_tiles(&mut SqliteTiles(&tx), old_size, next)?;
        tx.commit().map_err(db_err)?;
        Ok(records)
    }

    fn meta(&self) -> Result<AuditMeta, Error> {
        read_meta(&*self.conn()?)
    }

    fn count(&self) -> Result<u64, Error> {
        let n: i64 = self
            .conn()?
            .query_row("SELECT count(*) FROM iw_audit_log", [], |r| r.get(0))
            .map_err(db_err)?;
        Ok(n.max(0) as u64)
    }

    fn records(&self, from: i64, limit: usize) -> Result<Vec<AuditRecord>, Error> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM iw_audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map(params![from, limit as i64], row_to_record)
            .map_err(db_err)?;
        rows.map(|r| r.map_err(db_err)).collect()
    }

    fn record(&self, seq: i64) -> Result<Option<AuditRecord>, Error> {
        let conn = self.conn()?;
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM iw_audit_log WHERE seq = ?1"),
            [seq],
            row_to_record,
        )
        .optional()
        .map_err(db_err)
    }

    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, Error> {
        read_leaves(&*self.conn()?, start, end)
    }

    fn tiles(&self, level: u32, start: u64, end: u64) -> Result<Vec<(u64, Hash)>, Error> {
        read_tiles(&*self.conn()?, level, start, end)
    }

    fn save_checkpoint(&self, size: u64, note: &str) -> Result<(), Error> {
        self.conn()?
            .execute(
                "INSERT OR IGNORE INTO iw_audit_checkpoints (size, note) VALUES (?1, ?2)",
                params![size as i64, note],
            )
            .map_err(db_err)?;
        Ok(())
    }

    fn checkpoints(&self) -> Result<Vec<(u64, String)>, Error> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached("SELECT size, note FROM iw_audit_checkpoints ORDER BY size")
            .map_err(db_err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get(1)?)))
            .map_err(db_err)?;
        rows.map(|r| r.map_err(db_err)).collect()
    }

    fn prune(&self, cut: u64) -> Result<u64, Error> {
        if !cut.is_multiple_of(TILE_RECORDS) {
            return Err(Error::with_detail(
                ErrorCode::InternalError,
                "the retention cut is a multiple of 256",
            ));
        }
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err)?;
        let meta = read_meta(&tx)?;
        if cut <= meta.pruned_below || cut > meta.size {
            return Ok(0);
        }
        let anchor: Vec<u8> = tx
            .query_row(
                "SELECT hash FROM iw_audit_log WHERE seq = ?1",
                [cut as i64 - 1],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        tx.execute(
            "UPDATE iw_audit_meta SET pruned_below = ?1, anchor = ?2 WHERE id = 1",
            params![cut as i64, anchor],
        )
        .map_err(db_err)?;
        let deleted = tx
            .execute("DELETE FROM iw_audit_log WHERE seq < ?1", [cut as i64])
            .map_err(db_err)?;
        tx.commit().map_err(db_err)?;
        Ok(deleted as u64)
    }

    fn query(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, Error> {
        let conn = self.conn()?;
        let order = if query.newest_first { "DESC" } else { "ASC" };
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM iw_audit_log
                 WHERE (?1 IS NULL OR timestamp_ms >= ?1) AND (?2 IS NULL OR timestamp_ms < ?2)
                   AND (?3 IS NULL OR actor = ?3) AND (?4 IS NULL OR action = ?4)
                   AND (?5 IS NULL OR source = ?5) AND (?6 IS NULL OR outcome = ?6)
                   AND (?7 IS NULL OR correlation_id = ?7)
                   AND seq > ?8 AND seq < ?9
                 ORDER BY seq {order} LIMIT ?10"
            ))
            .map_err(db_err)?;
        let rows = stmt
            .query_map(
                params![
                    query.since_ms,
                    query.until_ms,
                    query.actor,
                    query.action,
                    query.source,
                    query.outcome,
                    query.correlation_id,
                    query.after_seq.unwrap_or(-1),
                    query.before_seq.unwrap_or(i64::MAX),
                    query.page_size() as i64,
                ],
                row_to_record,
            )
            .map_err(db_err)?;
        rows.map(|r| r.map_err(db_err)).collect()
    }
}
