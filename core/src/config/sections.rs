//! The configuration's sections and their defaults. Field names are the file keys; nested
//! environment overrides join them with `__` (e.g. `INFERWARDEN_STALE__VIDEO_PROCESSING_TTL_S`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::secret::Secret;

/// Environment names in which anonymous access may be switched on.
pub const DEV_ENVIRONMENTS: [&str; 4] = ["local", "dev", "development", "test"];

/// The whole runtime policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Deployment environment name (`production`, `staging`, `dev`, `test`, ...).
    pub environment: String,
    /// Credentials and the admin boundary.
    pub auth: AuthConfig,
    /// Session lifetimes and cookie attributes.
    pub sessions: SessionConfig,
    /// Throttles for the auth and admin surfaces.
    pub rate_limits: RateLimitConfig,
    /// Cross-origin allowlist.
    pub cors: CorsConfig,
    /// Remote workspace proxy timeouts and retries.
    pub proxy: ProxyConfig,
    /// Stale task policy and the sweep.
    pub stale: StaleConfig,
    /// Worker lanes (serverless functions) and their capacity.
    pub workers: WorkerConfig,
    /// The degraded shared queue and lane health.
    pub queue: QueueConfig,
    /// GPU memory levels and budgets.
    pub gpu: GpuConfig,
    /// Request gate: route classes, session issuance, CORS preflight, signed media URLs.
    pub gate: GateConfig,
    /// The audit log: store, retention, group commit, signing and identifier hashing.
    pub audit: AuditConfig,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            environment: "production".to_owned(),
            auth: AuthConfig::default(),
            sessions: SessionConfig::default(),
            rate_limits: RateLimitConfig::default(),
            cors: CorsConfig::default(),
            proxy: ProxyConfig::default(),
            stale: StaleConfig::default(),
            workers: WorkerConfig::default(),
            queue: QueueConfig::default(),
            gpu: GpuConfig::default(),
            gate: GateConfig::default(),
            audit: AuditConfig::default(),
        }
    }
}

impl PolicyConfig {
    /// Whether `environment` is one of [`DEV_ENVIRONMENTS`] (case-insensitive).
    pub fn is_dev_environment(&self) -> bool {
        DEV_ENVIRONMENTS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(self.environment.trim()))
    }
}

/// Credentials and the admin boundary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Accepted API keys (several during rotation). A comma-separated string is accepted.
    #[serde(deserialize_with = "secrets_from_list_or_csv")]
    pub api_keys: Vec<Secret>,
    /// The admin bootstrap key (`x-admin-key`); at least 16 characters or admin fails closed.
    pub admin_key: Option<Secret>,
    /// The key that signs media URLs.
    pub media_signing_key: Option<Secret>,
    /// Whether the `api_key` query parameter is read at all.
    pub allow_query_api_key: bool,
    /// Allow requests without credentials; honoured only in a dev environment.
    pub allow_anonymous_dev: bool,
    /// Minimum admin key length.
    pub admin_key_min_len: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            api_keys: Vec::new(),
            admin_key: None,
            media_signing_key: None,
            allow_query_api_key: true,
            allow_anonymous_dev: false,
            admin_key_min_len: 16,
        }
    }
}

/// `SameSite` cookie attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (requires `Secure`).
    None,
}

/// Session lifetimes and cookie attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Generation session cookie name.
    pub cookie_name: String,
    /// Admin session cookie name.
    pub admin_cookie_name: String,
    /// Absolute lifetime of a generation session, seconds.
    pub generation_lifetime_s: u64,
    /// Admin idle timeout (slides on use), seconds.
    pub admin_idle_timeout_s: u64,
    /// Admin absolute maximum lifetime, seconds.
    pub admin_absolute_lifetime_s: u64,
    /// The longest time, seconds, between two writes of an admin session's last use: a use
    /// is written only when the stored one is at least this old (and at least 1 % of
    /// `admin_idle_timeout_s` old, whichever is shorter), which saves a store write on most
    /// admin requests. The idle timeout counts from the stored use, so a session can expire
    /// up to this much early, never late. `0` writes every use.
    pub admin_last_use_write_interval_s: u64,
    /// `SameSite` attribute.
    pub same_site: SameSite,
    /// `Secure` attribute.
    pub secure: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            cookie_name: "gg_session".to_owned(),
            admin_cookie_name: "gg_admin_session".to_owned(),
            generation_lifetime_s: 24 * 3600,
            admin_idle_timeout_s: 12 * 3600,
            admin_absolute_lifetime_s: 24 * 3600,
            admin_last_use_write_interval_s: 60,
            same_site: SameSite::Lax,
            secure: true,
        }
    }
}

