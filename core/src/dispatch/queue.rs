//! The degraded shared queue: at most `max_depth` slots; admission is atomic (one lock in
//! memory, one Lua script in Redis), a slot is a lease released when its guard drops (every
//! exit path, panics included) and reclaimed when its holder dies (a lease not started
//! within `max_wait` expires; a started lease that is not renewed within the lease time
//! expires too). Where the leases live is a [`QueueBackend`]: in process
//! ([`MemoryQueueBackend`]) or in Redis, shared by several API replicas
//! (`RedisQueueBackend`, feature `redis`). The policy (limits, errors, retry hints) is here,
//! once, for both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::clock::Clock;
use crate::error::{Error, ErrorCode};

/// The outcome of one admission attempt in a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A slot with this id.
    Admitted(u64),
    /// The queue is full: its depth and the soonest time (ms) a lease expires.
    Full {
        /// Slots held.
        depth: u32,
        /// The soonest lease expiry, ms.
        soonest_expiry_ms: i64,
    },
}

/// Counters a backend keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendCounts {
    /// Slots held now.
    pub depth: u32,
    /// Refused admissions.
    pub overloads: u64,
    /// Leases reclaimed after their holder went away.
    pub expired: u64,
}

/// Where leases live. Every call reaps expired leases first, atomically with the operation.
pub trait QueueBackend: Send + Sync + std::fmt::Debug {
    /// Admits one slot expiring at `now + max_wait_ms` unless `max_depth` are held.
    fn admit(&self, now_ms: i64, max_depth: u32, max_wait_ms: i64) -> Result<Admission, Error>;
    /// Marks slot `id` started with a lease until `now + lease_ms`; its admission time, or
    /// `None` when it already expired.
    fn start(&self, id: u64, now_ms: i64, lease_ms: i64) -> Result<Option<i64>, Error>;
    /// Extends a started lease; `false` when it expired or never started.
    fn renew(&self, id: u64, now_ms: i64, lease_ms: i64) -> Result<bool, Error>;
    /// Releases slot `id` (idempotent).
    fn release(&self, id: u64);
    /// The counters at `now`.
    fn counts(&self, now_ms: i64) -> Result<BackendCounts, Error>;
}

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

impl State {
    fn reap(&mut self, now: i64) {
        let before = self.leases.len();
        self.leases.retain(|_, l| l.expires_ms > now);
        self.expired += (before - self.leases.len()) as u64;
    }
}

/// Leases in this process (one lock).
#[derive(Debug, Default)]
pub struct MemoryQueueBackend {
    state: Mutex<State>,
}

fn poisoned() -> Error {
    Error::with_detail(ErrorCode::DependencyUnavailable, "queue state poisoned")
}

impl QueueBackend for MemoryQueueBackend {
    fn admit(&self, now: i64, max_depth: u32, max_wait_ms: i64) -> Result<Admission, Error> {
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        s.reap(now);
        let depth = s.leases.len() as u32;
        if depth >= max_depth {
            s.overloads += 1;
            let soonest = s.leases.values().map(|l| l.expires_ms).min();
            return Ok(Admission::Full {
                depth,
                soonest_expiry_ms: soonest.unwrap_or(now + max_wait_ms),
            });
        }
        s.next_id += 1;
        let id = s.next_id;
        s.leases.insert(
            id,
            Lease {
                admitted_ms: now,
                expires_ms: now + max_wait_ms,
                started: false,
            },
        );
        Ok(Admission::Admitted(id))
    }

    fn start(&self, id: u64, now: i64, lease_ms: i64) -> Result<Option<i64>, Error> {
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        s.reap(now);
        Ok(s.leases.get_mut(&id).map(|l| {
            l.started = true;
            l.expires_ms = now + lease_ms;
            l.admitted_ms
        }))
    }

    fn renew(&self, id: u64, now: i64, lease_ms: i64) -> Result<bool, Error> {
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        s.reap(now);
        Ok(match s.leases.get_mut(&id) {
            Some(l) if l.started => {
                l.expires_ms = now + lease_ms;
                true
            }
            _ => false,
        })
    }

    fn release(&self, id: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.leases.remove(&id);
        }
    }

    fn counts(&self, now: i64) -> Result<BackendCounts, Error> {
        let mut s = self.state.lock().map_err(|_| poisoned())?;
        s.reap(now);
        Ok(BackendCounts {
            depth: s.leases.len() as u32,
            overloads: s.overloads,
            expired: s.expired,
        })
    }
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
    /// Slots started by a worker (this process).
    pub started: u64,
    /// Slots whose start came after the wait limit (this process).
    pub timeouts: u64,
    /// Mean wait from admission to start, ms (this process; 0 before the first start).
    pub mean_wait_ms: u64,
    /// Longest wait from admission to start, ms (this process).
    pub longest_wait_ms: u64,
}

/// Waits observed by this process's slots.
#[derive(Debug, Default)]
struct WaitStats {
    started: u64,
    timeouts: u64,
    total_ms: u64,
    longest_ms: u64,
}

/// The degraded queue. Cheap to clone; clones share the backend and the wait counters.
#[derive(Debug, Clone)]
pub struct DegradedQueue {
    backend: Arc<dyn QueueBackend>,
    max_depth: u32,
    max_wait_ms: i64,
    lease_ms: i64,
    clock: Arc<dyn Clock>,
    waits: Arc<Mutex<WaitStats>>,
}

