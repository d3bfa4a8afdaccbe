//! Opening a session store from a URL, so embedders (and the bindings) choose a backend by
//! configuration: `memory`, `sqlite:PATH` (or `sqlite::memory:`), `postgres://...`.

use std::sync::Arc;

use super::memory::MemorySessionStore;
use super::record::SessionStore;
use crate::error::Error;
use crate::store_url::{unknown_store, StoreUrl};

/// Opens the store named by `url`. Unknown schemes, or a backend compiled out, are
/// `config_invalid`; an unreachable store is `dependency_unavailable`.
pub fn open_session_store(url: &str) -> Result<Arc<dyn SessionStore>, Error> {
    match StoreUrl::parse(url) {
        Some(StoreUrl::Memory) => Ok(Arc::new(MemorySessionStore::new())),
        #[cfg(feature = "sqlite")]
        Some(StoreUrl::Sqlite(":memory:")) => Ok(Arc::new(
            super::sqlite_store::SqliteSessionStore::in_memory()?,
        )),
        #[cfg(feature = "sqlite")]
        Some(StoreUrl::Sqlite(path)) => Ok(Arc::new(
            super::sqlite_store::SqliteSessionStore::open(path)?,
        )),
        #[cfg(not(feature = "sqlite"))]
        Some(StoreUrl::Sqlite(_)) => Err(crate::store_url::feature_missing("sqlite")),
        #[cfg(feature = "postgres")]
        Some(StoreUrl::Postgres(url)) => Ok(Arc::new(
            super::postgres_store::PostgresSessionStore::connect(url)?,
        )),
        #[cfg(not(feature = "postgres"))]
        Some(StoreUrl::Postgres(_)) => Err(crate::store_url::feature_missing("postgres")),
        _ => Err(unknown_store(
            "session store",
            "memory, sqlite:PATH, postgres://...",
        )),
    }
}
