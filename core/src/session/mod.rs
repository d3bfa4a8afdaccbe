//! Sessions (REQUIREMENTS section 3): generation sessions (`gg_session`, absolute lifetime)
//! and admin sessions (`gg_admin_session`, sliding idle timeout plus an absolute maximum).
//!
//! Tokens are 256 random bits from the OS, URL-safe base64; stores keep only the SHA-256 of
//! a token (its id). States: active, revoked, expired; revoked and expired are terminal. A
//! store that cannot answer yields `dependency_unavailable`, never anonymous access.

mod cookie;
mod manager;
mod memory;
mod open;
#[cfg(feature = "postgres")]
mod postgres_store;
mod record;
#[cfg(feature = "sqlite")]
mod sqlite_record_cache;
#[cfg(feature = "sqlite")]
mod sqlite_store;
mod token;

pub use cookie::{clear_cookie, set_cookie};
pub use manager::{IssuedSession, SessionCheck, SessionManager};
pub use memory::MemorySessionStore;
pub use open::open_session_store;
#[cfg(feature = "postgres")]
pub use postgres_store::PostgresSessionStore;
pub use record::{SessionKind, SessionRecord, SessionStore};
#[cfg(feature = "sqlite")]
pub use sqlite_store::{RecordCacheCounts, SqliteSessionStore};
pub use token::{new_token, token_id, TOKEN_LEN};
