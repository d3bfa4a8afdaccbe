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

/// Whether URL parsers would read `host` as an IPv4 address in another notation (`127.1`,
/// `0x7f.1`, `2130706433`): its last label is all digits, or `0x` and hex digits.
fn numeric_host(host: &str) -> bool {
    let last = host.rsplit('.').next().unwrap_or_default();
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex || (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
}

fn valid_dns_name(host: &str) -> bool {
    !numeric_host(host)
        && host.len() <= 253
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

/// A URL split into its parts without allocating: the one grammar both registration and the
/// final re-check of a built URL use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UrlParts<'a> {
    scheme: &'a str,
    /// The host as written (IPv6 without brackets), not yet lowercased.
    host: &'a str,
    port: Option<&'a str>,
    path: &'a str,
}

/// Byte classes for one branch-free pass over a URL.
const FORBIDDEN: u8 = 1;
const QUERY_OR_FRAGMENT: u8 = 2;
const URL_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        if c < 0x21 || c == 0x7f || c == b'\\' || c >= 0x80 {
            table[b] = FORBIDDEN;
        } else if c == b'?' || c == b'#' {
            table[b] = QUERY_OR_FRAGMENT;
        }
        b += 1;
    }
    table
};

fn split_url(url: &str, allow_http: bool) -> Result<UrlParts<'_>, Error> {
    let class = url
        .bytes()
        .fold(0u8, |acc, b| acc | URL_CLASS[usize::from(b)]);
    if class & FORBIDDEN != 0 {
        return Err(invalid("characters"));
    }
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        ("https", r)
    } else if let Some(r) = url.strip_prefix("http://") {
        if !allow_http {
            return Err(invalid("scheme"));
        }
        ("http", r)
    } else {
        return Err(invalid("scheme"));
    };
    if class & QUERY_OR_FRAGMENT != 0 {
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
        // Brackets hold an IPv6 address and nothing else (`[h.t]` is no host to a URL
        // parser).
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid("host"));
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| invalid("port"))?),
        };
        (h, port)
    } else {
        let (h, p) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        // An IPv6 address is written in brackets: `http://::1:80` is no URL.
        if h.contains(':') {
            return Err(invalid("host"));
        }
        (h, p)
    };
    Ok(UrlParts {
        scheme,
        host,
        port,
        path,
    })
}

/// An IPv6 address as the WHATWG URL standard writes a host: lowercase hex pieces, the first
/// longest run of two or more zero pieces as `::`, and never a dotted IPv4 tail (Rust's
/// `Display` writes `::ffff:127.0.0.1`; a URL parser writes `::ffff:7f00:1`).
fn ipv6_text(ip: std::net::Ipv6Addr) -> String {
    let pieces = ip.segments();
    let mut compress = None;
    let mut longest = 1;
    let mut i = 0;
    while i < 8 {
        let start = i;
        while i < 8 && pieces[i] == 0 {
            i += 1;
        }
        if i - start > longest {
            longest = i - start;
            compress = Some(start);
        }
        i = i.max(start + 1);
    }
    let mut out = String::with_capacity(39);
    let mut skipping = false;
    for (index, piece) in pieces.iter().enumerate() {
        if skipping && *piece == 0 {
            continue;
        }
        skipping = false;
        if compress == Some(index) {
            out.push_str(if index == 0 { "::" } else { ":" });
            skipping = true;
            continue;
        }
        out.push_str(&format!("{piece:x}"));
        if index != 7 {
            out.push(':');
        }
    }
    out
}

fn parse_port(port: Option<&str>) -> Result<Option<u16>, Error> {
    match port {
        None => Ok(None),
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| invalid("port"))?,
            ))
        }
        Some(_) => Err(invalid("port")),
    }
}

