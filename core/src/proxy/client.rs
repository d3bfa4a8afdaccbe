//! One outbound request to a resolved target, asynchronously (reqwest on tokio):
//!
//! - The connection goes to the addresses resolution checked (`resolve_to_addrs`): no second
//!   DNS lookup can rebind the host. Redirects are never followed.
//! - The credential is attached only here, after resolution succeeded, as a sensitive header;
//!   the request goes to the target's URL, which resolution built from the registry origin.
//! - Timeouts per route and per attempt: connect, and read (between two reads of the
//!   socket); a status, generate or gallery attempt also ends after connect + read in all.
//!   A timed-out attempt is retried like a connection error, so a call can take up to
//!   `max_attempts` attempts plus backoff (the gallery fan-out bounds each account by one
//!   connect + read in total).
//! - Retries: up to `max_attempts` on the configured statuses (429/500/502/503/504) or a
//!   connection error or timeout, with exponential backoff from `backoff_base_ms` (capped at
//!   10 s). `POST /generate` carries one idempotency key across its attempts so a remote can
//!   drop a duplicate.
//! - Clients (and their connection pools) are cached per host, addresses and route.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::body::RemoteBody;
use super::failure::{transport_kind, unavailable};
use super::gallery::{parse_gallery, GalleryItem};
use super::generate::{parse_generate, GenerateAccepted};
use super::status::{parse_status, RemoteStatus};
use crate::config::{ProxyConfig, RouteTimeouts};
use crate::error::{Error, ErrorCode};
use crate::routing::{ProxyRoute, ResolvedTarget};
use crate::secret::Secret;

/// The header that carries the worker credential.
pub const CREDENTIAL_HEADER: &str = "x-api-key";

/// The header that carries the idempotency key of `POST /generate`.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The largest JSON body (status, generate, gallery) read from a remote.
const MAX_JSON_BYTES: usize = 1 << 20;

/// Cached clients before the cache is emptied (addresses change with DNS).
const MAX_CACHED_CLIENTS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    host: String,
    addresses: Vec<SocketAddr>,
    route: ProxyRoute,
}

/// The proxy client. Cheap to clone (clones share the client cache).
#[derive(Debug, Clone)]
pub struct ProxyClient {
    config: Arc<ProxyConfig>,
    clients: Arc<Mutex<HashMap<ClientKey, reqwest::Client>>>,
}

/// The configured timeouts of `route`.
pub(crate) fn route_timeouts(config: &ProxyConfig, route: ProxyRoute) -> RouteTimeouts {
    match route {
        ProxyRoute::Status => config.status,
        ProxyRoute::Results => config.results,
        ProxyRoute::Preview => config.preview,
        ProxyRoute::Generate => config.generate,
        ProxyRoute::Gallery => config.gallery,
    }
}

fn is_streamed(route: ProxyRoute) -> bool {
    matches!(route, ProxyRoute::Results | ProxyRoute::Preview)
}

fn random_key() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|_| {
        Error::with_detail(
            ErrorCode::InternalError,
            "no randomness for an idempotency key",
        )
    })?;
    Ok(crate::hex::encode(&b))
}

