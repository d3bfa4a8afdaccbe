//! Opening a workspace registry from a URL (`proxy.registry`): `memory`, `sqlite:PATH` (or
//! `sqlite::memory:`), `postgres://...`. Unknown schemes, or a backend compiled out, are
//! `config_invalid`; an unreachable store is `dependency_unavailable`.

use std::sync::Arc;

use super::registry::{MemoryRegistry, WorkspaceRegistry};
use crate::error::Error;
use crate::store_url::{unknown_store, StoreUrl};
use crate::workspace::TargetPolicy;

/// Opens the registry named by `url`; rows a persistent store reads back are validated
/// under `policy`.
pub fn open_registry(
    url: &str,
    #[allow(unused_variables)] policy: &TargetPolicy,
) -> Result<Arc<dyn WorkspaceRegistry>, Error> {
    match StoreUrl::parse(url) {
        Some(StoreUrl::Memory) => Ok(Arc::new(MemoryRegistry::new())),
        #[cfg(feature = "sqlite")]
        Some(StoreUrl::Sqlite(":memory:")) => Ok(Arc::new(
            super::registry_sqlite::SqliteRegistry::in_memory(policy.clone())?,
        )),
        #[cfg(feature = "sqlite")]
        Some(StoreUrl::Sqlite(path)) => Ok(Arc::new(super::registry_sqlite::SqliteRegistry::open(
            path,
            policy.clone(),
        )?)),
        #[cfg(not(feature = "sqlite"))]
        Some(StoreUrl::Sqlite(_)) => Err(crate::store_url::feature_missing("sqlite")),
        #[cfg(feature = "postgres")]
        Some(StoreUrl::Postgres(url)) => Ok(Arc::new(
            super::registry_postgres::PostgresRegistry::connect(url, policy.clone())?,
        )),
        #[cfg(not(feature = "postgres"))]
        Some(StoreUrl::Postgres(_)) => Err(crate::store_url::feature_missing("postgres")),
        _ => Err(unknown_store(
            "workspace registry",
            "memory, sqlite:PATH, postgres://...",
        )),
    }
}
