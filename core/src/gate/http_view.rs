//! `RequestView` from `http::request::Parts` (feature `http`), for Rust services built on
//! hyper, axum or any `http`-crate framework. Header values that are not valid text are
//! kept as lossy UTF-8 (so a present-but-garbled credential is still "present" and rejected).

use std::net::IpAddr;

use super::form_query::parse_form_query;
use super::request::RequestView;

impl RequestView {
    /// Builds the view from request parts and the socket peer.
    pub fn from_http_parts(parts: &http::request::Parts, peer: Option<IpAddr>) -> Self {
        let headers = parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let query = parts.uri.query().map(parse_form_query).unwrap_or_default();
        RequestView {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            headers,
            query,
            peer,
        }
    }
}
