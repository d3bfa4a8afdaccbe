//! CORS against an explicit allowlist. An `Origin` must be exactly one header whose value is
//! a browser-serialised origin (`scheme://host[:port]`: lowercase, no default port, no path,
//! no trailing `/`) equal to an allowlist entry. `null`, several `Origin` headers, comma
//! lists and non-canonical forms (`:443`, uppercase host, trailing `/`) are denied: browsers
//! never send them. Allowed responses carry the exact origin, `Access-Control-Allow-Credentials:
//! true` and `Vary: Origin`; denied ones carry only `Vary: Origin`. Never a wildcard.

use super::request::RequestView;
use crate::config::GateConfig;

/// The CORS verdict for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsVerdict {
    /// No `Origin` header: not a cross-origin browser request; nothing to add.
    NotCors,
    /// Allowed; the headers to add.
    Allowed(Vec<(String, String)>),
    /// Denied (`cors_origin_blocked`); the reason for the audit record.
    Denied(&'static str),
}

/// Whether `origin` is in canonical serialised form.
fn canonical(origin: &str) -> bool {
    let rest = match origin.strip_prefix("https://") {
        Some(r) => Some((r, "443")),
        None => origin.strip_prefix("http://").map(|r| (r, "80")),
    };
    let Some((rest, default_port)) = rest else {
        return false;
    };
    if rest.is_empty()
        || rest
            .bytes()
            .any(|b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:[]".contains(&b)))
    {
        return false;
    }
    let host_port = rest
        .rsplit_once(':')
        .filter(|(h, _)| !h.ends_with(']') || rest.starts_with('['));
    match host_port {
        Some((host, port)) if !rest.starts_with('[') || host.ends_with(']') => {
            !host.is_empty()
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port != default_port
                && !port.starts_with('0')
        }
        _ => !rest.ends_with('.'),
    }
}

/// Decides CORS for `req` against `allowlist`.
pub fn check(req: &RequestView, allowlist: &[String]) -> CorsVerdict {
    let origins: Vec<&str> = req.header_values("origin").collect();
    match origins.as_slice() {
        [] => CorsVerdict::NotCors,
        [origin] => {
            let o = *origin;
            if o.eq_ignore_ascii_case("null") {
                CorsVerdict::Denied("null origin")
            } else if o.contains(',') || o.contains(' ') {
                CorsVerdict::Denied("origin list")
            } else if !canonical(o) {
                CorsVerdict::Denied("non-canonical origin")
            } else if allowlist.iter().any(|a| a == o) {
                CorsVerdict::Allowed(vec![
                    ("Access-Control-Allow-Origin".to_owned(), o.to_owned()),
                    (
                        "Access-Control-Allow-Credentials".to_owned(),
                        "true".to_owned(),
                    ),
                    ("Vary".to_owned(), "Origin".to_owned()),
                ])
            } else {
                CorsVerdict::Denied("origin not in allowlist")
            }
        }
        _ => CorsVerdict::Denied("several Origin headers"),
    }
}

/// Extra headers answering an allowed preflight.
pub fn preflight_headers(config: &GateConfig) -> Vec<(String, String)> {
    vec![
        (
            "Access-Control-Allow-Methods".to_owned(),
            config.cors_allow_methods.join(", "),
        ),
        (
            "Access-Control-Allow-Headers".to_owned(),
            config.cors_allow_headers.join(", "),
        ),
        (
            "Access-Control-Max-Age".to_owned(),
            config.cors_max_age_s.to_string(),
        ),
    ]
}
