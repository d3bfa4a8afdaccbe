//! Session policy over any [`SessionStore`]: issue, validate (with sliding admin idle time),
//! revoke, revoke-all, prune. The exact expiry instant counts as expired.

use std::sync::Arc;

use super::cookie::{clear_cookie, set_cookie};
use super::record::{SessionKind, SessionRecord, SessionStore};
use super::token::{is_well_formed, new_token, token_id};
use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::error::Error;
use crate::secret::Secret;

/// A newly issued session: the token (secret) and the `Set-Cookie` value carrying it.
#[derive(Debug)]
pub struct IssuedSession {
    /// The token; only ever sent to the client in the cookie.
    pub token: Secret,
    /// The `Set-Cookie` header value (contains the token: never log it).
    pub set_cookie: Secret,
    /// The stored record (no secret in it).
    pub record: SessionRecord,
}

/// The state of a presented token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCheck {
    /// Valid; the record as stored.
    Active(SessionRecord),
    /// Known, but past its absolute or idle expiry.
    Expired,
    /// Known, but revoked.
    Revoked,
    /// Unknown, malformed, or of the other kind (never distinguished to the client).
    Unknown,
}

/// Session policy.
#[derive(Debug, Clone)]
pub struct SessionManager {
    store: Arc<dyn SessionStore>,
    config: SessionConfig,
    clock: Arc<dyn Clock>,
}

impl SessionManager {
    /// Whether a session lookup may wait on I/O (see [`SessionStore::may_block`]).
    pub fn may_block(&self) -> bool {
        self.store.may_block()
    }

    /// Whether the store honours [`crate::no_wait`] (see
    /// [`SessionStore::can_try_without_waiting`]).
    pub fn can_try_without_waiting(&self) -> bool {
        self.store.can_try_without_waiting()
    }

    /// A manager over `store` with the configured lifetimes.
    pub fn new(store: Arc<dyn SessionStore>, config: SessionConfig, clock: Arc<dyn Clock>) -> Self {
        SessionManager {
            store,
            config,
            clock,
        }
    }

    /// The cookie name for a kind.
    pub fn cookie_name(&self, kind: SessionKind) -> &str {
        match kind {
            SessionKind::Generation => &self.config.cookie_name,
            SessionKind::Admin => &self.config.admin_cookie_name,
        }
    }

    /// The session configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Issues a session for `principal`.
    pub fn issue(&self, kind: SessionKind, principal: &str) -> Result<IssuedSession, Error> {
        let now = self.clock.now_ms();
        let token = new_token()?;
        let (lifetime_s, idle) = match kind {
            SessionKind::Generation => (self.config.generation_lifetime_s, None),
            SessionKind::Admin => (
                self.config.admin_absolute_lifetime_s,
                Some(secs_to_ms(self.config.admin_idle_timeout_s)),
            ),
        };
        let record = SessionRecord {
            id: token_id(token.expose()),
            kind,
            principal: principal.to_owned(),
            created_ms: now,
            expires_ms: now.saturating_add(secs_to_ms(lifetime_s)),
            idle_timeout_ms: idle,
            last_seen_ms: now,
            revoked_ms: None,
        };
        crate::trace::span!("inferwarden::session", "session_store", op = "insert");
        self.store.insert(&record)?;
        crate::metrics::record_session_issued(kind == SessionKind::Admin);
        let cookie = set_cookie(
            &self.config,
            self.cookie_name(kind),
            token.expose(),
            lifetime_s,
        );
        Ok(IssuedSession {
            token,
            set_cookie: Secret::new(cookie),
            record,
        })
    }

    /// Checks a presented token without recording a use.
    pub fn peek(&self, kind: SessionKind, token: &str) -> Result<SessionCheck, Error> {
        let check = self.check(kind, token);
        // A lookup that gave up inside a no-wait try is made again: count it then.
        if !crate::no_wait::bailed() {
            use crate::metrics::SessionCheckResult as R;
            let result = match &check {
                Ok(SessionCheck::Active(_)) => R::Active,
                Ok(SessionCheck::Expired) => R::Expired,
                Ok(SessionCheck::Revoked) => R::Revoked,
                Ok(SessionCheck::Unknown) => R::Unknown,
                Err(_) => R::StoreError,
            };
            crate::metrics::record_session_check(kind == SessionKind::Admin, result);
        }
        check
    }