/// `port` in canonical decimal, written into `buf`.
fn port_digits(port: u16, buf: &mut [u8; 5]) -> &str {
    let mut i = buf.len();
    let mut p = port;
    loop {
        i -= 1;
        buf[i] = b'0' + (p % 10) as u8;
        p /= 10;
        if p == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

impl TargetUrl {
    /// Parses and validates `url` under `policy`.
    pub fn parse(url: &str, policy: &TargetPolicy) -> Result<TargetUrl, Error> {
        let parts = split_url(url, policy.allow_http)?;
        let mut host = parts.host.to_ascii_lowercase();
        let port = parse_port(parts.port)?;
        if let Ok(ip) = host.parse::<IpAddr>() {
            if !policy.allow_ip_literal {
                return Err(invalid("ip_literal"));
            }
            // One spelling per address (`[0::]` is `[::]`), as the WHATWG URL standard
            // serialises it, so the stored origin is the one a client and the final origin
            // check compare.
            host = match ip {
                IpAddr::V4(v4) => v4.to_string(),
                IpAddr::V6(v6) => ipv6_text(v6),
            };
        } else {
            // An `xn--` label is punycode, which a URL parser decodes and validates (and may
            // refuse, or read as another name); workers are registered by plain ASCII names.
            if host.split('.').any(|label| label.starts_with("xn--")) {
                return Err(invalid("punycode"));
            }
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
        let prefix = parts.path.trim_end_matches('/');
        if prefix.contains('%')
            || prefix.split('/').any(|s| s == "." || s == "..")
            || prefix.contains("//")
        {
            return Err(invalid("path"));
        }
        Ok(TargetUrl {
            scheme: parts.scheme.to_owned(),
            host,
            port,
            prefix: prefix.to_owned(),
        })
    }

    /// Appends this URL's authority as resolution writes it: `host[:port]`, an IPv6 host in
    /// brackets, the port in canonical decimal.
    pub fn push_authority(&self, out: &mut String) {
        if self.host.contains(':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(port_digits(port, &mut [0u8; 5]));
        }
    }

    /// `rest` without this URL's canonical authority at its start, or `None` when it does not
    /// start with it. No allocation.
    fn strip_authority<'r>(&self, rest: &'r [u8]) -> Option<&'r [u8]> {
        let host = self.host.as_bytes();
        let rest = if host.contains(&b':') {
            rest.strip_prefix(b"[")?
                .strip_prefix(host)?
                .strip_prefix(b"]")?
        } else {
            rest.strip_prefix(host)?
        };
        match self.port {
            None => Some(rest),
            Some(port) => rest
                .strip_prefix(b":")?
                .strip_prefix(port_digits(port, &mut [0u8; 5]).as_bytes()),
        }
    }

    /// Whether `url` has exactly this origin: its scheme, `://`, then an authority —
    /// everything up to the first `/`, `?`, `#` or `\\`, the terminators URL parsers agree
    /// on — equal byte for byte to this URL's canonical authority (host, brackets for IPv6,
    /// port in canonical decimal). The registered host was validated (no userinfo, no
    /// terminator, no forbidden byte), so it is enough that `url` starts with the canonical
    /// authority and a terminator (or the end) follows it; equality also rules out userinfo.
    /// Used as the final check on every URL resolution builds. No allocation.
    pub fn same_origin(&self, url: &str) -> bool {
        let after = url
            .strip_prefix(self.scheme.as_str())
            .and_then(|r| r.strip_prefix("://"))
            .and_then(|r| self.strip_authority(r.as_bytes()));
        match after {
            Some([]) => true,
            Some([next, ..]) => matches!(next, b'/' | b'?' | b'#' | b'\\'),
            None => false,
        }
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

    /// The host as an IP address when it is an IP literal (a DNS name is rejected by its
    /// first byte outside `[0-9a-f.:]`, without running the address parsers).
    pub fn host_ip(&self) -> Option<IpAddr> {
        if self
            .host
            .bytes()
            .any(|b| !(b.is_ascii_hexdigit() || b == b'.' || b == b':'))
        {
            return None;
        }
        self.host.parse().ok()
    }

    /// The port to connect to (explicit, or the scheme's default).
    pub fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }
}
