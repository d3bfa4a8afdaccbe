//! A small pool of PostgreSQL connections, the one connection type every PostgreSQL store
//! uses: each connection keeps its prepared statements (one round trip per query after the
//! first) and any per-connection state its store needs, a connection the server closed is
//! dropped and reopened on next use, and a call takes whichever connection is free, so
//! concurrent callers do not queue behind one mutex. Connections honour libpq's `sslmode`
//! and `sslrootcert` ([`crate::pg_tls`]). Every failure is `dependency_unavailable` naming
//! the store and what failed; the driver's text (which can carry the server's address) is
//! only the server-side cause, never the detail. Feature `postgres`.
//!
//! A call that fails because the connection closed runs once more on a new connection:
//! reads, conditional updates and inserts whose duplicate the key refuses are safe to
//! resend, and a transaction the server never committed rolled back. A transaction whose
//! COMMIT was sent when the connection closed may or may not have committed: [`commit`]
//! reports it as `reason = commit_unknown`, and that is never retried.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use postgres::{Client, Statement, Transaction};

use crate::error::{Error, ErrorCode};
use crate::pg_tls::{is_tls_failure, PgTarget};

/// One connection, its prepared statements (keyed by their SQL text) and the store's
/// per-connection state `S` (reset when the connection is replaced).
pub struct PgConn<S = ()> {
    client: Client,
    statements: HashMap<&'static str, Statement>,
    /// The store's state for this connection (e.g. statements it prepares itself).
    pub state: S,
}

impl<S> PgConn<S> {
    /// The statement for `sql`, prepared on this connection the first time.
    pub fn prepared(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    /// The connection itself (for batches and transactions).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The connection and the store's state, borrowed together.
    pub fn parts(&mut self) -> (&mut Client, &mut S) {
        (&mut self.client, &mut self.state)
    }
}

/// A pool of up to `size` connections to one URL.
pub struct PgPool<S = ()> {
    target: PgTarget,
    label: &'static str,
    slots: Vec<Mutex<Option<PgConn<S>>>>,
    next: AtomicUsize,
}

impl<S> std::fmt::Debug for PgPool<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PgPool({}, {} connections)",
            self.label,
            self.slots.len()
        )
    }
}

/// Whether `e` means the connection is gone: the driver saw it close, or the server said
/// it is ending the session (SQLSTATE class 08, connection exception, or 57P01-57P03:
/// terminated by an administrator, a crash shutdown, a server starting up). The error can
/// arrive before the driver notices the socket closing, so the code is read too.
pub fn connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.as_db_error().is_some_and(|db| {
            let code = db.code().code();
            code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
        })
}

/// `dependency_unavailable` for a driver error of the store `label`; a lost connection
/// carries `reason = connection_lost` (the pool then reopens it and runs the call again).
pub fn unavailable(label: &str, e: &postgres::Error) -> Error {
    let kind = if connection_lost(e) {
        "connection closed"
    } else if e.as_db_error().is_some() {
        "query failed"
    } else if is_tls_failure(e) {
        "TLS negotiation failed (see sslmode and sslrootcert)"
    } else {
        "cannot reach the server"
    };
    let cause = match e.as_db_error() {
        Some(db) => format!("{} {}", db.code().code(), db.message()),
        None => e.to_string(),
    };
    let err = Error::with_detail(ErrorCode::DependencyUnavailable, format!("{label}: {kind}"))
        .with_cause(cause);
    if connection_lost(e) {
        err.meta("reason", "connection_lost")
    } else {
        err
    }
}

/// Commits `tx`. A COMMIT that fails because the connection closed may or may not have been
/// applied: that is `dependency_unavailable` with `reason = commit_unknown`, which
/// [`PgPool::run`] never retries (resending the transaction could apply it twice).
pub fn commit(tx: Transaction<'_>, label: &str) -> Result<(), Error> {
    tx.commit().map_err(|e| commit_failed(label, e))
}

/// The error for a failed COMMIT (see [`commit`]), for a store that commits with its own
/// statement.
pub fn commit_failed(label: &str, e: postgres::Error) -> Error {
    {
        if connection_lost(&e) || e.as_db_error().is_none() {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                format!("{label}: the connection closed while committing; the write may or may not have been applied"),
            )
            .meta("reason", "commit_unknown")
            .with_cause(e)
        } else {
            unavailable(label, &e)
        }
    }
}

fn reason(e: &Error) -> Option<&str> {
    e.metadata()
        .and_then(|m| m.get("reason"))
        .and_then(|v| v.as_str())
}

