//! A small pool of PostgreSQL connections for the request path: each connection keeps its
//! prepared statements (one round trip per query after the first), a connection the server
//! closed is dropped and reopened on next use, and a call takes whichever connection is
//! free, so concurrent decisions do not queue behind one mutex. Every failure is
//! `dependency_unavailable` naming the store and what failed, never the driver's text (which
//! can carry the server's address). Feature `postgres`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use postgres::{Client, NoTls, Statement};

use crate::error::{Error, ErrorCode};
use crate::secret::Secret;

/// One connection and its prepared statements, keyed by their SQL text.
pub struct PgConn {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl PgConn {
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
}

/// A pool of up to `size` connections to one URL.
pub struct PgPool {
    url: Secret,
    label: &'static str,
    slots: Vec<Mutex<Option<PgConn>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PgPool({}, {} connections)",
            self.label,
            self.slots.len()
        )
    }
}

/// `dependency_unavailable` for a driver error of the store `label`.
pub fn unavailable(label: &str, e: &postgres::Error) -> Error {
    let kind = if e.is_closed() {
        "connection closed"
    } else if e.as_db_error().is_some() {
        "query failed"
    } else {
        "cannot reach the server"
    };
    Error::with_detail(ErrorCode::DependencyUnavailable, format!("{label}: {kind}"))
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

impl PgPool {
    /// Connects one connection now (so a wrong URL fails at start-up) and runs `setup` on it
    /// (schema migration); the other `size - 1` open on first use.
    pub fn connect(
        url: &str,
        size: usize,
        label: &'static str,
        setup: impl FnOnce(&mut Client) -> Result<(), postgres::Error>,
    ) -> Result<Self, Error> {
        let mut client = Client::connect(url, NoTls).map_err(|e| unavailable(label, &e))?;
        setup(&mut client).map_err(|e| unavailable(label, &e))?;
        let mut slots: Vec<Mutex<Option<PgConn>>> =
            (0..size.max(1)).map(|_| Mutex::new(None)).collect();
        slots[0] = Mutex::new(Some(PgConn {
            client,
            statements: HashMap::new(),
        }));
        Ok(PgPool {
            url: Secret::new(url),
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
        f: impl Fn(&mut PgConn) -> Result<T, postgres::Error>,
    ) -> Result<T, Error> {
        let n = self.slots.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut slot = (0..n)
            .find_map(|i| self.slots[(start + i) % n].try_lock().ok())
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
                let client = Client::connect(self.url.expose(), NoTls)
                    .map_err(|e| unavailable(self.label, &e))?;
                *slot = Some(PgConn {
                    client,
                    statements: HashMap::new(),
                });
            }
            let Some(conn) = slot.as_mut() else {
                break;
            };
            match f(conn) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let closed = e.is_closed() || conn.client.is_closed();
                    if closed {
                        *slot = None;
                    }
                    if !closed || attempt == 1 {
                        return Err(unavailable(self.label, &e));
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
