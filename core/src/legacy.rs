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

use crate::error::ErrorCode;

/// Every legacy code with the stable code that replaces it.
pub const LEGACY_CODES: [(&str, ErrorCode); 5] = [
    ("generation_session_missing", ErrorCode::SessionRequired),
    ("generation_session_expired", ErrorCode::SessionExpired),
    ("generation_session_invalid", ErrorCode::SessionInvalid),
    ("admin_session_missing", ErrorCode::AdminSessionRequired),
    ("admin_rate_limited", ErrorCode::RateLimited),
];

/// The stable code replacing a legacy one, or `None` when `code` is not a legacy code.
pub fn from_legacy_code(code: &str) -> Option<ErrorCode> {
    LEGACY_CODES
        .iter()
        .find(|(legacy, _)| *legacy == code)
        .map(|(_, c)| *c)
}
