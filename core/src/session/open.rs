//! Opening a session store from a URL, so embedders (and the bindings) choose a backend by
//! configuration: `memory`, `sqlite:PATH` (or `sqlite::memory:`), `postgres://...`.

use std::sync::Arc;

use super::memory::MemorySessionStore;
use super::record::SessionStore;
use crate::error::{Error, ErrorCode};

/// Opens the store named by `url`. Unknown schemes, or a backend compiled out, are
/// `config_invalid`; an unreachable store is `dependency_unavailable`.
pub fn open_session_store(url: &str) -> Result<Arc<dyn SessionStore>, Error> {
    let url = url.trim();
    if url == "memory" {
        return Ok(Arc::new(MemorySessionStore::new()));
    }
    if let Some(path) = url.strip_prefix("sqlite:") {
        #[cfg(feature = "sqlite")]
        {
            let store = if path == ":memory:" {
                super::sqlite_store::SqliteSessionStore::in_memory()?
            } else {
                super::sqlite_store::SqliteSessionStore::open(
                    path.strip_prefix("//").unwrap_or(path),
                )?
            };
            return Ok(Arc::new(store));
        }
        #[cfg(not(feature = "sqlite"))]
        {
            let _ = path;
            return Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                "this build has no `sqlite` feature",
            ));
        }
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        {
            return Ok(Arc::new(
                super::postgres_store::PostgresSessionStore::connect(url)?,
            ));
        }
        #[cfg(not(feature = "postgres"))]
        {
            return Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                "this build has no `postgres` feature",
            ));
        }
    }
    Err(Error::with_detail(
        ErrorCode::ConfigInvalid,
        "unknown session store (memory, sqlite:PATH, postgres://...)",
    ))
}
