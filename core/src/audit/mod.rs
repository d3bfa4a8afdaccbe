//! Audit and security events (REQUIREMENTS section 11): the event type with its mandatory
//! fields and length caps, the sink seam, the bounded in-memory ring used when nothing else
//! is configured, and the durable, tamper-evident [`AuditLog`]:
//!
//! - every record carries a contiguous sequence number, the previous record's hash and its
//!   own hash over a documented canonical encoding ([`record`]);
//! - an RFC 6962 Merkle tree over the records ([`merkle`]) with inclusion and consistency
//!   proofs, and C2SP signed checkpoints with Ed25519 ([`Checkpoint`]);
//! - identifiers an operator may not want in clear stored as keyed HMAC ([`IdentifierHasher`]);
//! - SQLite (feature `sqlite`) and PostgreSQL (feature `postgres`) stores whose triggers
//!   refuse updates and deletes other than retention's;
//! - group commit, fail-closed appends, retention with a signed checkpoint at the cut, and a
//!   verifier that names the first bad sequence number and what was done ([`verify_store`]).

mod checkpoint;
mod event;
mod identifiers;
mod log;
pub mod merkle;
mod open;
#[cfg(feature = "postgres")]
mod postgres_store;
pub mod record;
mod sink;
#[cfg(feature = "sqlite")]
mod sqlite_store;
mod store;
mod verify;

pub use crate::config::{check_hmac_field, MIN_RETENTION_DAYS};
pub use checkpoint::{unverified_checkpoint, Checkpoint, NoteSigner, NoteVerifier};
pub use event::{
    cap_string, AuditEvent, AuditFields, Outcome, AUDIT_MANDATORY_FIELDS, DETAILS_DROPPED,
    MAX_DETAILS, MAX_DETAIL_BYTES, MAX_FIELD_BYTES, TRUNCATED_MARK,
};
pub use identifiers::{IdentifierHasher, HMAC_PREFIX, MIN_HMAC_KEY_BYTES};
pub use log::{
    sequence_number, AuditLog, AuditLogSettings, InclusionProof, MaintenanceReport, PruneReport,
};
pub use open::{
    open_audit_log, open_audit_sink, open_audit_store, open_audit_store_read_only,
    open_configured_audit, settings_from_config, AuditHandle,
};
#[cfg(feature = "postgres")]
pub use postgres_store::{PostgresAuditStore, POSTGRES_AUDIT_SCHEMA};
pub use record::AuditRecord;
pub use sink::{AuditSink, MemoryAuditSink, DEFAULT_MEMORY_CAPACITY};
#[cfg(feature = "sqlite")]
pub use sqlite_store::{SqliteAuditStore, SQLITE_AUDIT_SCHEMA};
pub use store::{
    write_completed_tiles, AuditMeta, AuditQuery, AuditStore, StoreSubtrees, TileTx, TILE_LEVELS,
    TILE_RECORDS,
};
pub use verify::{verify_store, Tamper, TamperKind, VerifyOptions, VerifyReport};
