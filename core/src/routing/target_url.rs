//! Validated worker base URLs, parsed by hand: `https://host[:port][/prefix]` with a DNS host
//! inside the configured suffixes (plain `http` and IP literals only where explicitly
//! allowed), no userinfo, no query, no fragment, no percent-escapes or dot segments in the
//! prefix.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};

/// What registration accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetPolicy {
    /// Allow `http://` (loopback tests only).
    pub allow_http: bool,
    /// Allow IP-literal hosts.
    pub allow_ip_literal: bool,
    /// DNS suffixes the host must end with (`.example.run` or `example.run`); empty = any
    /// DNS name.
    pub host_suffixes: Vec<String>,
}

/// A validated base URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetUrl {
    /// `https` or `http`.
    pub scheme: String,
    /// Lowercase host (DNS name or IP literal, IPv6 without brackets).
    pub host: String,
    /// Explicit port, if any.
    pub port: Option<u16>,
    /// Path prefix without trailing `/` (may be empty).
    pub prefix: String,
}

fn invalid(why: &str) -> Error {
    Error::with_detail(
        ErrorCode::ProxyTargetInvalid,
        format!("worker URL rejected: {why}"),
    )
    .meta("rule", why.to_owned())
}

fn valid_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').count() >= 2
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

impl TargetUrl {
    /// Parses and validates `url` under `policy`.
    pub fn parse(url: &str, policy: &TargetPolicy) -> Result<TargetUrl, Error> {
        if url
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || b == b'\\' || !b.is_ascii())
        {
            return Err(invalid("characters"));
        }
        let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
            ("https", r)
        } else if let Some(r) = url.strip_prefix("http://") {
            if !policy.allow_http {
                return Err(invalid("scheme"));
            }
            ("http", r)
        } else {
            return Err(invalid("scheme"));
        };
        if rest.contains(['?', '#']) {
            return Err(invalid("query_or_fragment"));
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(invalid("userinfo"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(|| invalid("host"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| invalid("port"))?),
            };
            (h.to_ascii_lowercase(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
                None => (authority.to_ascii_lowercase(), None),
            }
        };
        let port = match port {
            None => None,
            Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                Some(
                    p.parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                        .ok_or_else(|| invalid("port"))?,
                )
            }
            Some(_) => return Err(invalid("port")),
        };
        if host.parse::<IpAddr>().is_ok() {
            if !policy.allow_ip_literal {
                return Err(invalid("ip_literal"));
            }
        } else {
            if !valid_dns_name(&host) {
                return Err(invalid("host"));
            }
            if !policy.host_suffixes.is_empty()
                && !policy.host_suffixes.iter().any(|s| {
                    let s = s.trim_start_matches('.').to_ascii_lowercase();
                    host.ends_with(&format!(".{s}"))
                })
            {
                return Err(invalid("host_not_allowed"));
            }
        }
        let prefix = path.trim_end_matches('/');
        if prefix.contains('%')
            || prefix.split('/').any(|s| s == "." || s == "..")
            || prefix.contains("//")
        {
            return Err(invalid("path"));
        }
        Ok(TargetUrl {
            scheme: scheme.to_owned(),
            host,
            port,
            prefix: prefix.to_owned(),
        })
    }

    /// `scheme://host[:port]` (IPv6 in brackets).
    pub fn origin(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{}://{host}:{p}", self.scheme),
            None => format!("{}://{host}", self.scheme),
        }
    }

    /// `scheme://host[:port]/prefix`: the form registration accepts, so a stored entry can be
    /// validated again when it is read back.
    pub fn base_url(&self) -> String {
        format!("{}{}", self.origin(), self.prefix)
    }

    /// The port to connect to (explicit, or the scheme's default).
    pub fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }
}