/// "At most `limit` accepted requests in any window of `window_s` seconds".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u32,
    /// Window length, seconds.
    pub window_s: u64,
}

/// Throttles for the auth and admin surfaces (inference routes are never throttled).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `POST /auth/session`, keyed by client IP.
    pub auth_session: RateLimit,
    /// `POST /admin/session`, keyed by client IP.
    pub admin_bootstrap: RateLimit,
    /// Other `/admin/*` routes, keyed by admin session.
    pub admin: RateLimit,
    /// How many `X-Forwarded-For` hops (from the right) are trusted proxies.
    pub trusted_proxy_hops: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            auth_session: RateLimit {
                limit: 10,
                window_s: 60,
            },
            admin_bootstrap: RateLimit {
                limit: 30,
                window_s: 60,
            },
            admin: RateLimit {
                limit: 120,
                window_s: 60,
            },
            trusted_proxy_hops: 0,
        }
    }
}

/// Cross-origin allowlist (also read from `FRONTEND_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct CorsConfig {
    /// Allowed origins, exact `scheme://host[:port]`. A comma-separated string is accepted.
    #[serde(deserialize_with = "strings_from_list_or_csv")]
    pub frontend_origins: Vec<String>,
}

/// Connect and read timeouts for one proxied route.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTimeouts {
    /// Connect timeout, seconds.
    pub connect_s: f64,
    /// Read timeout, seconds.
    pub read_s: f64,
}

/// Remote workspace proxy policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConfig {
    /// `GET /status/{id}`.
    pub status: RouteTimeouts,
    /// `GET /results/{id}`.
    pub results: RouteTimeouts,
    /// `GET /preview/{id}`.
    pub preview: RouteTimeouts,
    /// `POST /generate`.
    pub generate: RouteTimeouts,
    /// `GET /gallery` fan-out.
    pub gallery: RouteTimeouts,
    /// Attempts including the first.
    pub max_attempts: u32,
    /// Remote statuses that are retried.
    pub retry_statuses: Vec<u16>,
    /// First backoff delay, milliseconds (doubles per attempt).
    pub backoff_base_ms: u64,
    /// Allow plain `http` targets (loopback tests only).
    pub allow_http: bool,
    /// Allow IP-literal worker hosts.
    pub allow_ip_literal: bool,
    /// DNS suffixes a registered workspace host must end with.
    pub allowed_host_suffixes: Vec<String>,
    /// Every worker of this deployment lives on a private network (a VPC, a cluster
    /// network): all registered hosts may resolve to private, loopback or link-local
    /// addresses, as if each entry had `allow_private = true`. Cloud metadata addresses stay
    /// forbidden. Default `false`: only entries registered with `allow_private` may.
    pub allow_private_networks: bool,
    /// Where the worker-account registry lives: `memory` (default), `sqlite:PATH` or
    /// `postgres://...`. Its password never prints (`config show`, `to_toml`, `Debug`).
    pub registry: crate::secret_url::ConnectionUrl,
    /// Worker accounts declared here are validated with the whole configuration and
    /// registered (replacing a stored entry of the same name) when a router starts.
    pub workspaces: Vec<WorkspaceConfig>,
}

/// One worker account declared in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// The workspace name (`^[a-z0-9-]{3,64}$`).
    pub workspace: String,
    /// Its base URL (`https://host[:port][/prefix]`).
    pub base_url: String,
    /// `pending`, `ready` (default), `failed` or `disabled`.
    #[serde(default = "ready_status")]
    pub status: String,
    /// The name of the secret that authenticates to it (default `default`).
    #[serde(default = "default_credential_ref")]
    pub credential_ref: String,
    /// Accept private/loopback addresses for this account (tests, private networks).
    #[serde(default)]
    pub allow_private: bool,
}

