//! The stored form of a session and the store trait every backend implements.

use std::fmt::Debug;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Which kind of session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A generation/media session (`gg_session`).
    Generation,
    /// An admin session (`gg_admin_session`).
    Admin,
}

impl SessionKind {
    /// Stable name (`generation`, `admin`).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Generation => "generation",
            SessionKind::Admin => "admin",
        }
    }

    /// Parses a stable name, or `config_invalid` naming the accepted values.
    pub fn parse(name: &str) -> Result<Self, Error> {
        Self::from_name(name).ok_or_else(|| {
            Error::with_detail(
                crate::error::ErrorCode::ConfigInvalid,
                "session kind must be 'generation' or 'admin'",
            )
        })
    }

    /// Parses a stable name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "generation" => Some(SessionKind::Generation),
            "admin" => Some(SessionKind::Admin),
            _ => None,
        }
    }
}

/// One stored session. Holds no secret: `id` is the SHA-256 of the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Hex SHA-256 of the token.
    pub id: String,
    /// Generation or admin.
    pub kind: SessionKind,
    /// Who the session belongs to (e.g. `api_key#0`, `admin`).
    pub principal: String,
    /// Creation time, ms since the epoch.
    pub created_ms: i64,
    /// Absolute expiry, ms since the epoch.
    pub expires_ms: i64,
    /// Sliding idle timeout in ms (admin sessions), if any.
    pub idle_timeout_ms: Option<i64>,
    /// Last successful use, ms since the epoch.
    pub last_seen_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// A session store. Every method's errors are `dependency_unavailable`.
pub trait SessionStore: Send + Sync + Debug {
    /// Stores a new session.
    fn insert(&self, record: &SessionRecord) -> Result<(), Error>;
    /// Looks a session up by id.
    fn get(&self, id: &str) -> Result<Option<SessionRecord>, Error>;
    /// Records a use at `now_ms` (only for sessions not revoked).
    fn touch(&self, id: &str, now_ms: i64) -> Result<(), Error>;
    /// Revokes one session; returns whether an active one was revoked.
    fn revoke(&self, id: &str, now_ms: i64) -> Result<bool, Error>;
    /// Revokes every unrevoked session of `kind` (all kinds when `None`); returns the count.
    fn revoke_all(&self, kind: Option<SessionKind>, now_ms: i64) -> Result<u64, Error>;
    /// Deletes sessions whose absolute expiry has passed, or revoked ones older than
    /// `now_ms`; returns the count.
    fn prune_expired(&self, now_ms: i64) -> Result<u64, Error>;

    /// Whether a call may wait on I/O (a database). The in-memory store answers `false`.
    fn may_block(&self) -> bool {
        true
    }

    /// Sessions active at `now_ms` (neither revoked nor past their absolute or idle expiry),
    /// `(generation, admin)`, for the `inferwarden_sessions_active` gauge; `Ok(None)` when the
    /// store cannot count them (the gauge then leaves it out).
    fn count_active(&self, _now_ms: i64) -> Result<Option<(u64, u64)>, Error> {
        Ok(None)
    }

    /// Whether the store honours [`crate::no_wait`]: while a try is under way it answers
    /// without waiting or gives up with [`crate::no_wait::would_block`] (the SQLite store:
    /// a lock taken without waiting, a zero busy timeout). A store that answers `true` lets
    /// [`crate::gate::Gate::try_decide_now`] decide on an event loop's own thread.
    fn can_try_without_waiting(&self) -> bool {
        false
    }
}

/// Adds one `(kind, count)` row of a `GROUP BY kind` count to `(generation, admin)` totals
/// (an unknown kind or a negative count adds nothing).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn add_active(counts: &mut (u64, u64), kind: &str, n: i64) {
    let n = u64::try_from(n).unwrap_or(0);
    match SessionKind::from_name(kind) {
        Some(SessionKind::Generation) => counts.0 += n,
        Some(SessionKind::Admin) => counts.1 += n,
        None => {}
    }
}
