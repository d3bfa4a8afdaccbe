//! What a smoke run is given: the target, credentials (as secrets: the CLI reads them from
//! environment variables it is told the NAMES of, never from argv values), origins, and the
//! opt-in checks that spend quota or GPU time.

use serde_json::Value;

use crate::secret::Secret;

/// The hostile remote task ids every run sends, each percent-encoded into one path segment
/// (each must be refused with `proxy_target_invalid` or `task_not_found`, or with
/// `validation_error` by a gate that refuses dot segments; never a 5xx).
/// Traversals stay below `/status`: one that climbs to `/admin` meets the admin boundary
/// first, which the gate decides before any routing (a conservative answer, not a miss).
pub const HOSTILE_TASK_IDS: &[&str] = &[
    "evil.example%23::x",
    "evil.example#::x",
    "127.0.0.1::x",
    "169.254.169.254::latest",
    "ws::../../x",
    "ws::x/../y",
    "UPPER::x",
    "ws\n::x",
    "a::b::c",
    "ws::",
    "::x",
    "nonexistent-workspace::x",
    "ws::..",
    "x@evil.example::y",
];

/// Options of one run.
#[derive(Debug, Clone)]
pub struct SmokeOptions {
    /// `http(s)://host[:port]` of the platform under test (no trailing path needed).
    pub base_url: String,
    /// A valid API key.
    pub api_key: Option<Secret>,
    /// The admin key (`x-admin-key` on `POST /admin/session`).
    pub admin_key: Option<Secret>,
    /// An origin the platform allows.
    pub allowed_origin: Option<String>,
    /// An origin the platform must refuse.
    pub denied_origin: Option<String>,
    /// Opt-in: the throttle limit N of `POST /auth/session` (the check spends the quota).
    pub rate_limit: Option<u32>,
    /// Opt-in: the `POST /generate` body of one image task (the check spends GPU time).
    pub generation: Option<Value>,
    /// How long the generation check polls before it fails, seconds.
    pub poll_timeout_s: f64,
    /// Per-request timeout, seconds.
    pub request_timeout_s: f64,
    /// Every skip is a failure (release gates).
    pub release: bool,
    /// Sent as `x-request-id` on every request, so the run's own audit events can be found.
    pub run_id: String,
}

impl SmokeOptions {
    /// Options for `base_url` with nothing else set (every credentialed check skips).
    /// `validation_error` unless it is an `http://` or `https://` URL with a host: the
    /// runner sends credentials to it, so nothing else may pass.
    pub fn new(base_url: &str) -> Result<Self, crate::Error> {
        let rest = base_url
            .strip_prefix("https://")
            .or_else(|| base_url.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        if host.is_none_or(|h| h.is_empty() || h.contains('@') || h.contains(char::is_whitespace)) {
            return Err(crate::Error::with_detail(
                crate::ErrorCode::ValidationError,
                "the base URL must be http:// or https:// followed by a host (no user-info)",
            ));
        }
        let mut id = [0u8; 6];
        let _ = getrandom::fill(&mut id);
        Ok(SmokeOptions {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: None,
            admin_key: None,
            allowed_origin: None,
            denied_origin: None,
            rate_limit: None,
            generation: None,
            poll_timeout_s: 120.0,
            request_timeout_s: 10.0,
            release: false,
            run_id: format!("smoke-{}", crate::hex::encode(&id)),
        })
    }
}

/// A key given by value, or else read from the environment variable NAMED `env_name` (so it
/// stays out of command lines); empty values count as absent.
pub fn key_from(value: Option<String>, env_name: Option<&str>) -> Option<Secret> {
    value
        .or_else(|| env_name.and_then(|name| std::env::var(name).ok()))
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}