fn ready_status() -> String {
    "ready".to_owned()
}

fn default_credential_ref() -> String {
    "default".to_owned()
}

impl ProxyConfig {
    /// The registration policy these settings describe.
    pub fn target_policy(&self) -> crate::workspace::TargetPolicy {
        crate::workspace::TargetPolicy {
            allow_http: self.allow_http,
            allow_ip_literal: self.allow_ip_literal,
            host_suffixes: self.allowed_host_suffixes.clone(),
        }
    }
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            status: RouteTimeouts {
                connect_s: 5.0,
                read_s: 20.0,
            },
            results: RouteTimeouts {
                connect_s: 5.0,
                read_s: 120.0,
            },
            preview: RouteTimeouts {
                connect_s: 5.0,
                read_s: 60.0,
            },
            generate: RouteTimeouts {
                connect_s: 4.0,
                read_s: 60.0,
            },
            gallery: RouteTimeouts {
                connect_s: 5.0,
                read_s: 20.0,
            },
            max_attempts: 3,
            retry_statuses: vec![429, 500, 502, 503, 504],
            backoff_base_ms: 200,
            allow_http: false,
            allow_ip_literal: false,
            allowed_host_suffixes: Vec::new(),
            allow_private_networks: false,
            registry: "memory".into(),
            workspaces: Vec::new(),
        }
    }
}

/// Stale task policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaleConfig {
    /// `processing` TTL per task type, seconds, measured from `started_at`.
    pub processing_ttl_s: BTreeMap<String, u64>,
    /// A `pending` task not claimed within this many seconds fails as a worker-start timeout.
    pub pending_start_timeout_s: u64,
    /// How often the sweep runs, seconds.
    pub sweep_interval_s: u64,
    /// Tasks failed per sweep transaction (halved after a store timeout, restored as sweeps
    /// succeed). Default 1,000, as River's maintenance services use: a transaction's fixed
    /// cost (planning, round trips, the commit's WAL flush) is paid per batch, and a batch
    /// only locks rows that are already stale.
    pub sweep_batch_size: u32,
    /// A `processing` task with no heartbeat or progress report for this many seconds fails
    /// as `heartbeat_timeout` before its stale deadline; 0 disables the check. Must be
    /// shorter than every processing TTL.
    pub heartbeat_timeout_s: u64,
}

impl Default for StaleConfig {
    fn default() -> Self {
        StaleConfig {
            processing_ttl_s: BTreeMap::from([
                ("image".to_owned(), 600),
                ("video".to_owned(), 1800),
            ]),
            pending_start_timeout_s: 120,
            sweep_interval_s: 60,
            sweep_batch_size: 1000,
            heartbeat_timeout_s: 0,
        }
    }
}

impl StaleConfig {
    /// The TTL for a task type; unknown types get the strictest (shortest) configured TTL.
    pub fn ttl_for(&self, task_type: &str) -> u64 {
        self.processing_ttl_s
            .get(task_type)
            .copied()
            .unwrap_or_else(|| self.processing_ttl_s.values().copied().min().unwrap_or(0))
    }
}

/// One serverless worker lane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LaneConfig {
    /// The task type the lane runs (`image`, `video`).
    pub task_type: String,
    /// Whether this is a dedicated warm lane (else the degraded shared lane).
    pub dedicated: bool,
    /// Function timeout, seconds.
    pub timeout_s: u64,
    /// Warm containers kept.
    pub min_containers: u32,
    /// Container cap.
    pub max_containers: u32,
    /// Idle seconds before a container scales down.
    pub scaledown_window_s: u64,
    /// Concurrent inputs per container.
    pub concurrency: u32,
}

/// Worker lanes keyed by lane name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// The lanes.
    pub lanes: BTreeMap<String, LaneConfig>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        let lane = |task_type: &str,
                    dedicated,
                    timeout_s,
                    min_containers,
                    max_containers,
                    scaledown_window_s| LaneConfig {
            task_type: task_type.to_owned(),
            dedicated,
            timeout_s,
            min_containers,
            max_containers,
            scaledown_window_s,
            concurrency: 1,
        };
        WorkerConfig {
            lanes: BTreeMap::from([
                ("image".to_owned(), lane("image", true, 300, 1, 10, 300)),
                (
                    "video_dedicated".to_owned(),
                    lane("video", true, 900, 1, 4, 600),
                ),
                (
                    "video_degraded".to_owned(),
                    lane("video", false, 900, 0, 2, 120),
                ),
            ]),
        }
    }
}

