//! The request gate, sessions and the manual test clock as JS classes.

use std::sync::Arc;

use inferwarden::audit::AuditHandle;
use inferwarden::clock::{Clock, ManualClock as CoreManualClock, SystemClock};
use inferwarden::gate::Gate as CoreGate;
use inferwarden::session::SessionKind;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::config::PolicyConfig;
use crate::decision::DecisionValue;
use crate::errors::guard;

/// A clock that moves only when told to (tests).
#[napi]
pub struct ManualClock {
    inner: CoreManualClock,
}

impl ManualClock {
    /// The core clock (shared: clones move together).
    pub fn core(&self) -> &CoreManualClock {
        &self.inner
    }
}

#[napi]
impl ManualClock {
    /// A clock reading `startMs` (ms since the epoch).
    #[napi(constructor)]
    pub fn new(start_ms: i64) -> Self {
        ManualClock {
            inner: CoreManualClock::new(start_ms),
        }
    }

    /// Sets the time.
    #[napi]
    pub fn set_ms(&self, now_ms: i64) {
        self.inner.set_ms(now_ms);
    }

    /// Moves the time by `deltaMs`.
    #[napi]
    pub fn advance_ms(&self, delta_ms: i64) {
        self.inner.advance_ms(delta_ms);
    }

    /// The current time, ms since the epoch.
    #[napi]
    pub fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }
}

/// A request for the gate. `headers` and `query` are `[name, value]` pairs in order.
// Declared for the generated types; `decide` and `decideAsync` read the object themselves
// (`crate::gate_request`).
#[napi(object)]
#[allow(dead_code)]
pub struct GateRequest {
    /// HTTP method.
    pub method: String,
    /// Raw path (percent-encoded as received, no query).
    pub path: String,
    /// Header lines as `[name, value]`.
    pub headers: Option<Vec<Vec<String>>>,
    /// Query parameters as `[name, value]`, decoded.
    pub query: Option<Vec<Vec<String>>>,
    /// The socket peer IP.
    pub peer: Option<String>,
}

/// A newly issued session. A class whose fields are getters, so `console.log`,
/// `util.inspect` and `JSON.stringify` never show the token or the cookie (as Python's
/// `repr` does not); read them explicitly.
#[napi]
pub struct IssuedSession {
    token: String,
    set_cookie: String,
    session_id: String,
    kind: String,
    expires_ms: i64,
}

#[napi]
impl IssuedSession {
    /// The token (secret): send it only in the cookie.
    #[napi(getter)]
    pub fn token(&self) -> String {
        self.token.clone()
    }

    /// The `Set-Cookie` header value (contains the token: never log it).
    #[napi(getter)]
    pub fn set_cookie(&self) -> String {
        self.set_cookie.clone()
    }

    /// The session id (hash of the token).
    #[napi(getter)]
    pub fn session_id(&self) -> String {
        self.session_id.clone()
    }

    /// `generation` or `admin`.
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.kind.clone()
    }

    /// Absolute expiry, ms since the epoch.
    #[napi(getter)]
    pub fn expires_ms(&self) -> i64 {
        self.expires_ms
    }

    /// What `JSON.stringify` shows: the id, kind and expiry, never the token.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "sessionId": self.session_id,
            "kind": self.kind,
            "expiresMs": self.expires_ms,
            "token": inferwarden::secret::REDACTED,
        })
    }
}

/// The gate's answer for one request: a plain object. `body()` gives the error envelope
/// `{ code, detail, user_action, metadata? }` of a rejection, else `null`. Only the object
/// `decide` returned for an allowed `POST /auth/session` or `POST /admin/session` can be
/// passed to `issueSession`; a copy of its fields cannot.
// The shape `crate::decision` builds by hand, declared for the generated types.
#[napi(object)]
#[allow(dead_code)]
pub struct Decision {
    /// Whether the handler may run.
    pub allowed: bool,
    /// Whether this answers a CORS preflight (respond 204 with `headers`).
    pub preflight: bool,
    /// The HTTP status the gate implies (200 allow, 204 preflight, else the error's).
    pub status: u32,
    /// Headers to set on the response, as `[name, value]` pairs.
    pub headers: Vec<Vec<String>>,
    /// The principal (`{ kind, ... }`) when allowed, else `null`.
    #[napi(ts_type = "Record<string, unknown> | null")]
    pub principal: serde_json::Value,
    /// The route class when allowed (`generation`, `media`, `admin`, ...), else `null`.
    #[napi(ts_type = "string | null")]
    pub route: serde_json::Value,
    /// The stable error code of a rejection, else `null`.
    #[napi(ts_type = "string | null")]
    pub code: serde_json::Value,
    /// The error envelope `{ code, detail, user_action, metadata? }` of a rejection, else `null`.
    #[napi(ts_type = "() => Record<string, unknown> | null")]
    pub body: serde_json::Value,
}