    fn check(&self, kind: SessionKind, token: &str) -> Result<SessionCheck, Error> {
        if !is_well_formed(token) {
            return Ok(SessionCheck::Unknown);
        }
        crate::trace::span!("inferwarden::session", "session_store", op = "get");
        let Some(record) = self.store.get(&token_id(token))? else {
            return Ok(SessionCheck::Unknown);
        };
        if record.kind != kind {
            return Ok(SessionCheck::Unknown);
        }
        if record.revoked_ms.is_some() {
            return Ok(SessionCheck::Revoked);
        }
        let now = self.clock.now_ms();
        let idle_expired = record
            .idle_timeout_ms
            .is_some_and(|idle| now >= record.last_seen_ms.saturating_add(idle));
        if now >= record.expires_ms || idle_expired {
            return Ok(SessionCheck::Expired);
        }
        Ok(SessionCheck::Active(record))
    }

    /// Checks a presented token and, when active, records the use (sliding admin idle time).
    pub fn validate(&self, kind: SessionKind, token: &str) -> Result<SessionCheck, Error> {
        let check = self.peek(kind, token)?;
        self.record_use(&check)?;
        Ok(check)
    }

    /// Records the use of a session [`SessionManager::peek`] found active (sliding admin
    /// idle time); nothing for other checks or sessions without an idle timeout, and nothing
    /// while the stored use is younger than [`SessionManager::last_use_write_interval_ms`].
    pub fn record_use(&self, check: &SessionCheck) -> Result<(), Error> {
        if let SessionCheck::Active(record) = check {
            if let Some(idle_ms) = record.idle_timeout_ms {
                let now = self.clock.now_ms();
                let age = now.saturating_sub(record.last_seen_ms);
                if age >= self.last_use_write_interval_ms(idle_ms) {
                    crate::trace::span!("inferwarden::session", "session_store", op = "touch");
                    self.store.touch(&record.id, now)?;
                }
            }
        }
        Ok(())
    }

    /// How old, ms, a session's stored last use must be before a use is written again:
    /// `sessions.admin_last_use_write_interval_s`, and at most 1 % of the session's idle
    /// timeout `idle_ms`. The idle timeout counts from the stored use, so a session expires
    /// at most this much early and never late.
    pub fn last_use_write_interval_ms(&self, idle_ms: i64) -> i64 {
        secs_to_ms(self.config.admin_last_use_write_interval_s).min(idle_ms / 100)
    }

    /// Revokes the session of `token`; returns whether an active session was revoked.
    pub fn revoke(&self, token: &str) -> Result<bool, Error> {
        if !is_well_formed(token) {
            return Ok(false);
        }
        crate::trace::span!("inferwarden::session", "session_store", op = "revoke");
        let revoked = self.store.revoke(&token_id(token), self.clock.now_ms())?;
        crate::metrics::record_sessions_revoked(false, u64::from(revoked));
        Ok(revoked)
    }

    /// Revokes every session of `kind` (all kinds when `None`): key rotation or compromise.
    pub fn revoke_all(&self, kind: Option<SessionKind>) -> Result<u64, Error> {
        crate::trace::span!("inferwarden::session", "session_store", op = "revoke_all");
        let n = self.store.revoke_all(kind, self.clock.now_ms())?;
        crate::metrics::record_sessions_revoked(true, n);
        Ok(n)
    }

    /// Deletes expired and revoked sessions.
    pub fn prune_expired(&self) -> Result<u64, Error> {
        crate::trace::span!(
            "inferwarden::session",
            "session_store",
            op = "prune_expired"
        );
        self.store.prune_expired(self.clock.now_ms())
    }

    /// The `Set-Cookie` value that clears the cookie of `kind`.
    pub fn clear_cookie(&self, kind: SessionKind) -> String {
        clear_cookie(&self.config, self.cookie_name(kind))
    }
}

fn secs_to_ms(s: u64) -> i64 {
    i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX)
}