/// The degraded shared queue and dedicated lane health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Maximum degraded queue depth.
    pub degraded_max_depth: u32,
    /// Maximum wait in the degraded queue, seconds.
    pub degraded_max_wait_s: u64,
    /// A dedicated lane whose health check failed for longer than this is unavailable.
    pub lane_health_grace_s: u64,
    /// A dedicated lane not assigned within this many seconds of admission is unavailable.
    pub warm_assign_timeout_s: u64,
    /// Where degraded-queue leases live: `memory` (one process) or `redis://...` (shared by
    /// several API replicas). Its password never prints.
    pub backend: crate::secret_url::ConnectionUrl,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            degraded_max_depth: 25,
            degraded_max_wait_s: 30,
            lane_health_grace_s: 60,
            warm_assign_timeout_s: 30,
            backend: "memory".into(),
        }
    }
}

/// GPU memory levels and budgets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GpuConfig {
    /// Free VRAM at or above this many MiB is green.
    pub green_min_mib: u64,
    /// ... yellow.
    pub yellow_min_mib: u64,
    /// ... orange; below is red.
    pub orange_min_mib: u64,
    /// VRAM budget per GPU kind, GB.
    pub budget_gb: BTreeMap<String, u32>,
    /// Budget for GPU kinds not listed, GB.
    pub default_budget_gb: u32,
}

impl Default for GpuConfig {
    fn default() -> Self {
        GpuConfig {
            green_min_mib: 12288,
            yellow_min_mib: 8192,
            orange_min_mib: 4096,
            budget_gb: BTreeMap::from([
                ("A10G".to_owned(), 24),
                ("L4".to_owned(), 24),
                ("T4".to_owned(), 16),
            ]),
            default_budget_gb: 24,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrCsv {
    List(Vec<String>),
    Csv(String),
}

impl ListOrCsv {
    fn into_items(self) -> Vec<String> {
        match self {
            ListOrCsv::List(items) => items,
            ListOrCsv::Csv(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }
}

fn strings_from_list_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    ListOrCsv::deserialize(d).map(ListOrCsv::into_items)
}

fn secrets_from_list_or_csv<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Secret>, D::Error> {
    let items = ListOrCsv::deserialize(d)?.into_items();
    // The placeholder `config show` prints is never a key (as for a single `Secret`).
    if items.iter().any(|item| item == crate::secret::REDACTED) {
        return Err(serde::de::Error::custom(crate::secret::PLACEHOLDER_REFUSED));
    }
    Ok(items.into_iter().map(Secret::new).collect())
}

/// What a route is, for the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteClass {
    /// Generation and gallery routes: API key header, then query, then session cookie.
    Generation,
    /// Result/preview media routes: as generation, plus signed media URLs.
    Media,
    /// `POST /auth/session`: issues a generation session (throttled per client IP).
    SessionIssue,
    /// Other `/auth/session` routes (check, revoke): need the session cookie.
    Session,
    /// `POST /admin/session`: the only route that reads `x-admin-key` (throttled per IP).
    AdminBootstrap,
    /// Every other admin route: admin session cookie only (throttled per admin session).
    Admin,
    /// No credential needed (CORS still applies).
    Public,
}

impl RouteClass {
    /// The class's name as configuration and JSON spell it (`session_issue`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RouteClass::Generation => "generation",
            RouteClass::Media => "media",
            RouteClass::SessionIssue => "session_issue",
            RouteClass::Session => "session",
            RouteClass::AdminBootstrap => "admin_bootstrap",
            RouteClass::Admin => "admin",
            RouteClass::Public => "public",
        }
    }
}

/// One route rule: `"METHOD /path"` where a `{name}` segment matches one segment, a final
/// `**` matches any rest, and the method `*` matches any method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRule {
    /// E.g. `"GET /status/{id}"`.
    pub pattern: String,
    /// The class of matching requests.
    pub class: RouteClass,
}

