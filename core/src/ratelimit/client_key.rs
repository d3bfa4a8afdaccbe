//! Client identity for throttling: the peer address, or the address a configured number of
//! trusted proxies reported in `X-Forwarded-For`, normalised so one client has one bucket.
//!
//! - `trusted_hops = 0`: the peer address; `X-Forwarded-For` is ignored entirely.
//! - `trusted_hops = n`: all `X-Forwarded-For` lines are joined in order, and the entry `n`
//!   places from the right is the client (the peer is the last proxy). With fewer entries than
//!   `n`, or a malformed entry at that place, the leftmost PARSABLE candidate is never
//!   trusted: the key becomes the peer address (deterministic, never empty).
//! - IPv6 clients are keyed by their /64; IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is `1.2.3.4`.
//! - No peer at all: the key `unknown-peer` (one shared bucket: throttled, never bypassed).

use std::net::{IpAddr, Ipv6Addr};

/// The bucket key for one client address.
pub fn client_key_from_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip4:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip4:{v4}"),
            None => {
                let s = v6.segments();
                let prefix = Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("ip6:{prefix}/64")
            }
        },
    }
}

fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    if let Ok(ip) = e.parse::<IpAddr>() {
        return Some(ip);
    }
    // `[v6]:port` or `v4:port`
    if let Some(rest) = e.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = e.rsplit_once(':')?;
    if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() {
        return host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4);
    }
    None
}

/// The client key from the peer address and every `X-Forwarded-For` header line (in order).
pub fn client_key(peer: Option<IpAddr>, forwarded_for: &[&str], trusted_hops: u32) -> String {
    let peer_key = || {
        peer.map(client_key_from_ip)
            .unwrap_or_else(|| "unknown-peer".to_owned())
    };
    if trusted_hops == 0 {
        return peer_key();
    }
    let entries: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|line| line.split(','))
        .collect();
    let hops = trusted_hops as usize;
    if entries.len() < hops {
        return peer_key();
    }
    match parse_forwarded_entry(entries[entries.len() - hops]) {
        Some(ip) => client_key_from_ip(ip),
        None => peer_key(),
    }
}
