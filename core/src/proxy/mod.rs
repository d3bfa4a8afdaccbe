//! The remote-workspace proxy client (feature `proxy`): forwards status, results and preview
//! requests ONLY to a [`ResolvedTarget`] (registry origin, checked addresses), with the
//! per-route connect/read timeouts and the retry policy of the configuration.
//!
//! - The connection goes to the addresses resolution checked (`resolve_to_addrs`): no second
//!   DNS lookup can rebind the host. Redirects are never followed.
//! - The credential is attached only here, after resolution succeeded, as a sensitive header
//!   pinned to the target's origin.
//! - Retries: up to `max_attempts` on the configured statuses (429/500/502/503/504) or a
//!   connection error or timeout, with exponential backoff from `backoff_base_ms`.
//! - Remote 404 is `task_not_found`; everything else is `remote_unavailable` with the remote
//!   status or failure kind in metadata, never the remote body, the URL or reqwest's text.
//! - Status payloads are validated: unknown status values are `remote_unavailable`, progress
//!   is clamped to 0..=100, result/preview URLs are rewritten to the gateway's own routes.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::config::{ProxyConfig, RouteTimeouts};
use crate::error::{Error, ErrorCode};
use crate::routing::{ProxyRoute, ResolvedTarget};
use crate::secret::Secret;

/// The header that carries the worker credential.
pub const CREDENTIAL_HEADER: &str = "x-api-key";

/// A proxied response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyResponse {
    /// Remote status (2xx only: anything else is an error).
    pub status: u16,
    /// Remote content type, if any.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// Attempts used.
    pub attempts: u32,
}

/// A validated remote status payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteStatus {
    /// The public (composite) task id.
    pub task_id: String,
    /// `pending`, `processing`, `done` or `failed`.
    pub status: String,
    /// 0..=100.
    pub progress: u8,
    /// The gateway's own result route, when the remote reports a result.
    pub result_url: Option<String>,
    /// The gateway's own preview route, when the remote reports a preview.
    pub preview_url: Option<String>,
    /// The remote's error message for failed tasks (truncated to 500 characters).
    pub error: Option<String>,
}

/// The proxy client.
#[derive(Debug, Clone)]
pub struct ProxyClient {
    config: ProxyConfig,
}

fn unavailable(kind: &str) -> Error {
    Error::with_detail(
        ErrorCode::RemoteUnavailable,
        format!("the remote workspace failed ({kind})"),
    )
    .meta("reason", kind.to_owned())
}

fn timeouts(config: &ProxyConfig, route: ProxyRoute) -> RouteTimeouts {
    match route {
        ProxyRoute::Status => config.status,
        ProxyRoute::Results => config.results,
        ProxyRoute::Preview => config.preview,
    }
}

impl ProxyClient {
    /// A client with the proxy policy of `config`.
    pub fn new(config: &ProxyConfig) -> Self {
        ProxyClient {
            config: config.clone(),
        }
    }

    fn client(
        &self,
        target: &ResolvedTarget,
        t: RouteTimeouts,
    ) -> Result<reqwest::blocking::Client, Error> {
        let host = target.origin.split("://").nth(1).unwrap_or_default();
        let host = host
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut b = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs_f64(t.connect_s))
            .timeout(Duration::from_secs_f64(t.connect_s + t.read_s))
            .https_only(!self.config.allow_http)
            .user_agent("inferwarden-proxy");
        if host.parse::<std::net::IpAddr>().is_err() {
            b = b.resolve_to_addrs(host, &target.addresses);
        }
        b.build().map_err(|_| unavailable("client_setup"))
    }

    /// Fetches `route` of the target, retrying per policy.
    pub fn fetch(
        &self,
        target: &ResolvedTarget,
        route: ProxyRoute,
        credential: &Secret,
    ) -> Result<ProxyResponse, Error> {
        let t = timeouts(&self.config, route);
        let client = self.client(target, t)?;
        let mut value = reqwest::header::HeaderValue::from_str(credential.expose())
            .map_err(|_| unavailable("credential_unusable"))?;
        value.set_sensitive(true);
        let attempts = self.config.max_attempts.max(1);
        let mut last = unavailable("no_attempt");
        for attempt in 1..=attempts {
            if attempt > 1 {
                let backoff = self
                    .config
                    .backoff_base_ms
                    .saturating_mul(1 << (attempt - 2).min(10));
                std::thread::sleep(Duration::from_millis(backoff.min(10_000)));
            }
            match client
                .get(&target.url)
                .header(CREDENTIAL_HEADER, value.clone())
                .send()
            {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if resp.status().is_success() {
                        let content_type = resp
                            .headers()
                            .get(reqwest::header::CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned);
                        let body = resp
                            .bytes()
                            .map_err(|e| {
                                unavailable(if e.is_timeout() { "timeout" } else { "body" })
                            })?
                            .to_vec();
                        return Ok(ProxyResponse {
                            status,
                            content_type,
                            body,
                            attempts: attempt,
                        });
                    }
                    if status == 404 {
                        return Err(Error::new(ErrorCode::TaskNotFound)
                            .meta("remote_status", u64::from(status)));
                    }
                    last = unavailable("remote_status")
                        .meta("remote_status", u64::from(status))
                        .meta("attempts", u64::from(attempt));
                    if !self.config.retry_statuses.contains(&status) {
                        return Err(last);
                    }
                }
                Err(e) => {
                    let kind = if e.is_timeout() {
                        "timeout"
                    } else if e.is_connect() {
                        "connect"
                    } else if e.is_redirect() {
                        "redirect"
                    } else {
                        "transport"
                    };
                    last = unavailable(kind).meta("attempts", u64::from(attempt));
                }
            }
        }
        Err(last)
    }

    /// Fetches and validates a status payload for the public id `public_id`.
    pub fn fetch_status(
        &self,
        target: &ResolvedTarget,
        credential: &Secret,
        public_id: &str,
    ) -> Result<RemoteStatus, Error> {
        let resp = self.fetch(target, ProxyRoute::Status, credential)?;
        parse_status(&resp.body, public_id)
    }
}

/// Validates a remote status payload and rewrites its media URLs to the gateway's routes.
pub fn parse_status(body: &[u8], public_id: &str) -> Result<RemoteStatus, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|_| unavailable("malformed_status"))?;
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| unavailable("malformed_status"))?;
    if !matches!(status, "pending" | "processing" | "done" | "failed") {
        return Err(unavailable("unknown_status"));
    }
    let progress = v.get("progress").and_then(Value::as_f64).map_or(0.0, |p| {
        if p.is_finite() {
            p.clamp(0.0, 100.0)
        } else {
            0.0
        }
    });
    let has = |k: &str| {
        v.get(k)
            .is_some_and(|x| x.is_string() && !x.as_str().unwrap_or_default().is_empty())
    };
    Ok(RemoteStatus {
        task_id: public_id.to_owned(),
        status: status.to_owned(),
        progress: progress.round() as u8,
        result_url: (has("result_url") || status == "done")
            .then(|| format!("/results/{public_id}")),
        preview_url: has("preview_url").then(|| format!("/preview/{public_id}")),
        error: v
            .get("error")
            .and_then(Value::as_str)
            .map(|e| e.chars().take(500).collect()),
    })
}