/// Request gate settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateConfig {
    /// Route rules, first match wins.
    pub routes: Vec<RouteRule>,
    /// The class of requests no rule matches.
    pub default_class: RouteClass,
    /// Whether `POST /auth/session` needs a valid API key to issue a session.
    pub session_issue_requires_api_key: bool,
    /// `Access-Control-Allow-Methods` for preflights.
    pub cors_allow_methods: Vec<String>,
    /// `Access-Control-Allow-Headers` for preflights.
    pub cors_allow_headers: Vec<String>,
    /// `Access-Control-Max-Age` for preflights, seconds.
    pub cors_max_age_s: u64,
    /// Longest lifetime a signed media URL may have, seconds.
    pub media_url_max_ttl_s: u64,
}

impl Default for GateConfig {
    fn default() -> Self {
        let rule = |pattern: &str, class| RouteRule {
            pattern: pattern.to_owned(),
            class,
        };
        GateConfig {
            routes: vec![
                rule("POST /generate", RouteClass::Generation),
                rule("GET /status/{id}", RouteClass::Generation),
                rule("GET /results/{id}", RouteClass::Media),
                rule("GET /preview/{id}", RouteClass::Media),
                rule("GET /gallery", RouteClass::Generation),
                rule("DELETE /gallery/{id}", RouteClass::Generation),
                rule("POST /auth/session", RouteClass::SessionIssue),
                rule("* /auth/session", RouteClass::Session),
                rule("POST /admin/session", RouteClass::AdminBootstrap),
                rule("* /admin/**", RouteClass::Admin),
                rule("* /admin", RouteClass::Admin),
                rule("GET /health", RouteClass::Public),
            ],
            default_class: RouteClass::Public,
            session_issue_requires_api_key: true,
            cors_allow_methods: ["GET", "POST", "DELETE", "OPTIONS"]
                .map(str::to_owned)
                .to_vec(),
            cors_allow_headers: ["Content-Type", "X-API-Key", "X-Request-Id"]
                .map(str::to_owned)
                .to_vec(),
            cors_max_age_s: 600,
            media_url_max_ttl_s: 3600,
        }
    }
}

/// The audit log (REQUIREMENTS section 11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// `memory` (a bounded ring, lost on restart), `sqlite:PATH` or `postgres://...` (the
    /// durable, hash-chained log). Its password never prints.
    pub store: crate::secret_url::ConnectionUrl,
    /// Events the in-memory ring keeps (the oldest are evicted).
    pub memory_capacity: usize,
    /// Records older than this many days are pruned by the sweeper (at least 90).
    pub retention_days: u32,
    /// The most events one append transaction writes (group commit).
    pub batch_size: u32,
    /// How long a writer waits for concurrent appenders to join its batch, milliseconds
    /// (0: never; events queued while a batch is being written form the next batch anyway).
    pub max_wait_ms: u64,
    /// The checkpoint origin line: names this log to whoever checks a checkpoint.
    pub checkpoint_origin: String,
    /// How often the sweeper writes a signed checkpoint, seconds (when a key is set).
    pub checkpoint_interval_s: u64,
    /// The environment variable holding the checkpoint signer key
    /// (`PRIVATE+KEY+name+id+base64`, from `inferwarden audit keygen`); unset = no signing.
    pub signing_key_env: String,
    /// The environment variable holding the HMAC key for `hmac_fields`.
    pub hmac_key_env: String,
    /// Fields stored as keyed HMAC-SHA256 (`actor`, `target`, `correlation_id`,
    /// `details.<key>`); when non-empty the key variable must be set.
    pub hmac_fields: Vec<String>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            store: "memory".into(),
            memory_capacity: 10_000,
            retention_days: 90,
            batch_size: 256,
            max_wait_ms: 0,
            checkpoint_origin: "inferwarden.audit".to_owned(),
            checkpoint_interval_s: 300,
            signing_key_env: "INFERWARDEN_AUDIT_SIGNING_KEY".to_owned(),
            hmac_key_env: "INFERWARDEN_AUDIT_HMAC_KEY".to_owned(),
            hmac_fields: Vec::new(),
        }
    }
}