/// A row of the store `label` that does not decode: `dependency_unavailable` with
/// `reason = corrupt_row` and the decoder's message as the server-side cause. Never a panic,
/// and never read as some other value.
pub fn corrupt_row(label: &str, cause: impl std::fmt::Display) -> Error {
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        format!("{label}: corrupt row"),
    )
    .meta("reason", "corrupt_row")
    .with_cause(cause)
}

/// Column `i` of `row`, decoded as `T`; a value that does not decode is [`corrupt_row`] of
/// the store `label` (never the panic `Row::get` would raise).
pub fn col<'r, T: postgres::types::FromSql<'r>>(
    row: &'r postgres::Row,
    i: usize,
    label: &str,
) -> Result<T, Error> {
    row.try_get(i).map_err(|e| corrupt_row(label, e))
}

impl<S: Default> PgPool<S> {
    /// Connects one connection now (so a wrong URL fails at start-up) and runs `setup` on it
    /// (schema migration); the other `size - 1` open on first use.
    pub fn connect(
        url: &str,
        size: usize,
        label: &'static str,
        setup: impl FnOnce(&mut Client) -> Result<(), postgres::Error>,
    ) -> Result<Self, Error> {
        Self::connect_with(url, size, label, |c| {
            setup(c).map_err(|e| unavailable(label, &e))
        })
    }

    /// [`PgPool::connect`] with a set-up step that maps its own errors.
    pub fn connect_with(
        url: &str,
        size: usize,
        label: &'static str,
        setup: impl FnOnce(&mut Client) -> Result<(), Error>,
    ) -> Result<Self, Error> {
        let target = PgTarget::parse(url)?;
        let mut client = target.connect().map_err(|e| unavailable(label, &e))?;
        setup(&mut client)?;
        let mut slots: Vec<Mutex<Option<PgConn<S>>>> =
            (0..size.max(1)).map(|_| Mutex::new(None)).collect();
        slots[0] = Mutex::new(Some(PgConn {
            client,
            statements: HashMap::new(),
            state: S::default(),
        }));
        Ok(PgPool {
            target,
            label,
            slots,
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `f` on a free connection (waiting for one when all are busy), reopening it
    /// first when it is known closed. When `f` fails because the server closed the
    /// connection (a restart, an idle timeout, a terminated backend) the connection is
    /// reopened and `f` runs once more: the statements of these stores are safe to resend
    /// (reads, conditional updates, and inserts whose duplicate is refused by the key).
    pub fn with<T>(
        &self,
        f: impl Fn(&mut PgConn<S>) -> Result<T, postgres::Error>,
    ) -> Result<T, Error> {
        self.run(|conn| f(conn).map_err(|e| unavailable(self.label, &e)))
    }

    /// [`PgPool::with`] for a body that maps its own errors (a transaction, whose writes
    /// can be refused for reasons of their own). The body runs again on a new connection
    /// only when the connection closed under it and its error is not
    /// `reason = commit_unknown` (see [`commit`]).
    pub fn run<T>(
        &self,
        mut f: impl FnMut(&mut PgConn<S>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        // A free open connection first; a free empty slot (a new connection) only when every
        // open one is busy, so a caller working alone holds one connection, not `size`.
        let mut open = None;
        let mut empty = None;
        for i in 0..n {
            if let Ok(guard) = self.slots[(start + i) % n].try_lock() {
                if guard.as_ref().is_some_and(|c| !c.client.is_closed()) {
                    open = Some(guard);
                    break;
                }
                if empty.is_none() {
                    empty = Some(guard);
                }
            }
        }
        let mut slot = open
            .or(empty)
            .map(Ok)
            .unwrap_or_else(|| self.slots[start].lock())
            .map_err(|_| {
                Error::with_detail(
                    ErrorCode::DependencyUnavailable,
                    format!("{}: connection lock poisoned", self.label),
                )
            })?;
        for attempt in 0..2 {
            if slot.as_ref().is_none_or(|c| c.client.is_closed()) {
                let client = self
                    .target
                    .connect()
                    .map_err(|e| unavailable(self.label, &e))?;
                *slot = Some(PgConn {
                    client,
                    statements: HashMap::new(),
                    state: S::default(),
                });
            }
            let Some(conn) = slot.as_mut() else {
                break;
            };
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let lost = conn.client.is_closed() || reason(&e) == Some("connection_lost");
                    if lost {
                        *slot = None;
                    }
                    if !lost || attempt == 1 || reason(&e) == Some("commit_unknown") {
                        return Err(e);
                    }
                }
            }
        }
        Err(Error::with_detail(
            ErrorCode::DependencyUnavailable,
            format!("{}: no connection", self.label),
        ))
    }
}
