//! What a SQLite error means, read from its (extended) result code, never from SQLite's
//! message text, which changes between versions and names the caller's schema: the one
//! rule every SQLite store maps its errors by. Feature `sqlite`.
//!
//! The only text looked at is the store's own: a guard trigger refuses a write with
//! `RAISE(ABORT, 'invalid_transition: ...')`, which SQLite reports as
//! `SQLITE_CONSTRAINT_TRIGGER`; the prefix tells the store's guards from a trigger someone
//! else added (which stays a failed call).

use rusqlite::ffi;

use crate::error::{Error, ErrorCode};

/// What went wrong, by result code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteFailure {
    /// One of the store's guard triggers refused the write (`SQLITE_CONSTRAINT_TRIGGER` with
    /// the `invalid_transition:` prefix the store's triggers use).
    Guard,
    /// A `UNIQUE` or `PRIMARY KEY` constraint (`SQLITE_CONSTRAINT_UNIQUE`,
    /// `SQLITE_CONSTRAINT_PRIMARYKEY`).
    Duplicate,
    /// Another connection holds the lock (`SQLITE_BUSY`, `SQLITE_LOCKED`): retryable.
    Busy,
    /// A value that does not decode as the column's type.
    Corrupt,
    /// A damaged file, or not a database (`SQLITE_CORRUPT`, `SQLITE_NOTADB`).
    DamagedFile,
    /// The disk is full (`SQLITE_FULL`).
    DiskFull,
    /// Anything else: the call failed.
    Other,
}

/// The prefix of the store's own guard-trigger messages.
pub const GUARD_PREFIX: &str = "invalid_transition:";

/// Classifies `e` by its result code.
pub fn classify(e: &rusqlite::Error) -> SqliteFailure {
    match e {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => return SqliteFailure::Corrupt,
        rusqlite::Error::SqliteFailure(err, message) => match err.extended_code {
            ffi::SQLITE_CONSTRAINT_TRIGGER
                if message
                    .as_deref()
                    .is_some_and(|m| m.starts_with(GUARD_PREFIX)) =>
            {
                return SqliteFailure::Guard
            }
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return SqliteFailure::Duplicate
            }
            _ => {}
        },
        _ => {}
    }
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            SqliteFailure::Busy
        }
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
            SqliteFailure::DamagedFile
        }
        Some(rusqlite::ErrorCode::DiskFull) => SqliteFailure::DiskFull,
        _ => SqliteFailure::Other,
    }
}

/// `dependency_unavailable` for the store `label`: the detail says what kind of failure it
/// was, `metadata` carries `busy` (retryable) and `reason` (`corrupt_row`, `corrupt_database`,
/// `disk_full`)
/// where they apply, and SQLite's own text is only the server-side cause.
pub fn unavailable(label: &str, e: rusqlite::Error) -> Error {
    let kind = classify(&e);
    let detail = match kind {
        SqliteFailure::Corrupt => format!("{label}: corrupt row"),
        SqliteFailure::Busy => format!("{label}: the database is locked by another writer"),
        SqliteFailure::DiskFull => format!("{label}: the disk is full"),
        SqliteFailure::DamagedFile => format!("{label}: the database file is damaged"),
        _ => format!("{label}: the database call failed"),
    };
    let err = Error::with_detail(ErrorCode::DependencyUnavailable, detail)
        .meta("busy", kind == SqliteFailure::Busy)
        .with_cause(e);
    match kind {
        SqliteFailure::Corrupt => err.meta("reason", "corrupt_row"),
        SqliteFailure::DiskFull => err.meta("reason", "disk_full"),
        SqliteFailure::DamagedFile => err.meta("reason", "corrupt_database"),
        _ => err,
    }
}
