//! Audit and security events: the event type with its mandatory fields and the sink seam.
//!
//! The durable, hash-chained store arrives with a later change; today's sinks are the
//! [`MemoryAuditSink`] (tests, demos) and anything a host implements behind [`AuditSink`].

mod event;
mod sink;

pub use event::{AuditEvent, AuditFields, Outcome, AUDIT_MANDATORY_FIELDS};
pub use sink::{AuditSink, MemoryAuditSink};
