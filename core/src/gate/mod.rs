//! The request gate (REQUIREMENTS sections 1-3 and 5): a framework-neutral [`RequestView`]
//! goes in, a [`Decision`] comes out, with exactly one error code per rejection.
//!
//! Order for every route: CORS (a denied origin is rejected before anything else), then for
//! auth/admin routes the throttle (so a throttled request is `rate_limited` whatever its
//! credentials), then authentication:
//! - generation/media routes: `X-API-Key` header, then `api_key` query (if enabled), then a
//!   signed media URL (media routes), then the `gg_session` cookie; the first PRESENT
//!   credential decides and a wrong one is rejected without falling through;
//! - `POST /auth/session`: an API key (unless configured open);
//! - `POST /admin/session`: `x-admin-key` (never from the query string);
//! - other admin routes: the admin session cookie only.
//!
//! Audit events (admin auth success/failure, throttling, CORS denials, ignored query keys,
//! session issue/revoke) go to the [`AuditSink`]; if it cannot write, the request is refused
//! with `dependency_unavailable` (fail closed).

mod api_key;
mod cors;
mod decision;
mod form_query;
#[cfg(feature = "http")]
mod http_view;
mod media_url;
mod request;
mod routes;

pub use api_key::{secrets_equal, ApiKeyVerifier};
pub use cors::CorsVerdict;
pub use decision::{Decision, Principal};
pub use form_query::parse_form_query;
pub use media_url::MediaSigner;
pub use request::{parse_peer, Lookup, RequestView};
pub use routes::{normalize_path, RouteMatch, RouteTable};

use std::cell::OnceCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use crate::audit::{AuditEvent, AuditFields, AuditSink, MemoryAuditSink, Outcome};
use crate::clock::{Clock, SystemClock};
use crate::config::{PolicyConfig, RateLimit, RouteClass};
use crate::error::{Error, ErrorCode};
use crate::metrics::{DecisionOutcome, RateLimitResult};
use crate::ratelimit::{client_key, MemoryRateLimiter, OutagePolicy, RateLimiter};
use crate::session::{
    IssuedSession, MemorySessionStore, SessionCheck, SessionKind, SessionManager, SessionStore,
};

/// Query parameter names that would carry the admin key.
const ADMIN_KEY_QUERY_NAMES: [&str; 3] = ["admin_key", "x-admin-key", "x_admin_key"];

#[derive(Debug, Clone)]
enum AdminKeyState {
    Missing,
    TooShort,
    Ready(crate::secret::Secret),
}

/// Builds a [`Gate`]; every seam defaults to an in-process implementation.
#[derive(Debug)]
pub struct GateBuilder {
    config: PolicyConfig,
    store: Option<Arc<dyn SessionStore>>,
    limiter: Option<Arc<dyn RateLimiter>>,
    limiter_outage: OutagePolicy,
    audit: Option<Arc<dyn AuditSink>>,
    clock: Option<Arc<dyn Clock>>,
}

impl GateBuilder {
    /// Uses `store` for sessions (default: in-memory).
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Uses `limiter` for throttling (default: an in-process [`MemoryRateLimiter`]; several
    /// replicas share limits only through a shared one such as Redis).
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// What to do when the limiter's store is unreachable (default: fail closed).
    pub fn rate_limiter_outage(mut self, policy: OutagePolicy) -> Self {
        self.limiter_outage = policy;
        self
    }

    /// Uses `sink` for audit events (default: in-memory).
    pub fn audit_sink(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.audit = Some(sink);
        self
    }

    /// Uses `clock` (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the configuration and builds the gate.
    pub fn build(self) -> Result<Gate, Error> {
        self.config.validate().into_result()?;
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let store = self
            .store
            .unwrap_or_else(|| Arc::new(MemorySessionStore::new()));
        register_active_sessions(&store, &clock);
        let auth = &self.config.auth;
        let admin_key = match &auth.admin_key {
            None => AdminKeyState::Missing,
            Some(k) if k.len() < auth.admin_key_min_len => AdminKeyState::TooShort,
            Some(k) => AdminKeyState::Ready(k.clone()),
        };
        Ok(Gate {
            routes: RouteTable::new(&self.config.gate),
            api_keys: ApiKeyVerifier::new(&auth.api_keys),
            admin_key,
            signer: auth
                .media_signing_key
                .clone()
                .filter(|k| !k.is_empty())
                .map(MediaSigner::new),
            sessions: SessionManager::new(store, self.config.sessions.clone(), clock.clone()),
            limiter: self
                .limiter
                .unwrap_or_else(|| Arc::new(MemoryRateLimiter::default())),
            limiter_outage: self.limiter_outage,
            audit: self
                .audit
                .unwrap_or_else(|| Arc::new(MemoryAuditSink::new())),
            clock,
            config: Arc::new(self.config),
        })
    }
}

/// The request gate. Cheap to share behind an `Arc`; `decide` takes `&self`.
#[derive(Debug)]
pub struct Gate {
    config: Arc<PolicyConfig>,
    routes: RouteTable,
    api_keys: ApiKeyVerifier,
    admin_key: AdminKeyState,
    signer: Option<MediaSigner>,
    sessions: SessionManager,
    limiter: Arc<dyn RateLimiter>,
    limiter_outage: OutagePolicy,
    audit: Arc<dyn AuditSink>,
    clock: Arc<dyn Clock>,
}

/// Per-request context. The correlation id and client key are computed on first use, so an
/// allowed request that writes no audit record and is not throttled pays for neither.
struct Ctx<'a> {
    req: &'a RequestView,
    route: RouteMatch,
    trusted_hops: u32,
    correlation_id: OnceCell<String>,
    client: OnceCell<String>,
    headers: Vec<(String, String)>,
    /// The admin session looked up for the throttle key (token, check): the admin
    /// authentication reuses it instead of reading the store a second time.
    admin_peek: Option<(String, SessionCheck)>,
    /// In a [`Gate::try_decide_now`] try: the audit events of this decision, written only
    /// once the try has kept its decision (a try that gives up must have written nothing).
    deferred_audit: Option<std::cell::RefCell<Vec<AuditEvent>>>,
}

