//! The address policy applied at connect time: a worker host must not resolve to loopback,
//! private (RFC 1918), CGNAT, link-local, cloud metadata, unique-local, unspecified,
//! multicast, documentation, or any IPv6 form that embeds such an IPv4 address
//! (IPv4-mapped/compatible, NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, 6to4 `2002::/16`,
//! Teredo `2001::/32`), unless its registry entry explicitly allows private targets.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::error::{Error, ErrorCode};

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [127, ..] => "loopback",
        [10, ..] => "private",
        [172, b, ..] if (16..=31).contains(&b) => "private",
        [192, 168, ..] => "private",
        [169, 254, 169, 254] | [100, 100, 100, 200] => "metadata",
        [100, b, ..] if (64..=127).contains(&b) => "cgnat",
        [169, 254, ..] => "link_local",
        [0, ..] => "unspecified",
        [255, 255, 255, 255] => "broadcast",
        [a, ..] if (224..=239).contains(&a) => "multicast",
        [a, ..] if a >= 240 => "reserved",
        [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => "documentation",
        [198, b, ..] if b == 18 || b == 19 => "benchmarking",
        [192, 0, 0, _] => "ietf_protocol",
        _ => return None,
    })
}

/// The cloud metadata endpoints (AWS/GCP/Azure `169.254.169.254`, Alibaba
/// `100.100.100.200`, AWS IPv6 `fd00:ec2::254`), also when an IPv6 address embeds the IPv4
/// one (mapped, compatible, NAT64, 6to4). Never a worker, whatever the entry allows.
pub fn is_metadata(ip: IpAddr) -> bool {
    let v4 = |o: [u8; 4]| o == [169, 254, 169, 254] || o == [100, 100, 100, 200];
    match ip {
        IpAddr::V4(a) => v4(a.octets()),
        IpAddr::V6(a) => {
            if a == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                return true;
            }
            let s = a.segments();
            let low = |hi: u16, lo: u16| {
                let [a, b] = hi.to_be_bytes();
                let [c, d] = lo.to_be_bytes();
                [a, b, c, d]
            };
            let embedded = [
                // ::ffff:a.b.c.d, ::a.b.c.d, 64:ff9b::a.b.c.d, 64:ff9b:1::a.b.c.d
                (s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0))
                    .then(|| low(s[6], s[7])),
                (s[0] == 0x0064 && s[1] == 0xff9b).then(|| low(s[6], s[7])),
                // 2002:aabb:ccdd::
                (s[0] == 0x2002).then(|| low(s[1], s[2])),
            ];
            embedded.into_iter().flatten().any(v4)
        }
    }
}

/// Why `ip` may not be connected to, or `None` when it is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip == "fd00:ec2::254".parse::<Ipv6Addr>().ok()? {
        return Some("metadata");
    }
    if s[0] & 0xfe00 == 0xfc00 {
        return Some("unique_local");
    }
    if s[0] & 0xffc0 == 0xfe80 {
        return Some("link_local");
    }
    if s[0] & 0xff00 == 0xff00 {
        return Some("multicast");
    }
    if s[0] == 0x2001 && s[1] == 0x0db8 {
        return Some("documentation");
    }
    // IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d are refused outright: a worker
    // host has no reason to answer with them, and they hide the IPv4 policy.
    if s[..5] == [0, 0, 0, 0, 0] && (s[5] == 0xffff || s[5] == 0) {
        return Some("ipv4_embedded");
    }
    if s[0] == 0x0064 && s[1] == 0xff9b && (s[2..6] == [0, 0, 0, 0] || s[2] == 1) {
        return Some("nat64");
    }
    if s[0] == 0x2002 {
        return Some("6to4");
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some("teredo");
    }
    None
}

/// Resolves host names; injectable so tests (and DNS-rebinding checks) control answers.
pub trait AddressResolver: Send + Sync + Debug {
    /// Every address `host` resolves to, with `port` (`dependency_unavailable` or
    /// `remote_unavailable` on failure).
    fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error>;

    /// Whether `resolve` may block the thread (a DNS query); async callers then run it on a
    /// blocking thread. Default `true`.
    fn blocks(&self) -> bool {
        true
    }
}

/// A fixed host -> addresses table (tests, pinned deployments).
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    table: BTreeMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// Builds a resolver from `host -> [ip text]`; a non-IP entry is `validation_error`.
    pub fn from_table<'a>(
        table: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<Self, Error> {
        let mut r = StaticResolver::default();
        for (host, ips) in table {
            let parsed = ips
                .iter()
                .map(|i| {
                    i.trim().parse::<IpAddr>().map_err(|_| {
                        Error::with_detail(
                            ErrorCode::ValidationError,
                            "dns entries must be IP addresses",
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            r = r.with(host, &parsed);
        }
        Ok(r)
    }

    /// Adds an answer.
    pub fn with(mut self, host: &str, addrs: &[IpAddr]) -> Self {
        self.table.insert(host.to_owned(), addrs.to_vec());
        self
    }
}

impl AddressResolver for StaticResolver {
    fn blocks(&self) -> bool {
        false
    }

    fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
        match self.table.get(host) {
            Some(a) if !a.is_empty() => Ok(a.iter().map(|ip| SocketAddr::new(*ip, port)).collect()),
            _ => Err(Error::with_detail(
                ErrorCode::RemoteUnavailable,
                "the worker host does not resolve",
            )),
        }
    }
}
