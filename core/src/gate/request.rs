//! The framework-neutral request view the gate decides on, with header, query and cookie
//! lookups that follow the gate's rules: header names case-insensitive, cookie names
//! case-sensitive, values trimmed of ASCII whitespace, and empty values treated as absent.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

/// Parses a peer address given as text (bindings, adapters); `validation_error` with
/// `metadata.field = "peer"` when it is not an IP address.
pub fn parse_peer(peer: Option<&str>) -> Result<Option<IpAddr>, Error> {
    match peer {
        None => Ok(None),
        Some(p) => p.trim().parse().map(Some).map_err(|_| {
            Error::with_detail(ErrorCode::ValidationError, "peer is not an IP address")
                .meta("field", "peer")
        }),
    }
}

/// A request as the gate sees it. Build it from any framework's request parts.
///
/// `Debug` and `Serialize` (logs, error reports) print credential headers (`Authorization`,
/// `Cookie`, `X-API-Key`, `X-Admin-Key`, ...) and every query value as `[REDACTED]`: query
/// strings carry API keys, admin keys and media signatures.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RequestView {
    /// HTTP method, any case.
    pub method: String,
    /// The path (percent-encoded as received, without the query).
    pub path: String,
    /// Every header line as `(name, value)`, in order; names in any case.
    pub headers: Vec<(String, String)>,
    /// Query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The peer (socket) address.
    pub peer: Option<IpAddr>,
}

/// Header names whose values are credentials (compared case-insensitively).
const CREDENTIAL_HEADERS: [&str; 7] = [
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-admin-key",
    "x-worker-key",
];

impl RequestView {
    /// The headers with credential values replaced by `[REDACTED]`.
    pub fn redacted_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(name, value)| {
                let secret = CREDENTIAL_HEADERS
                    .iter()
                    .any(|c| name.eq_ignore_ascii_case(c));
                let value = if secret {
                    crate::secret::REDACTED.to_owned()
                } else {
                    value.clone()
                };
                (name.clone(), value)
            })
            .collect()
    }

    /// The query with every value replaced by `[REDACTED]` (names kept).
    pub fn redacted_query(&self) -> Vec<(String, String)> {
        self.query
            .iter()
            .map(|(name, _)| (name.clone(), crate::secret::REDACTED.to_owned()))
            .collect()
    }
}

impl std::fmt::Debug for RequestView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestView")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("headers", &self.redacted_headers())
            .field("query", &self.redacted_query())
            .field("peer", &self.peer)
            .finish()
    }
}

impl Serialize for RequestView {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("RequestView", 5)?;
        s.serialize_field("method", &self.method)?;
        s.serialize_field("path", &self.path)?;
        s.serialize_field("headers", &self.redacted_headers())?;
        s.serialize_field("query", &self.redacted_query())?;
        s.serialize_field("peer", &self.peer)?;
        s.end()
    }
}

/// What a lookup found in one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// Nothing (or only empty values).
    Absent,
    /// Exactly one distinct non-empty value.
    One(&'a str),
    /// Several different non-empty values: ambiguous.
    Conflicting,
}

fn distinct<'a>(values: impl Iterator<Item = &'a str>) -> Lookup<'a> {
    let mut found: Option<&'a str> = None;
    for v in values {
        let v = v.trim_matches(|c: char| c.is_ascii_whitespace());
        if v.is_empty() {
            continue;
        }
        match found {
            None => found = Some(v),
            Some(prev) if prev == v => {}
            Some(_) => return Lookup::Conflicting,
        }
    }
    found.map_or(Lookup::Absent, Lookup::One)
}

impl RequestView {
    /// A view with method and path set.
    pub fn new(method: &str, path: &str) -> Self {
        RequestView {
            method: method.to_owned(),
            path: path.to_owned(),
            ..Default::default()
        }
    }

    /// Adds a header line.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds a query parameter.
    pub fn query_param(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sets the peer address.
    pub fn peer(mut self, ip: IpAddr) -> Self {
        self.peer = Some(ip);
        self
    }

    /// Every value of header `name` (case-insensitive), raw.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The header `name` under the gate's rules.
    pub fn header_lookup(&self, name: &str) -> Lookup<'_> {
        distinct(self.header_values(name))
    }

    /// Whether header `name` is present with a non-empty value.
    pub fn has_header(&self, name: &str) -> bool {
        !matches!(self.header_lookup(name), Lookup::Absent)
    }

    /// The query parameter `name` (exact name) under the gate's rules.
    pub fn query_lookup(&self, name: &str) -> Lookup<'_> {
        distinct(
            self.query
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str()),
        )
    }

    /// The cookie `name` (case-sensitive) across every `Cookie` header line, RFC 6265 style:
    /// pairs split on `;`, a pair without `=` is ignored, a value in double quotes is
    /// unquoted (a quoted value with an inner quote or backslash is kept as malformed text).
    pub fn cookie_lookup(&self, name: &str) -> Lookup<'_> {
        distinct(
            self.header_values("cookie")
                .flat_map(|line| line.split(';'))
                .filter_map(|pair| {
                    let (n, v) = pair.split_once('=')?;
                    (n.trim() == name).then(|| unquote(v.trim()))
                }),
        )
    }
}

fn unquote(v: &str) -> &str {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        let inner = &v[1..v.len() - 1];
        if !inner.contains(['"', '\\']) {
            return inner;
        }
    }
    v
}