impl Ctx<'_> {
    fn correlation_id(&self) -> &str {
        self.correlation_id.get_or_init(|| correlation_id(self.req))
    }

    fn client(&self) -> &str {
        self.client.get_or_init(|| {
            let forwarded: Vec<&str> = self.req.header_values("x-forwarded-for").collect();
            client_key(self.req.peer, &forwarded, self.trusted_hops)
        })
    }
}

/// A process-wide sequence mixed with a random seed: unique, unguessable enough for
/// correlation (not a secret), and cheap (no system call per request).
fn generated_correlation_id() -> String {
    static SEED: OnceLock<u64> = OnceLock::new();
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        let mut b = [0u8; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    });
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn correlation_id(req: &RequestView) -> String {
    for name in ["x-request-id", "x-correlation-id"] {
        if let Lookup::One(v) = req.header_lookup(name) {
            if v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return v.to_owned();
            }
        }
    }
    generated_correlation_id()
}

/// Lets the `inferwarden_sessions_active` gauge count `store` at each rendering (once per
/// store, however many gates share it; forgotten once the store is dropped).
fn register_active_sessions(store: &Arc<dyn SessionStore>, clock: &Arc<dyn Clock>) {
    use crate::metrics::SessionsReading;
    let key = Arc::as_ptr(store) as *const () as usize;
    let weak = Arc::downgrade(store);
    let clock = Arc::clone(clock);
    crate::metrics::register_session_source(
        key,
        Box::new(move || match weak.upgrade() {
            None => SessionsReading::Gone,
            Some(store) => match store.count_active(clock.now_ms()) {
                Ok(Some((generation, admin))) => SessionsReading::Counts(generation, admin),
                _ => SessionsReading::Unavailable,
            },
        }),
    );
}

/// The decision of a request whose decision did not complete (it panicked, or the runtime
/// shut down under it): a rejection with `internal_error`, never an allow.
#[cfg(feature = "tokio")]
fn did_not_complete() -> Decision {
    Decision::Reject {
        error: Error::with_detail(
            ErrorCode::InternalError,
            "the gate decision did not complete",
        ),
        set_headers: Vec::new(),
    }
}

fn audit_unreachable() -> Error {
    Error::with_detail(
        ErrorCode::DependencyUnavailable,
        "the audit store is unreachable",
    )
}

/// Counts a decision in the metrics and logs it (feature `tracing`): a refusal at `info`
/// with its code and correlation id, anything else at `debug`. Never a credential.
fn record_decision(class: RouteClass, d: &Decision) {
    let outcome = match d {
        Decision::Allow { .. } => DecisionOutcome::Allowed,
        Decision::Preflight { .. } => DecisionOutcome::Preflight,
        Decision::Reject { error, .. } => DecisionOutcome::Rejected(error.code()),
    };
    crate::metrics::record_decision(class as usize, outcome);
    #[cfg(feature = "tracing")]
    {
        let route_class = crate::metrics::ROUTE_CLASSES[class as usize];
        match d {
            Decision::Reject { error, .. } => tracing::info!(
                target: "inferwarden::gate",
                route_class,
                code = error.code_str(),
                correlation_id = error
                    .metadata()
                    .and_then(|m| m.get("correlation_id"))
                    .and_then(|v| v.as_str())
                    .unwrap_or("-"),
                "request refused"
            ),
            Decision::Allow { .. } => {
                tracing::debug!(target: "inferwarden::gate", route_class, "request allowed")
            }
            Decision::Preflight { .. } => {
                tracing::debug!(target: "inferwarden::gate", route_class, "preflight answered")
            }
        }
    }
}