/// A held slot. Dropping it releases the slot.
#[derive(Debug)]
pub struct QueueSlot {
    id: u64,
    queue: DegradedQueue,
}

impl DegradedQueue {
    /// An in-process queue of `max_depth` slots; a slot must start within `max_wait_ms`
    /// and, once started, be renewed within `lease_ms`.
    pub fn new(max_depth: u32, max_wait_ms: i64, lease_ms: i64, clock: Arc<dyn Clock>) -> Self {
        Self::with_backend(
            Arc::new(MemoryQueueBackend::default()),
            max_depth,
            max_wait_ms,
            lease_ms,
            clock,
        )
    }

    /// The same queue over another backend (e.g. Redis, shared by several replicas).
    pub fn with_backend(
        backend: Arc<dyn QueueBackend>,
        max_depth: u32,
        max_wait_ms: i64,
        lease_ms: i64,
        clock: Arc<dyn Clock>,
    ) -> Self {
        DegradedQueue {
            backend,
            max_depth,
            max_wait_ms,
            lease_ms,
            clock,
            waits: Arc::default(),
        }
    }

    /// Admits one request or refuses with `queue_overloaded` (metadata: depth, max_depth,
    /// max_wait_seconds, retry_after_seconds). A backend outage is `dependency_unavailable`.
    pub fn admit(&self) -> Result<QueueSlot, Error> {
        let now = self.clock.now_ms();
        crate::trace::span!("inferwarden::dispatch", "queue_store", op = "admit");
        match self.backend.admit(now, self.max_depth, self.max_wait_ms)? {
            Admission::Admitted(id) => {
                crate::metrics::record_queue_slot(1, false);
                Ok(QueueSlot {
                    id,
                    queue: self.clone(),
                })
            }
            Admission::Full {
                depth,
                soonest_expiry_ms,
            } => {
                crate::metrics::record_queue_overload();
                let retry = ((soonest_expiry_ms - now).max(1) as u64).div_ceil(1000);
                Err(Error::new(ErrorCode::QueueOverloaded)
                    .meta("depth", u64::from(depth))
                    .meta("max_depth", u64::from(self.max_depth))
                    .meta("max_wait_seconds", (self.max_wait_ms / 1000) as u64)
                    .meta("retry_after_seconds", retry))
            }
        }
    }

    /// A snapshot of the counters (a backend outage reads as a full queue). Depth,
    /// overloads and expiries come from the backend (shared by every replica on Redis);
    /// starts, timeouts and waits are this process's.
    pub fn snapshot(&self) -> QueueSnapshot {
        crate::trace::span!("inferwarden::dispatch", "queue_store", op = "counts");
        let counts = self.backend.counts(self.clock.now_ms());
        let (depth, overloads, expired) = match counts {
            Ok(c) => (c.depth, c.overloads, c.expired),
            Err(_) => (self.max_depth, 0, 0),
        };
        let (started, timeouts, mean_wait_ms, longest_wait_ms) = self
            .waits
            .lock()
            .map(|w| {
                let mean = w.total_ms.checked_div(w.started).unwrap_or(0);
                (w.started, w.timeouts, mean, w.longest_ms)
            })
            .unwrap_or_default();
        QueueSnapshot {
            depth,
            max_depth: self.max_depth,
            overloads,
            expired,
            started,
            timeouts,
            mean_wait_ms,
            longest_wait_ms,
        }
    }
}

impl QueueSlot {
    /// The slot's id in its backend.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Marks the slot started (a worker picked it up) and returns how long it waited, ms;
    /// `queue_overloaded` when the wait was exceeded and the slot was already reclaimed.
    pub fn start(&self) -> Result<i64, Error> {
        let q = &self.queue;
        let now = q.clock.now_ms();
        crate::trace::span!("inferwarden::dispatch", "queue_store", op = "start");
        let started = q.backend.start(self.id, now, q.lease_ms)?;
        if let Ok(mut w) = q.waits.lock() {
            match started {
                Some(admitted) => {
                    let waited = (now - admitted).max(0) as u64;
                    w.started += 1;
                    w.total_ms += waited;
                    w.longest_ms = w.longest_ms.max(waited);
                }
                None => w.timeouts += 1,
            }
        }
        crate::metrics::record_queue_start(started.map(|admitted| now - admitted));
        match started {
            Some(admitted) => Ok(now - admitted),
            None => Err(Error::with_detail(
                ErrorCode::QueueOverloaded,
                "the queue wait was exceeded",
            )
            .meta("max_wait_seconds", (q.max_wait_ms / 1000) as u64)),
        }
    }

    /// Renews a started lease (heartbeat); `false` when it already expired (or the backend
    /// cannot be reached).
    pub fn renew(&self) -> bool {
        let q = &self.queue;
        crate::trace::span!("inferwarden::dispatch", "queue_store", op = "renew");
        q.backend
            .renew(self.id, q.clock.now_ms(), q.lease_ms)
            .unwrap_or(false)
    }
}

impl Drop for QueueSlot {
    fn drop(&mut self) {
        crate::trace::span!("inferwarden::dispatch", "queue_store", op = "release");
        self.queue.backend.release(self.id);
        crate::metrics::record_queue_slot(-1, false);
    }
}
