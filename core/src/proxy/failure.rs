//! The proxy's sanitized failures: `remote_unavailable` with a short machine `reason` and
//! nothing from the remote (body, URL, query, transport error text).

use crate::error::{Error, ErrorCode};

/// `remote_unavailable` with `metadata.reason = kind`.
pub(crate) fn unavailable(kind: &str) -> Error {
    Error::with_detail(
        ErrorCode::RemoteUnavailable,
        format!("the remote workspace failed ({kind})"),
    )
    .meta("reason", kind.to_owned())
}

/// The failure kind of a transport error; the error itself (which names the URL) is dropped.
pub(crate) fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_redirect() {
        "redirect"
    } else if e.is_body() || e.is_decode() {
        "body"
    } else {
        "transport"
    }
}
