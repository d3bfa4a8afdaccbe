//! Where audit events go. A sink that cannot write must return `dependency_unavailable` so
//! the caller fails closed. [`MemoryAuditSink`] is the bounded in-memory ring used when no
//! durable log is configured; the durable, hash-chained log is [`super::AuditLog`].

use std::collections::VecDeque;
use std::fmt::Debug;
use std::sync::Mutex;

use super::event::AuditEvent;
use crate::error::{Error, ErrorCode};

/// A destination for audit events.
pub trait AuditSink: Send + Sync + Debug {
    /// Appends one event. Errors are `dependency_unavailable`.
    fn record(&self, event: AuditEvent) -> Result<(), Error>;

    /// Whether `record` may wait on I/O (a durable store's commit). The in-memory ring
    /// answers `false`.
    fn may_block(&self) -> bool {
        true
    }
}

/// The ring's capacity when none is given (`audit.memory_capacity`'s default).
pub const DEFAULT_MEMORY_CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
struct Ring {
    events: VecDeque<AuditEvent>,
    evicted: u64,
}

/// A bounded in-memory ring: it keeps the newest `capacity` events and counts the ones it
/// evicted, so no stream of requests can grow a server's memory through it. Nothing is
/// retained across a restart: configure `audit.store` for a durable log.
#[derive(Debug)]
pub struct MemoryAuditSink {
    capacity: usize,
    ring: Mutex<Ring>,
}

impl Default for MemoryAuditSink {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }
}

impl MemoryAuditSink {
    /// An empty ring of [`DEFAULT_MEMORY_CAPACITY`] events.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty ring keeping at most `capacity` events (at least one).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryAuditSink {
            capacity: capacity.max(1),
            ring: Mutex::new(Ring::default()),
        }
    }

    /// The most events kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A copy of the events kept, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.ring
            .lock()
            .map(|r| r.events.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Number of events kept.
    pub fn len(&self) -> usize {
        self.ring.lock().map(|r| r.events.len()).unwrap_or(0)
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many events were evicted to stay within the capacity.
    pub fn evicted(&self) -> u64 {
        self.ring.lock().map(|r| r.evicted).unwrap_or(0)
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: AuditEvent) -> Result<(), Error> {
        let mut ring = self.ring.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "audit sink lock poisoned")
        })?;
        if ring.events.len() >= self.capacity {
            ring.events.pop_front();
            ring.evicted += 1;
        }
        ring.events.push_back(event);
        crate::metrics::record_append(true, None);
        Ok(())
    }

    fn may_block(&self) -> bool {
        false
    }
}
