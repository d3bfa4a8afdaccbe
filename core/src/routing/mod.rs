//! Remote workspaces (REQUIREMENTS section 6): a task id `workspace::task_id` is routed ONLY
//! through the registry of known worker accounts. A URL is never built from user input: the
//! outbound URL is the registry's stored origin plus percent-encoded path segments, checked
//! again after it is built, and the addresses a host resolves to are checked against the
//! address policy before anything connects (no second lookup).

mod address_policy;
mod registry;
mod registry_open;
#[cfg(feature = "postgres")]
mod registry_postgres;
#[cfg(feature = "sqlite")]
mod registry_sqlite;
mod resolve;
mod router;

pub use crate::workspace::{TargetPolicy, TargetUrl, WorkspaceEntry, WorkspaceStatus};
pub use address_policy::{forbidden_reason, is_metadata, AddressResolver, StaticResolver};
pub use registry::{MemoryRegistry, WorkspaceRegistry};
pub use registry_open::open_registry;
#[cfg(feature = "postgres")]
pub use registry_postgres::PostgresRegistry;
#[cfg(feature = "sqlite")]
pub use registry_sqlite::SqliteRegistry;
pub use resolve::{
    encode_path_segment, resolve_entry, resolve_entry_in, resolve_target, resolve_target_in,
    PrivateNetworks, ProxyRoute, ResolvedTarget,
};
pub use router::{resolver_for, Router, SystemResolver};
