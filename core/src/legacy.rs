//! Migration map from the codes an existing platform backend emits today to the stable
//! codes of [`crate::error::ErrorCode`].
//!
//! | legacy code | stable code |
//! |---|---|
//! | `generation_session_missing` | `session_required` |
//! | `generation_session_expired` | `session_expired` |
//! | `generation_session_invalid` | `session_invalid` |
//! | `admin_session_missing` | `admin_session_required` |
//! | `admin_rate_limited` | `rate_limited` |

//!
//! The table lives with the error codes ([`crate::error`]) because deserialising an error
//! envelope accepts a legacy code too; this module is its public name.

pub use crate::error::{from_legacy_code, LEGACY_CODES};
