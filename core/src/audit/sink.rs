//! Where audit events go. A sink that cannot write must return `dependency_unavailable` so
//! the caller fails closed.

use std::fmt::Debug;
use std::sync::Mutex;

use super::event::AuditEvent;
use crate::error::{Error, ErrorCode};

/// A destination for audit events.
pub trait AuditSink: Send + Sync + Debug {
    /// Appends one event. Errors are `dependency_unavailable`.
    fn record(&self, event: AuditEvent) -> Result<(), Error>;
}

/// An in-memory, append-only sink for tests and demos.
#[derive(Debug, Default)]
pub struct MemoryAuditSink {
    events: Mutex<Vec<AuditEvent>>,
}

impl MemoryAuditSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Number of events recorded.
    pub fn len(&self) -> usize {
        self.events.lock().map(|e| e.len()).unwrap_or(0)
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, event: AuditEvent) -> Result<(), Error> {
        let mut events = self.events.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "audit sink lock poisoned")
        })?;
        events.push(event);
        Ok(())
    }
}
