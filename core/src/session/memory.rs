//! An in-memory session store (tests, demos, single-process deployments).

use std::collections::HashMap;
use std::sync::Mutex;

use super::record::{SessionKind, SessionRecord, SessionStore};
use crate::error::{Error, ErrorCode};

/// In-memory store; a poisoned lock is reported as `dependency_unavailable`.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    sessions: Mutex<HashMap<String, SessionRecord>>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, SessionRecord>>, Error> {
        self.sessions.lock().map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "session store lock poisoned",
            )
        })
    }
}

impl SessionStore for MemorySessionStore {
    fn may_block(&self) -> bool {
        false
    }

    fn insert(&self, record: &SessionRecord) -> Result<(), Error> {
        self.lock()?.insert(record.id.clone(), record.clone());
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<SessionRecord>, Error> {
        Ok(self.lock()?.get(id).cloned())
    }

    fn touch(&self, id: &str, now_ms: i64) -> Result<(), Error> {
        if let Some(r) = self.lock()?.get_mut(id) {
            if r.revoked_ms.is_none() {
                r.last_seen_ms = r.last_seen_ms.max(now_ms);
            }
        }
        Ok(())
    }

    fn revoke(&self, id: &str, now_ms: i64) -> Result<bool, Error> {
        Ok(match self.lock()?.get_mut(id) {
            Some(r) if r.revoked_ms.is_none() => {
                r.revoked_ms = Some(now_ms);
                true
            }
            _ => false,
        })
    }

    fn revoke_all(&self, kind: Option<SessionKind>, now_ms: i64) -> Result<u64, Error> {
        let mut n = 0;
        for r in self.lock()?.values_mut() {
            if r.revoked_ms.is_none() && kind.is_none_or(|k| k == r.kind) {
                r.revoked_ms = Some(now_ms);
                n += 1;
            }
        }
        Ok(n)
    }

    fn count_active(&self, now_ms: i64) -> Result<Option<(u64, u64)>, Error> {
        let map = self.lock()?;
        let mut counts = (0u64, 0u64);
        for r in map.values() {
            let idle_ok = r
                .idle_timeout_ms
                .is_none_or(|idle| r.last_seen_ms.saturating_add(idle) > now_ms);
            if r.revoked_ms.is_none() && r.expires_ms > now_ms && idle_ok {
                match r.kind {
                    SessionKind::Generation => counts.0 += 1,
                    SessionKind::Admin => counts.1 += 1,
                }
            }
        }
        Ok(Some(counts))
    }

    fn prune_expired(&self, now_ms: i64) -> Result<u64, Error> {
        let mut map = self.lock()?;
        let before = map.len();
        map.retain(|_, r| r.expires_ms > now_ms && r.revoked_ms.is_none_or(|t| t >= now_ms));
        Ok((before - map.len()) as u64)
    }
}