/// The request gate: CORS, throttle, credentials, sessions, admin boundary.
#[napi]
pub struct Gate {
    inner: Arc<CoreGate>,
    audit: AuditHandle,
    audit_clock: Arc<dyn Clock>,
}

#[napi]
impl Gate {
    /// A gate over `config`. `sessionStore`: `memory` (default), `sqlite:PATH`,
    /// `postgres://...`; `rateLimiter`: `memory` (default), `redis://...`, `allow-all`;
    /// `clock`: a `ManualClock` for tests; `audit`: a store URL (`memory`, `sqlite:PATH`,
    /// `postgres://...`) or an `AuditLog` (default: `config.audit.store`). When the audit
    /// log cannot write, audited requests are refused.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        config: &PolicyConfig,
        session_store: Option<String>,
        rate_limiter: Option<String>,
        clock: Option<&ManualClock>,
        audit: Option<Either<String, &crate::audit::AuditLog>>,
    ) -> napi::Result<Self> {
        let clock: Arc<dyn Clock> = match clock {
            Some(c) => Arc::new(c.inner.clone()),
            None => Arc::new(SystemClock),
        };
        let audit_clock = clock.clone();
        let audit = guard(&env, || {
            crate::audit::audit_handle(audit, config.inner(), clock.clone())
        })?;
        let gate = guard(&env, || {
            CoreGate::open(
                config.inner().clone(),
                session_store.as_deref().unwrap_or("memory"),
                rate_limiter.as_deref().unwrap_or("memory"),
                audit.sink(),
                clock,
            )
        })?;
        Ok(Gate {
            inner: Arc::new(gate),
            audit,
            audit_clock,
        })
    }

    /// Decides one request; a rejection is returned (not thrown) with `code` and `body()`.
    #[napi(ts_args_type = "request: GateRequest", ts_return_type = "Decision")]
    pub fn decide(&self, env: Env, request: Unknown<'_>) -> napi::Result<DecisionValue> {
        let req = crate::gate_request::read(&env, request.raw())?;
        Ok(DecisionValue(self.inner.decide(&req)))
    }

    /// `decide` for a request whose five fields the JS wrapper has read
    /// ([`crate::gate_request::FIELDS`], which installs it as `decide` and removes this
    /// name).
    #[napi(skip_typescript)]
    pub fn decide_fields(
        &self,
        env: Env,
        method: Unknown<'_>,
        path: Unknown<'_>,
        headers: Unknown<'_>,
        query: Unknown<'_>,
        peer: Unknown<'_>,
    ) -> napi::Result<DecisionValue> {
        let req = crate::gate_request::read_fields(&env, [method, path, headers, query, peer])?;
        Ok(DecisionValue(self.inner.decide(&req)))
    }

    /// `decideAsync` for a request whose five fields the JS wrapper has read (see
    /// `decide_fields`).
    #[napi(skip_typescript)]
    pub fn decide_async_fields<'e>(
        &self,
        env: &'e Env,
        method: Unknown<'_>,
        path: Unknown<'_>,
        headers: Unknown<'_>,
        query: Unknown<'_>,
        peer: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, DecisionValue>> {
        let req = crate::gate_request::read_fields(env, [method, path, headers, query, peer])?;
        self.decide_view_async(env, req)
    }

    /// `decide` as a promise that never blocks the JS thread: when nothing has to wait
    /// (`mayBlock` false, or a SQLite store free now) the decision is made here and the
    /// promise is already resolved; otherwise it runs on the native runtime's blocking pool.
    /// A rejection is still a resolved `Decision` (never a thrown error).
    #[napi(
        ts_args_type = "request: GateRequest",
        ts_return_type = "Promise<Decision>"
    )]
    pub fn decide_async<'e>(
        &self,
        env: &'e Env,
        request: Unknown<'_>,
    ) -> napi::Result<PromiseRaw<'e, DecisionValue>> {
        let req = crate::gate_request::read(env, request.raw())?;
        self.decide_view_async(env, req)
    }

    fn decide_view_async<'e>(
        &self,
        env: &'e Env,
        req: inferwarden::gate::RequestView,
    ) -> napi::Result<PromiseRaw<'e, DecisionValue>> {
        if let Some(decision) = self.inner.try_decide_now(&req) {
            return PromiseRaw::resolve(env, DecisionValue(decision));
        }
        let gate = self.inner.clone();
        crate::aio::spawn(
            env,
            async move { Ok(gate.decide_async(req).await) },
            |_, decision| Ok(DecisionValue(decision)),
        )
    }

    /// Whether a decision may wait on a store (sessions, rate limiter, audit log outside
    /// the process).
    #[napi(getter)]
    pub fn may_block(&self) -> bool {
        self.inner.may_block()
    }

    /// Issues a session (`generation` or `admin`) for the decision `decide` returned for an
    /// allowed `POST /auth/session` or `POST /admin/session`; anything else is
    /// `session_required`.
    #[napi(
        ts_args_type = "decision: Decision, kind: string, correlationId?: string | undefined | null"
    )]
    pub fn issue_session(
        &self,
        env: Env,
        decision: Unknown<'_>,
        kind: String,
        correlation_id: Option<String>,
    ) -> napi::Result<IssuedSession> {
        let grant = crate::decision::grant(env.raw(), decision.raw());
        guard(&env, || {
            let kind = SessionKind::parse(&kind)?;
            let issued = self.inner.issue_session_for_grant(
                grant,
                kind,
                correlation_id.as_deref().unwrap_or("-"),
            )?;
            Ok(IssuedSession {
                token: issued.token.expose().to_owned(),
                set_cookie: issued.set_cookie.expose().to_owned(),
                session_id: issued.record.id,
                kind: kind.as_str().to_owned(),
                expires_ms: issued.record.expires_ms,
            })
        })
    }

    /// Revokes the session of `token`; returns whether one was revoked.
    #[napi]
    pub fn revoke_session(
        &self,
        env: Env,
        token: String,
        actor: Option<String>,
    ) -> napi::Result<bool> {
        guard(&env, || {
            self.inner
                .revoke_session(&token, actor.as_deref().unwrap_or("user"), "-")
        })
    }

    /// Revokes every session of `kind` (all kinds when omitted); returns the count.
    #[napi]
    pub fn revoke_all_sessions(
        &self,
        env: Env,
        kind: Option<String>,
        actor: Option<String>,
    ) -> napi::Result<i64> {
        guard(&env, || {
            let kind = kind.as_deref().map(SessionKind::parse).transpose()?;
            let n = self.inner.revoke_all_sessions(
                kind,
                actor.as_deref().unwrap_or("operator"),
                "-",
            )?;
            Ok(i64::try_from(n).unwrap_or(i64::MAX))
        })
    }

    /// A signed query string (`exp=...&sig=...`) for `GET /results/{taskId}` or, with
    /// `preview`, `GET /preview/{taskId}`.
    #[napi]
    pub fn sign_media_url(
        &self,
        env: Env,
        task_id: String,
        preview: Option<bool>,
        ttl_s: Option<u32>,
    ) -> napi::Result<String> {
        guard(&env, || {
            self.inner.sign_media_url(
                &task_id,
                preview.unwrap_or(false),
                u64::from(ttl_s.unwrap_or(300)),
            )
        })
    }

    /// The route class of a request (`generation`, `media`, `session_issue`, ...).
    #[napi]
    pub fn classify(&self, method: String, path: String) -> &'static str {
        self.inner.classify(&method, &path).class.as_str()
    }

    /// The newest audit events (up to 10,000), oldest first.
    #[napi]
    pub fn audit_events(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            Ok(serde_json::Value::Array(self.audit.recent_json(10_000)?))
        })
    }

    /// The audit log this gate writes to.
    #[napi(getter)]
    pub fn audit_log(&self) -> crate::audit::AuditLog {
        crate::audit::AuditLog::wrap(self.audit.clone(), self.audit_clock.clone())
    }
}
