//! `RequestView` from `http::request::Parts` (feature `http`), for Rust services built on
//! hyper, axum or any `http`-crate framework. Header values that are not valid text are
//! kept as lossy UTF-8 (so a present-but-garbled credential is still "present" and rejected).

use std::net::IpAddr;

use super::request::RequestView;
use crate::percent::percent_decode;

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    String::from_utf8_lossy(&percent_decode(&spaced)).into_owned()
}

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
        let query = parts
            .uri
            .query()
            .map(|q| {
                q.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|pair| match pair.split_once('=') {
                        Some((k, v)) => (form_decode(k), form_decode(v)),
                        None => (form_decode(pair), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        RequestView {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            headers,
            query,
            peer,
        }
    }
}
