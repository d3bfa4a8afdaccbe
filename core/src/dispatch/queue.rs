//! The degraded shared queue: at most `max_depth` slots; admission is atomic (one lock), a
//! slot is a lease released when its guard drops (every exit path, panics included) and
//! reclaimed when its holder dies (a lease not started within `max_wait` expires; a started
//! lease that is not renewed within the lease time expires too).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::clock::Clock;
use crate::error::{Error, ErrorCode};

#[derive(Debug, Clone, Copy)]
struct Lease {
    admitted_ms: i64,
    expires_ms: i64,
    started: bool,
}

#[derive(Debug, Default)]
struct State {
    next_id: u64,
    leases: HashMap<u64, Lease>,
    overloads: u64,
    expired: u64,
}

/// Queue counters as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueSnapshot {
    /// Slots held now.
    pub depth: u32,
    /// The configured maximum.
    pub max_depth: u32,
    /// Requests refused because the queue was full.
    pub overloads: u64,
    /// Leases reclaimed after their holder went away.
    pub expired: u64,
}

/// The degraded queue (in-process). Cheap to clone; clones share the queue.
#[derive(Debug, Clone)]
pub struct DegradedQueue {
    state: Arc<Mutex<State>>,
    max_depth: u32,
    max_wait_ms: i64,
    lease_ms: i64,
    clock: Arc<dyn Clock>,
}

/// A held slot. Dropping it releases the slot.
#[derive(Debug)]
pub struct QueueSlot {
    id: u64,
    queue: DegradedQueue,
}

fn poisoned() -> Error {
    Error::with_detail(ErrorCode::DependencyUnavailable, "queue state poisoned")
}

impl DegradedQueue {
    /// A queue of `max_depth` slots; a slot must start within `max_wait_ms` and, once
    /// started, be renewed within `lease_ms`.
    pub fn new(max_depth: u32, max_wait_ms: i64, lease_ms: i64, clock: Arc<dyn Clock>) -> Self {
        DegradedQueue {
            state: Arc::new(Mutex::new(State::default())),
            max_depth,
            max_wait_ms,
            lease_ms,
            clock,
        }
    }

    fn reap(&self, state: &mut State, now: i64) {
        let before = state.leases.len();
        state.leases.retain(|_, l| l.expires_ms > now);
        state.expired += (before - state.leases.len()) as u64;
    }

    /// Admits one request or refuses with `queue_overloaded` (metadata: depth, max_depth,
    /// max_wait_seconds, retry_after_seconds).
    pub fn admit(&self) -> Result<QueueSlot, Error> {
        let now = self.clock.now_ms();
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        self.reap(&mut s, now);
        let depth = s.leases.len() as u32;
        if depth >= self.max_depth {
            s.overloads += 1;
            let soonest = s
                .leases
                .values()
                .map(|l| l.expires_ms)
                .min()
                .unwrap_or(now + self.max_wait_ms);
            let retry = ((soonest - now).max(1) as u64).div_ceil(1000);
            return Err(Error::new(ErrorCode::QueueOverloaded)
                .meta("depth", u64::from(depth))
                .meta("max_depth", u64::from(self.max_depth))
                .meta("max_wait_seconds", (self.max_wait_ms / 1000) as u64)
                .meta("retry_after_seconds", retry));
        }
        s.next_id += 1;
        let id = s.next_id;
        s.leases.insert(
            id,
            Lease {
                admitted_ms: now,
                expires_ms: now + self.max_wait_ms,
                started: false,
            },
        );
        Ok(QueueSlot {
            id,
            queue: self.clone(),
        })
    }

    /// A snapshot of the counters.
    pub fn snapshot(&self) -> QueueSnapshot {
        let now = self.clock.now_ms();
        match self.state.lock() {
            Ok(mut s) => {
                self.reap(&mut s, now);
                QueueSnapshot {
                    depth: s.leases.len() as u32,
                    max_depth: self.max_depth,
                    overloads: s.overloads,
                    expired: s.expired,
                }
            }
            Err(_) => QueueSnapshot {
                depth: self.max_depth,
                max_depth: self.max_depth,
                overloads: 0,
                expired: 0,
            },
        }
    }
}

impl QueueSlot {
    /// Marks the slot started (a worker picked it up); `queue_overloaded` when the wait was
    /// exceeded and the slot was already reclaimed.
    pub fn start(&self) -> Result<i64, Error> {
        let now = self.queue.clock.now_ms();
        let mut s = self.queue.state.lock().map_err(|_| poisoned())?;
        self.queue.reap(&mut s, now);
        match s.leases.get_mut(&self.id) {
            Some(l) => {
                l.started = true;
                l.expires_ms = now + self.queue.lease_ms;
                Ok(now - l.admitted_ms)
            }
            None => Err(Error::with_detail(
                ErrorCode::QueueOverloaded,
                "the queue wait was exceeded",
            )
            .meta("max_wait_seconds", (self.queue.max_wait_ms / 1000) as u64)),
        }
    }

    /// Renews a started lease (heartbeat); `false` when it already expired.
    pub fn renew(&self) -> bool {
        let now = self.queue.clock.now_ms();
        let Ok(mut s) = self.queue.state.lock() else {
            return false;
        };
        self.queue.reap(&mut s, now);
        match s.leases.get_mut(&self.id) {
            Some(l) if l.started => {
                l.expires_ms = now + self.queue.lease_ms;
                true
            }
            _ => false,
        }
    }
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        if let Ok(mut s) = self.queue.state.lock() {
            s.leases.remove(&self.id);
        }
    }
}