impl Gate {
    /// A builder over `config`.
    pub fn builder(config: PolicyConfig) -> GateBuilder {
        GateBuilder {
            config,
            store: None,
            limiter: None,
            limiter_outage: OutagePolicy::FailClosed,
            audit: None,
            clock: None,
        }
    }

    /// The session manager (issue, validate, revoke, revoke-all, prune).
    pub fn sessions(&self) -> &SessionManager {
        &self.sessions
    }

    /// The configuration the gate was built with.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Opens the stores named by URL (`session_store`: `memory`, `sqlite:PATH`,
    /// `postgres://...`; `rate_limiter`: `memory`, `redis://...`, `allow-all`) and builds
    /// the gate over them with `audit` and `clock`: the one construction the bindings and
    /// services share. Blocking (it may connect to a database).
    pub fn open(
        config: PolicyConfig,
        session_store: &str,
        rate_limiter: &str,
        audit: Arc<dyn AuditSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Gate, Error> {
        Gate::builder(config)
            .session_store(crate::session::open_session_store(session_store)?)
            .rate_limiter(crate::ratelimit::open_rate_limiter(rate_limiter)?)
            .audit_sink(audit)
            .clock(clock)
            .build()
    }

    /// Whether [`Gate::decide`] may wait on I/O: a session store, rate limiter or audit sink
    /// outside the process. When `false` (the in-memory defaults) a caller on an event loop
    /// decides inline; when `true` it should decide off the loop
    /// ([`Gate::decide_async`] with feature `tokio`, or a worker thread).
    pub fn may_block(&self) -> bool {
        self.sessions.may_block() || self.limiter.may_block() || self.audit.may_block()
    }

    /// Whether [`Gate::try_decide_now`] can decide on the caller's thread although
    /// [`Gate::may_block`] is `true`: the rate limiter and audit sink are in the process and
    /// the session store honours [`crate::no_wait`] (the SQLite store does).
    pub fn may_try_now(&self) -> bool {
        !self.limiter.may_block()
            && !self.audit.may_block()
            && self.sessions.can_try_without_waiting()
    }

    /// Decides on the caller's thread (an event loop) when that needs no waiting:
    /// `Some(decision)` when nothing can block, or when every store that can is one that
    /// tries without waiting ([`Gate::may_try_now`]) and did not have to. `None` means
    /// decide again where waiting is allowed ([`Gate::decide`] on a worker thread): a store
    /// would have had to wait (a SQLite file another writer holds, the connection in use by
    /// another thread), and nothing was written.
    ///
    /// In a try, stores never wait: the audit events are kept aside and written once the
    /// decision is kept, and the one write that cannot be set aside, a rate-limit count, is
    /// never followed by a store call that could wait, except on admin routes (the admin
    /// session's idle-time update follows the throttle), which are therefore never tried.
    pub fn try_decide_now(&self, req: &RequestView) -> Option<Decision> {
        if !self.may_block() {
            return Some(self.decide(req));
        }
        if !self.may_try_now() {
            return None;
        }
        let route = self.classify(&req.method, &req.path);
        if route.class == RouteClass::Admin {
            return None;
        }
        let (class, mut decision, deferred) =
            crate::no_wait::attempt(|| self.decide_unrecorded(req, route, true))?;
        for event in deferred {
            let id = event.correlation_id.clone();
            if self.audit.record(event).is_err() {
                // Fail closed, as an audit write inside the decision would have, with the
                // decision's correlation id (every refusal carries one).
                let error = audit_unreachable().meta("correlation_id", id);
                decision = Decision::Reject {
                    error,
                    set_headers: decision.set_headers().to_vec(),
                };
                break;
            }
        }
        record_decision(class, &decision);
        Some(decision)
    }

    /// Decides one request without blocking an async executor: on the spot when that needs
    /// no waiting ([`Gate::try_decide_now`]), otherwise on the runtime's blocking pool. A
    /// decision that cannot complete (the blocking task panicked or the runtime is shutting
    /// down) is a rejection with `internal_error`: fail closed, never an allow.
    #[cfg(feature = "tokio")]
    pub async fn decide_async(self: &Arc<Self>, req: RequestView) -> Decision {
        if let Some(decision) = self.try_decide_now(&req) {
            return decision;
        }
        let gate = Arc::clone(self);
        crate::runtime::blocking(move || gate.decide(&req))
            .await
            .unwrap_or_else(|_| did_not_complete())
    }

    /// Decides one request on a thread of the runtime's blocking pool
    /// ([`crate::runtime::pool`]) and hands the decision to `done` on that thread: what a binding calls, once
    /// [`Gate::try_decide_now`] has said the caller may not decide on the spot, to settle its
    /// own future. Unlike awaiting [`Gate::decide_async`] from a runtime task, no async
    /// worker thread is woken on the way in or out (one thread hop each way). A decision
    /// that panics is a rejection with `internal_error` (fail closed). Returns the task's
    /// abort handle: aborting it before it starts drops `done` uncalled.
    #[cfg(feature = "tokio")]
    pub fn decide_on_blocking_pool(
        self: &Arc<Self>,
        req: RequestView,
        done: impl FnOnce(Decision) + Send + 'static,
    ) -> Result<tokio::task::AbortHandle, Error> {
        let gate = Arc::clone(self);
        let task = crate::runtime::pool()?.spawn_blocking(move || {
            let decided =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| gate.decide(&req)));
            done(decided.unwrap_or_else(|_| did_not_complete()));
        });
        Ok(task.abort_handle())
    }

    /// Classifies a request path.
    pub fn classify(&self, method: &str, path: &str) -> RouteMatch {
        self.routes.classify(method, path)
    }

    fn anonymous_allowed(&self) -> bool {
        self.config.auth.allow_anonymous_dev && self.config.is_dev_environment()
    }

    fn record(
        &self,
        ctx: &Ctx<'_>,
        actor: &str,
        action: &str,
        outcome: Outcome,
        details: impl IntoIterator<Item = (&'static str, serde_json::Value)>,
    ) -> Result<(), Error> {
        let fields = AuditFields {
            actor,
            source: "gate",
            action,
            target: &ctx.route.path,
            outcome,
            correlation_id: ctx.correlation_id(),
        };
        let mut event = AuditEvent::new(fields, self.clock.as_ref())?;
        for (k, v) in details {
            event = event.detail(k, v);
        }
        if let Some(deferred) = &ctx.deferred_audit {
            deferred.borrow_mut().push(event);
            return Ok(());
        }
        self.audit.record(event).map_err(|_| audit_unreachable())
    }

    /// Decides one request.
    pub fn decide(&self, req: &RequestView) -> Decision {
        let route = self.routes.classify(&req.method, &req.path);
        let (class, decision, _) = self.decide_unrecorded(req, route, false);
        record_decision(class, &decision);
        decision
    }

    /// The decision for `req`, whose path classifies as `route`, and the route class it was
    /// made for, not yet counted in the metrics (a try that gives up is thrown away
    /// uncounted). With `defer_audit` its audit events are returned instead of written.
    fn decide_unrecorded(
        &self,
        req: &RequestView,
        route: RouteMatch,
        defer_audit: bool,
    ) -> (RouteClass, Decision, Vec<AuditEvent>) {
        let class = route.class;
        let mut ctx = Ctx {
            req,
            route,
            trusted_hops: self.config.rate_limits.trusted_proxy_hops,
            correlation_id: OnceCell::new(),
            client: OnceCell::new(),
            headers: Vec::new(),
            admin_peek: None,
            deferred_audit: defer_audit.then(Default::default),
        };
        crate::trace::span!(
            "inferwarden::gate",
            "decide",
            route_class = crate::metrics::ROUTE_CLASSES[class as usize],
            correlation_id = ctx.correlation_id()
        );
        let decision = match self.decide_inner(&mut ctx) {
            Ok(Some(principal)) => Decision::Allow {
                principal,
                route: ctx.route.class,
                set_headers: ctx.headers,
            },
            Ok(None) => Decision::Preflight {
                set_headers: ctx.headers,
            },
            Err(error) => Decision::Reject {
                error: error.meta("correlation_id", ctx.correlation_id().to_owned()),
                set_headers: ctx.headers,
            },
        };
        let deferred = ctx
            .deferred_audit
            .map(std::cell::RefCell::into_inner)
            .unwrap_or_default();
        (class, decision, deferred)
    }

    /// `Ok(None)` = answered preflight.
    fn decide_inner(&self, ctx: &mut Ctx<'_>) -> Result<Option<Principal>, Error> {
        match cors::check(ctx.req, &self.config.cors.frontend_origins) {
            CorsVerdict::NotCors => {}
            CorsVerdict::Allowed(h) => ctx.headers.extend(h),
            CorsVerdict::Denied(reason) => {
                ctx.headers.push(("Vary".to_owned(), "Origin".to_owned()));
                let client = ctx.client().to_owned();
                self.record(
                    ctx,
                    &client,
                    "cors_denied",
                    Outcome::Denied,
                    [("reason", reason.into())],
                )?;
                return Err(Error::new(ErrorCode::CorsOriginBlocked));
            }
        }
        if routes::has_dot_segment(&ctx.req.path) {
            return Err(Error::with_detail(
                ErrorCode::ValidationError,
                "the request path has a `.` or `..` segment; send the path the route names",
            )
            .meta("rule", "dot_segment"));
        }
        if ctx.req.method.trim().eq_ignore_ascii_case("OPTIONS") {
            if ctx.req.has_header("origin") {
                ctx.headers
                    .extend(cors::preflight_headers(&self.config.gate));
                return Ok(None);
            }
            return Ok(Some(Principal::Public));
        }
        let limits = self.config.rate_limits.clone();
        match ctx.route.class {
            RouteClass::Public => Ok(Some(Principal::Public)),
            RouteClass::Generation | RouteClass::Media => {
                self.authenticate_generation(ctx).map(Some)
            }
            RouteClass::SessionIssue => {
                let key = format!("auth_session:{}", ctx.client());
                self.throttle(ctx, "auth_session", &key, limits.auth_session)?;
                if self.config.gate.session_issue_requires_api_key {
                    self.authenticate_api_key_only(ctx).map(Some)
                } else {
                    Ok(Some(Principal::Public))
                }
            }
            RouteClass::Session => self.authenticate_session_cookie(ctx).map(Some),
            RouteClass::AdminBootstrap => {
                let key = format!("admin_bootstrap:{}", ctx.client());
                self.throttle(ctx, "admin_bootstrap", &key, limits.admin_bootstrap)?;
                self.authenticate_admin_bootstrap(ctx).map(Some)
            }
            RouteClass::Admin => {
                // Key by validated admin session; forged or missing sessions share the IP bucket.
                let name = self.sessions.cookie_name(SessionKind::Admin).to_owned();
                let session_key = match ctx.req.cookie_lookup(&name) {
                    Lookup::One(t) => match self.sessions.peek(SessionKind::Admin, t) {
                        Ok(check) => {
                            let key = match &check {
                                SessionCheck::Active(r) => Some(format!("admin:session:{}", r.id)),
                                _ => None,
                            };
                            ctx.admin_peek = Some((t.to_owned(), check));
                            key
                        }
                        Err(_) => None,
                    },
                    _ => None,
                };
                let key = session_key.unwrap_or_else(|| format!("admin:{}", ctx.client()));
                self.throttle(ctx, "admin", &key, limits.admin)?;
                self.authenticate_admin(ctx).map(Some)
            }
        }
    }

    fn throttle(
        &self,
        ctx: &mut Ctx<'_>,
        policy: &str,
        key: &str,
        limit: RateLimit,
    ) -> Result<(), Error> {
        crate::no_wait::side_effect()?;
        crate::trace::span!(
            "inferwarden::ratelimit",
            "rate_limit_check",
            policy = policy
        );
        match self.limiter.check(key, limit, self.clock.now_ms()) {
            Ok(d) => {
                ctx.headers.extend(d.headers(policy));
                crate::metrics::record_rate_limit(
                    policy,
                    if d.allowed {
                        RateLimitResult::Allowed
                    } else {
                        RateLimitResult::Limited
                    },
                );
                if d.allowed {
                    Ok(())
                } else {
                    let client = ctx.client().to_owned();
                    self.record(
                        ctx,
                        &client,
                        "rate_limited",
                        Outcome::Denied,
                        [
                            ("policy", policy.into()),
                            ("retry_after_seconds", d.retry_after_seconds().into()),
                        ],
                    )?;
                    Err(d.to_error())
                }
            }
            Err(_) => {
                crate::metrics::record_rate_limit(policy, RateLimitResult::StoreUnavailable);
                let client = ctx.client().to_owned();
                match self.limiter_outage {
                    OutagePolicy::FailClosed => {
                        self.record(
                            ctx,
                            &client,
                            "rate_limiter_unavailable",
                            Outcome::Denied,
                            [("policy", policy.into())],
                        )?;
                        Err(Error::with_detail(
                            ErrorCode::DependencyUnavailable,
                            "the rate limiter store is unreachable",
                        ))
                    }
                    OutagePolicy::FailOpen => self.record(
                        ctx,
                        &client,
                        "rate_limiter_unavailable",
                        Outcome::Success,
                        [("policy", policy.into()), ("fail_open", true.into())],
                    ),
                }
            }
        }
    }

    fn verify_api_key(&self, presented: &str) -> Result<Principal, Error> {
        match self.api_keys.verify(presented) {
            Some(key_index) => Ok(Principal::ApiKey { key_index }),
            None => Err(Error::new(ErrorCode::InvalidApiKey)),
        }
    }

    /// Header, then query. `Ok(None)` = no API key presented.
    fn api_key_channels(&self, ctx: &Ctx<'_>) -> Result<Option<Principal>, Error> {
        match ctx.req.header_lookup("x-api-key") {
            Lookup::Conflicting => {
                return Err(Error::with_detail(
                    ErrorCode::InvalidApiKey,
                    "several different X-API-Key headers",
                ))
            }
            Lookup::One(k) => return self.verify_api_key(k).map(Some),
            Lookup::Absent => {}
        }
        let query = ctx.req.query_lookup("api_key");
        if !self.config.auth.allow_query_api_key {
            if !matches!(query, Lookup::Absent) {
                self.record(
                    ctx,
                    ctx.client(),
                    "query_api_key_ignored",
                    Outcome::Denied,
                    [],
                )?;
            }
            return Ok(None);
        }
        match query {
            Lookup::Conflicting => Err(Error::with_detail(
                ErrorCode::InvalidApiKey,
                "several different api_key parameters",
            )),
            Lookup::One(k) => self.verify_api_key(k).map(Some),
            Lookup::Absent => Ok(None),
        }
    }

    fn authenticate_generation(&self, ctx: &Ctx<'_>) -> Result<Principal, Error> {
        let anonymous = self.anonymous_allowed();
        if !self.api_keys.is_configured() && !anonymous {
            return Err(Error::new(ErrorCode::ServerMisconfigured));
        }
        if let Some(p) = self.api_key_channels(ctx)? {
            return Ok(p);
        }
        if ctx.route.class == RouteClass::Media {
            let exp = ctx.req.query_lookup("exp");
            let sig = ctx.req.query_lookup("sig");
            if !matches!((&exp, &sig), (Lookup::Absent, Lookup::Absent)) {
                return self.verify_signed_media(ctx, exp, sig);
            }
        }
        if let Some(p) = self.session_cookie(ctx, SessionKind::Generation)? {
            return Ok(p);
        }
        if anonymous {
            Ok(Principal::Anonymous)
        } else {
            Err(Error::new(ErrorCode::SessionRequired))
        }
    }

    fn verify_signed_media(
        &self,
        ctx: &Ctx<'_>,
        exp: Lookup<'_>,
        sig: Lookup<'_>,
    ) -> Result<Principal, Error> {
        let (Lookup::One(exp), Lookup::One(sig)) = (exp, sig) else {
            return Err(Error::with_detail(
                ErrorCode::InvalidApiKey,
                "media signature malformed",
            ));
        };
        let Some(signer) = &self.signer else {
            return Err(Error::with_detail(
                ErrorCode::InvalidApiKey,
                "signed media URLs are not enabled",
            ));
        };
        let task_id = routes::raw_last_segment(&ctx.req.path).unwrap_or_default();
        let now_s = self.clock.now_ms().div_euclid(1000);
        signer.verify(
            &ctx.route.path,
            &task_id,
            exp,
            sig,
            now_s,
            self.config.gate.media_url_max_ttl_s,
        )?;
        Ok(Principal::SignedMedia { task_id })
    }

    /// Validates `token` (and records the use), reusing the admin lookup this decision
    /// already made for its throttle key.
    fn checked_session(
        &self,
        ctx: &Ctx<'_>,
        kind: SessionKind,
        token: &str,
    ) -> Result<SessionCheck, Error> {
        match &ctx.admin_peek {
            Some((peeked, check)) if kind == SessionKind::Admin && peeked == token => {
                self.sessions.record_use(check)?;
                Ok(check.clone())
            }
            _ => self.sessions.validate(kind, token),
        }
    }

    /// The session cookie of `kind`. `Ok(None)` = no cookie presented.
    fn session_cookie(&self, ctx: &Ctx<'_>, kind: SessionKind) -> Result<Option<Principal>, Error> {
        let name = self.sessions.cookie_name(kind);
        match ctx.req.cookie_lookup(name) {
            Lookup::Absent => Ok(None),
            Lookup::Conflicting => Err(Error::with_detail(
                ErrorCode::SessionInvalid,
                "several different session cookies",
            )),
            Lookup::One(token) => match self.checked_session(ctx, kind, token)? {
                SessionCheck::Active(r) => Ok(Some(match kind {
                    SessionKind::Generation => Principal::Session { session_id: r.id },
                    SessionKind::Admin => Principal::AdminSession { session_id: r.id },
                })),
                SessionCheck::Expired | SessionCheck::Revoked => {
                    Err(Error::new(ErrorCode::SessionExpired))
                }
                SessionCheck::Unknown => Err(Error::new(ErrorCode::SessionInvalid)),
            },
        }
    }

    fn authenticate_api_key_only(&self, ctx: &Ctx<'_>) -> Result<Principal, Error> {
        if !self.api_keys.is_configured() {
            return if self.anonymous_allowed() {
                Ok(Principal::Anonymous)
            } else {
                Err(Error::new(ErrorCode::ServerMisconfigured))
            };
        }
        self.api_key_channels(ctx)?
            .ok_or_else(|| Error::new(ErrorCode::SessionRequired))
    }

    fn authenticate_session_cookie(&self, ctx: &Ctx<'_>) -> Result<Principal, Error> {
        self.session_cookie(ctx, SessionKind::Generation)?
            .ok_or_else(|| Error::new(ErrorCode::SessionRequired))
    }

    fn admin_ready(&self) -> Result<&crate::secret::Secret, Error> {
        match &self.admin_key {
            AdminKeyState::Ready(k) => Ok(k),
            AdminKeyState::Missing => Err(Error::with_detail(
                ErrorCode::AdminMisconfigured,
                "no admin key is configured",
            )),
            AdminKeyState::TooShort => Err(Error::new(ErrorCode::AdminMisconfigured)),
        }
    }

    fn admin_key_in_query(&self, ctx: &Ctx<'_>) -> bool {
        ADMIN_KEY_QUERY_NAMES
            .iter()
            .any(|n| ctx.req.query.iter().any(|(k, _)| k.eq_ignore_ascii_case(n)))
    }

    fn audit_admin(
        &self,
        ctx: &Ctx<'_>,
        action: &str,
        result: Result<Principal, Error>,
    ) -> Result<Principal, Error> {
        let (actor, outcome, code) = match &result {
            Ok(p) => (p.label(), Outcome::Success, "ok"),
            Err(e) => (ctx.client().to_owned(), Outcome::Failure, e.code_str()),
        };
        self.record(
            ctx,
            &actor,
            action,
            outcome,
            [
                ("code", code.into()),
                ("client", ctx.client().to_owned().into()),
            ],
        )?;
        result
    }

    fn authenticate_admin_bootstrap(&self, ctx: &Ctx<'_>) -> Result<Principal, Error> {
        let result = (|| {
            let admin_key = self.admin_ready()?;
            if self.admin_key_in_query(ctx) {
                return Err(Error::with_detail(
                    ErrorCode::AdminKeyInvalid,
                    "the admin key is never accepted in a query string",
                ));
            }
            match ctx.req.header_lookup("x-admin-key") {
                Lookup::One(k) if secrets_equal(k, admin_key.expose()) => {
                    Ok(Principal::AdminBootstrap)
                }
                Lookup::Conflicting => Err(Error::with_detail(
                    ErrorCode::AdminKeyInvalid,
                    "several different x-admin-key headers",
                )),
                _ => Err(Error::new(ErrorCode::AdminKeyInvalid)),
            }
        })();
        self.audit_admin(ctx, "admin_login", result)
    }

    fn authenticate_admin(&self, ctx: &Ctx<'_>) -> Result<Principal, Error> {
        let result = (|| {
            self.admin_ready()?;
            if self.admin_key_in_query(ctx) {
                return Err(Error::with_detail(
                    ErrorCode::AdminKeyInvalid,
                    "the admin key is never accepted in a query string",
                ));
            }
            let cookie_names = [
                self.sessions.cookie_name(SessionKind::Admin),
                self.sessions.cookie_name(SessionKind::Generation),
            ];
            if ctx
                .req
                .query
                .iter()
                .any(|(k, _)| cookie_names.contains(&k.as_str()))
            {
                return Err(Error::with_detail(
                    ErrorCode::SessionInvalid,
                    "session tokens are never accepted in a query string",
                ));
            }
            if ctx.req.has_header("x-admin-key") {
                return Err(Error::with_detail(
                    ErrorCode::AdminKeyInvalid,
                    "x-admin-key is accepted only by POST /admin/session",
                ));
            }
            self.session_cookie(ctx, SessionKind::Admin)?
                .ok_or_else(|| Error::new(ErrorCode::AdminSessionRequired))
        })();
        self.audit_admin(ctx, "admin_access", result)
    }

    fn audit_direct(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        outcome: Outcome,
        correlation_id: &str,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(
            AuditFields {
                actor,
                source: "gate",
                action,
                target,
                outcome,
                correlation_id,
            },
            self.clock.as_ref(),
        )?;
        self.audit.record(event).map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "the audit store is unreachable",
            )
        })
    }

    /// Issues a session of `kind` for an allowed principal (after `decide` allowed
    /// `POST /auth/session` or `POST /admin/session`) and records it.
    pub fn issue_session(
        &self,
        kind: SessionKind,
        principal: &Principal,
        correlation_id: &str,
    ) -> Result<IssuedSession, Error> {
        let allowed = match kind {
            SessionKind::Admin => matches!(principal, Principal::AdminBootstrap),
            SessionKind::Generation => !matches!(principal, Principal::SignedMedia { .. }),
        };
        if !allowed {
            return Err(Error::with_detail(
                ErrorCode::AdminKeyInvalid,
                "this principal cannot open that kind of session",
            ));
        }
        let label = principal.label();
        let issued = self.sessions.issue(kind, &label)?;
        self.audit_direct(
            &label,
            &format!("{}_session_issued", kind.as_str()),
            &issued.record.id[..12],
            Outcome::Success,
            correlation_id,
        )?;
        Ok(issued)
    }

    /// Issues a session of `kind` for `decision`, which must be an allowed decision of that
    /// kind's bootstrap route (`POST /auth/session` for generation, `POST /admin/session` for
    /// admin): anything else is `session_required`. The one rule every binding and server
    /// calls, so none can issue a session for a request the gate did not admit for it.
    pub fn issue_session_for(
        &self,
        decision: &Decision,
        kind: SessionKind,
        correlation_id: &str,
    ) -> Result<IssuedSession, Error> {
        let bootstrap = match kind {
            SessionKind::Generation => RouteClass::SessionIssue,
            SessionKind::Admin => RouteClass::AdminBootstrap,
        };
        match decision {
            Decision::Allow {
                principal, route, ..
            } if *route == bootstrap => self.issue_session(kind, principal, correlation_id),
            Decision::Allow { .. } => Err(session_not_granted(kind)),
            _ => Err(Error::with_detail(
                ErrorCode::SessionRequired,
                "the decision did not allow the request",
            )),
        }
    }

    /// [`Gate::issue_session_for`] for a caller that may hold no core decision: a binding
    /// whose decision objects keep the core decision only when it
    /// [`grants_session`](Decision::grants_session). `None` (a decision that could not
    /// issue a session, or an object the gate never returned) is `session_required`.
    pub fn issue_session_for_grant(
        &self,
        grant: Option<&Decision>,
        kind: SessionKind,
        correlation_id: &str,
    ) -> Result<IssuedSession, Error> {
        match grant {
            Some(decision) => self.issue_session_for(decision, kind, correlation_id),
            None => Err(session_not_granted(kind)),
        }
    }

    /// Revokes the session carried by `token`; returns whether one was revoked.
    pub fn revoke_session(
        &self,
        token: &str,
        actor: &str,
        correlation_id: &str,
    ) -> Result<bool, Error> {
        let revoked = self.sessions.revoke(token)?;
        let outcome = if revoked {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.audit_direct(actor, "session_revoked", "session", outcome, correlation_id)?;
        Ok(revoked)
    }

    /// Revokes every session of `kind` (all when `None`): key rotation or compromise.
    pub fn revoke_all_sessions(
        &self,
        kind: Option<SessionKind>,
        actor: &str,
        correlation_id: &str,
    ) -> Result<u64, Error> {
        let n = self.sessions.revoke_all(kind)?;
        self.audit_direct(
            actor,
            "sessions_revoked_all",
            kind.map_or("all", SessionKind::as_str),
            Outcome::Success,
            correlation_id,
        )?;
        Ok(n)
    }

    /// A signed query string (`exp=...&sig=...`) for `GET /results/{task_id}` (`preview =
    /// false`) or `GET /preview/{task_id}`, valid for `ttl_s` seconds (capped by config).
    pub fn sign_media_url(
        &self,
        task_id: &str,
        preview: bool,
        ttl_s: u64,
    ) -> Result<String, Error> {
        crate::task_ref::parse_task_ref(task_id)?;
        let signer = self.signer.as_ref().ok_or_else(|| {
            Error::with_detail(
                ErrorCode::ServerMisconfigured,
                "no media signing key is configured",
            )
        })?;
        let ttl = ttl_s.clamp(1, self.config.gate.media_url_max_ttl_s);
        let exp = self.clock.now_ms().div_euclid(1000) + i64::try_from(ttl).unwrap_or(0);
        let path = normalize_path(&format!(
            "/{}/{}",
            if preview { "preview" } else { "results" },
            task_id
        ));
        signer.sign(&path, task_id, exp)
    }
}

/// `session_required` for a session of `kind` asked for with a decision that does not grant
/// it (another route's, or none).
fn session_not_granted(kind: SessionKind) -> Error {
    Error::with_detail(
        ErrorCode::SessionRequired,
        format!(
            "a {} session is issued only for an allowed decision of its bootstrap route",
            kind.as_str()
        ),
    )
}