impl ProxyClient {
    /// A client with the proxy policy of `config`.
    pub fn new(config: &ProxyConfig) -> Self {
        ProxyClient {
            config: Arc::new(config.clone()),
            clients: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The policy in force.
    pub fn config(&self) -> &ProxyConfig {
        &self.config
    }

    fn client(&self, target: &ResolvedTarget, route: ProxyRoute) -> Result<reqwest::Client, Error> {
        let key = ClientKey {
            host: target.host().to_owned(),
            addresses: target.addresses.clone(),
            route,
        };
        let mut cache = self
            .clients
            .lock()
            .map_err(|_| unavailable("client_setup"))?;
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let t = route_timeouts(&self.config, route);
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs_f64(t.connect_s))
            .read_timeout(Duration::from_secs_f64(t.read_s))
            .https_only(!self.config.allow_http)
            .user_agent("inferwarden-proxy")
            .no_proxy();
        if target.host().parse::<std::net::IpAddr>().is_err() {
            b = b.resolve_to_addrs(target.host(), &target.addresses);
        }
        let client = b.build().map_err(|_| unavailable("client_setup"))?;
        if cache.len() >= MAX_CACHED_CLIENTS {
            cache.clear();
        }
        cache.insert(key, client.clone());
        Ok(client)
    }

    /// Sends `route` to the target (a `GET`, or for `generate` a `POST` of `json`), retrying
    /// per policy, and returns the 2xx response with its body unread. `query` is appended to
    /// the resolved URL (only the gallery's numeric limit uses it).
    pub async fn send(
        &self,
        target: &ResolvedTarget,
        route: ProxyRoute,
        credential: &Secret,
        json: Option<&Value>,
        query: Option<&str>,
    ) -> Result<RemoteBody, Error> {
        let watch = crate::metrics::Stopwatch::start();
        // Counts the request as `cancelled` if this future is dropped before it finishes.
        let mut unfinished = Unfinished {
            route: route.as_str(),
            watch,
            armed: true,
        };
        let mut attempts = 0;
        let sending = self.send_unrecorded(target, route, credential, json, query, &mut attempts);
        #[cfg(feature = "tracing")]
        let sending = tracing::Instrument::instrument(
            sending,
            tracing::trace_span!(target: "inferwarden::proxy", "proxy_request", route = route.as_str()),
        );
        let result = sending.await;
        unfinished.armed = false;
        crate::metrics::record_proxy_request(
            route.as_str(),
            result.as_ref().map(|_| ()),
            watch.elapsed(),
            attempts,
        );
        #[cfg(feature = "tracing")]
        if let Err(e) = &result {
            tracing::warn!(
                target: "inferwarden::proxy",
                route = route.as_str(),
                code = e.code_str(),
                reason = e
                    .metadata()
                    .and_then(|m| m.get("reason"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("-"),
                attempts,
                "remote worker request failed"
            );
        }
        result
    }

    async fn send_unrecorded(
        &self,
        target: &ResolvedTarget,
        route: ProxyRoute,
        credential: &Secret,
        json: Option<&Value>,
        query: Option<&str>,
        made: &mut u32,
    ) -> Result<RemoteBody, Error> {
        let t = route_timeouts(&self.config, route);
        let client = self.client(target, route)?;
        let mut key = reqwest::header::HeaderValue::from_str(credential.expose())
            .map_err(|_| unavailable("credential_unusable"))?;
        key.set_sensitive(true);
        let idempotency = match route {
            ProxyRoute::Generate => Some(random_key()?),
            _ => None,
        };
        let body = json
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|_| Error::with_detail(ErrorCode::ValidationError, "unserializable body"))?;
        let url = match query {
            Some(q) => format!("{}?{q}", target.url),
            None => target.url.clone(),
        };
        let attempts = self.config.max_attempts.max(1);
        let mut last = unavailable("no_attempt");
        for attempt in 1..=attempts {
            *made = attempt;
            if attempt > 1 {
                let backoff = self
                    .config
                    .backoff_base_ms
                    .saturating_mul(1 << (attempt - 2).min(10));
                tokio::time::sleep(Duration::from_millis(backoff.min(10_000))).await;
            }
            let mut req = match &body {
                Some(b) => client
                    .post(&url)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone()),
                None => client.get(&url),
            }
            .header(CREDENTIAL_HEADER, key.clone());
            if let Some(k) = &idempotency {
                req = req.header(IDEMPOTENCY_HEADER, k.as_str());
            }
            if !is_streamed(route) {
                req = req.timeout(Duration::from_secs_f64(t.connect_s + t.read_s));
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if resp.status().is_success() {
                        return Ok(RemoteBody::new(resp, attempt));
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
                    last = unavailable(transport_kind(&e)).meta("attempts", u64::from(attempt));
                }
            }
        }
        Err(last)
    }

    /// Fetches and validates the status of the public id `public_id`.
    pub async fn status(
        &self,
        target: &ResolvedTarget,
        credential: &Secret,
        public_id: &str,
    ) -> Result<RemoteStatus, Error> {
        let body = self
            .send(target, ProxyRoute::Status, credential, None, None)
            .await?
            .read_to_end(MAX_JSON_BYTES)
            .await?;
        parse_status(&body, public_id)
    }

    /// Opens a streamed result or preview (`route`); only media content types pass.
    pub async fn media(
        &self,
        target: &ResolvedTarget,
        route: ProxyRoute,
        credential: &Secret,
    ) -> Result<RemoteBody, Error> {
        if !is_streamed(route) {
            return Err(Error::with_detail(
                ErrorCode::ValidationError,
                "media is results or preview",
            ));
        }
        self.send(target, route, credential, None, None)
            .await?
            .require_media()
    }

    /// Submits a generation request to the target workspace.
    pub async fn generate(
        &self,
        target: &ResolvedTarget,
        credential: &Secret,
        payload: &Value,
    ) -> Result<GenerateAccepted, Error> {
        let body = self
            .send(
                target,
                ProxyRoute::Generate,
                credential,
                Some(payload),
                None,
            )
            .await?
            .read_to_end(MAX_JSON_BYTES)
            .await?;
        parse_generate(&body, target.workspace())
    }

    /// One workspace's gallery (at most `limit` items), validated; returns the items and how
    /// many invalid items were skipped.
    pub async fn gallery(
        &self,
        target: &ResolvedTarget,
        credential: &Secret,
        limit: u32,
    ) -> Result<(Vec<GalleryItem>, u32), Error> {
        let query = format!("limit={limit}");
        let body = self
            .send(target, ProxyRoute::Gallery, credential, None, Some(&query))
            .await?
            .read_to_end(MAX_JSON_BYTES)
            .await?;
        parse_gallery(&body, target.workspace())
    }
}

/// Records a proxied request its caller dropped mid-flight (see `ProxyClient::send`).
struct Unfinished {
    route: &'static str,
    watch: crate::metrics::Stopwatch,
    armed: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.armed {
            crate::metrics::record_proxy_cancelled(self.route, self.watch.elapsed());
        }
    }
}
