//! Store URLs, parsed once for every `open_*` function: `memory`, `allow-all`,
//! `sqlite:PATH` (also `sqlite://PATH` and `sqlite::memory:`), `postgres://...` /
//! `postgresql://...`, `redis://...` / `rediss://...`. Which kinds a given store accepts, and
//! what it builds from them, stays with that store.

use crate::error::{Error, ErrorCode};

/// A parsed store URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreUrl<'a> {
    /// In-process memory.
    Memory,
    /// No store at all (the rate limiter that admits everything).
    AllowAll,
    /// A SQLite file path (`:memory:` for an in-memory database).
    Sqlite(&'a str),
    /// A PostgreSQL connection URL (as given).
    Postgres(&'a str),
    /// A Redis URL (as given).
    Redis(&'a str),
}

impl<'a> StoreUrl<'a> {
    /// Parses `url` (surrounding whitespace ignored); `None` for an unknown scheme.
    pub fn parse(url: &'a str) -> Option<StoreUrl<'a>> {
        let url = url.trim();
        Some(match url {
            "memory" => StoreUrl::Memory,
            "allow-all" => StoreUrl::AllowAll,
            _ if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StoreUrl::Postgres(url)
            }
            _ if url.starts_with("redis://") || url.starts_with("rediss://") => {
                StoreUrl::Redis(url)
            }
            _ => {
                let path = url.strip_prefix("sqlite:")?;
                StoreUrl::Sqlite(path.strip_prefix("//").unwrap_or(path))
            }
        })
    }
}

/// `config_invalid` for a backend this build was compiled without.
pub fn feature_missing(feature: &str) -> Error {
    Error::with_detail(
        ErrorCode::ConfigInvalid,
        format!("this build has no `{feature}` feature"),
    )
}

/// `config_invalid` for a URL the store does not accept; `accepted` lists the forms.
pub fn unknown_store(store: &str, accepted: &str) -> Error {
    Error::with_detail(
        ErrorCode::ConfigInvalid,
        format!("unknown {store} ({accepted})"),
    )
}
