//! The request gate, sessions and the manual test clock as Python classes.

use std::sync::Arc;

use inferwarden::audit::AuditHandle;
use inferwarden::clock::{Clock, ManualClock as CoreManualClock, SystemClock};
use inferwarden::gate::{Decision as CoreDecision, Gate as CoreGate, RequestView};
use inferwarden::session::SessionKind;
use inferwarden::{Error, ErrorCode};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::aio;
use crate::asgi_scope;
use crate::config::PolicyConfig;
use crate::convert::json_to_py;
use crate::errors::{guard, to_py_err};

/// A clock that moves only when told to (tests).
#[pyclass(module = "inferwarden._native", frozen)]
#[derive(Clone)]
pub struct ManualClock {
    inner: CoreManualClock,
}

impl ManualClock {
    /// The core clock (shared: clones move together).
    pub fn core(&self) -> &CoreManualClock {
        &self.inner
    }
}

#[pymethods]
impl ManualClock {
    #[new]
    fn new(start_ms: i64) -> Self {
        ManualClock {
            inner: CoreManualClock::new(start_ms),
        }
    }

    /// Sets the time (ms since the epoch).
    fn set_ms(&self, now_ms: i64) {
        self.inner.set_ms(now_ms);
    }

    /// Moves the time by `delta_ms`.
    fn advance_ms(&self, delta_ms: i64) {
        self.inner.advance_ms(delta_ms);
    }

    /// The current time, ms since the epoch.
    fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }
}

/// A newly issued session. `repr()` never shows the token.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct IssuedSession {
    token: String,
    set_cookie: String,
    #[pyo3(get)]
    session_id: String,
    #[pyo3(get)]
    kind: &'static str,
    #[pyo3(get)]
    expires_ms: i64,
}

#[pymethods]
impl IssuedSession {
    /// The token (secret): send it only in the cookie.
    #[getter]
    fn token(&self) -> &str {
        &self.token
    }

    /// The `Set-Cookie` header value (contains the token: never log it).
    #[getter]
    fn set_cookie(&self) -> &str {
        &self.set_cookie
    }

    fn __repr__(&self) -> String {
        format!(
            "IssuedSession(kind={:?}, session_id={:?}, token=[REDACTED])",
            self.kind,
            &self.session_id[..12]
        )
    }
}

/// A request's view (a bad peer address is a `ValidationError`).
fn request_view(
    py: Python<'_>,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    peer: Option<&str>,
) -> PyResult<RequestView> {
    let peer = guard(py, || inferwarden::gate::parse_peer(peer))?;
    Ok(RequestView {
        method,
        path,
        headers,
        query,
        peer,
    })
}

/// The gate's answer for one request.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Decision {
    inner: CoreDecision,
}

#[pymethods]
impl Decision {
    /// Whether the handler may run.
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.is_allowed()
    }

    /// Whether this answers a CORS preflight (respond 204 with `headers`).
    #[getter]
    fn preflight(&self) -> bool {
        matches!(self.inner, CoreDecision::Preflight { .. })
    }

    /// The HTTP status the gate implies (200 allow, 204 preflight, else the error's).
    #[getter]
    fn status(&self) -> u16 {
        self.inner.http_status()
    }

    /// Headers to set on the response.
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner.set_headers().to_vec()
    }

    /// The same headers as ASGI wants them: `(bytes, bytes)` pairs, names lowercased.
    #[getter]
    fn asgi_headers<'py>(
        &self,
        py: Python<'py>,
    ) -> Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        self.inner
            .set_headers()
            .iter()
            .map(|(name, value)| {
                (
                    PyBytes::new(py, name.to_ascii_lowercase().as_bytes()),
                    PyBytes::new(py, value.as_bytes()),
                )
            })
            .collect()
    }

    /// The principal as a dict (`{"kind": ...}`), or `None` when not allowed.
    #[getter]
    fn principal<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        use inferwarden::gate::Principal;
        let CoreDecision::Allow { principal, .. } = &self.inner else {
            return Ok(None);
        };
        // Built directly with the keys of the principal's JSON (pinned by the tests), not
        // through a JSON value: a handler reads it on every request.
        let out = PyDict::new(py);
        out.set_item(pyo3::intern!(py, "kind"), principal.kind())?;
        match principal {
            Principal::ApiKey { key_index } => {
                out.set_item(pyo3::intern!(py, "key_index"), key_index)?
            }
            Principal::Session { session_id } | Principal::AdminSession { session_id } => {
                out.set_item(pyo3::intern!(py, "session_id"), session_id)?
            }
            Principal::SignedMedia { task_id } => {
                out.set_item(pyo3::intern!(py, "task_id"), task_id)?
            }
            Principal::Public | Principal::Anonymous | Principal::AdminBootstrap => {}
        }
        Ok(Some(out.into_any()))
    }

    /// The route class (`generation`, `media`, `admin`, ...), when allowed.
    #[getter]
    fn route(&self) -> Option<&'static str> {
        match &self.inner {
            CoreDecision::Allow { route, .. } => Some(route.as_str()),
            _ => None,
        }
    }

    /// The exception for a rejection (not raised), else `None`.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.inner
            .error()
            .map(|e| to_py_err(py, e.clone()).into_value(py).into_any())
    }

    /// The error envelope `{"code","detail","user_action","metadata"?}` for a rejection.
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.inner.error() {
            Some(e) => json_to_py(py, &e.to_json()).map(Some),
            None => Ok(None),
        }
    }

    /// Raises the rejection's exception; returns `None` when allowed.
    fn raise_for_error(&self, py: Python<'_>) -> PyResult<()> {
        match self.inner.error() {
            Some(e) => Err(to_py_err(py, e.clone())),
            None => Ok(()),
        }
    }

    fn __repr__(&self) -> String {
        match &self.inner {
            CoreDecision::Allow { principal, .. } => {
                format!("Decision(allowed, principal={:?})", principal.label())
            }
            CoreDecision::Preflight { .. } => "Decision(preflight)".to_owned(),
            CoreDecision::Reject { error, .. } => {
                format!("Decision(rejected, code={:?})", error.code_str())
            }
        }
    }
}

/// The request gate.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Gate {
    inner: Arc<CoreGate>,
    audit: AuditHandle,
    audit_clock: Arc<dyn Clock>,
}

impl Gate {
    /// The decision as an awaitable: inline when nothing can block, else on the runtime.
    fn decide_view_async(&self, py: Python<'_>, req: RequestView) -> PyResult<Py<PyAny>> {
        if let Some(inner) = self.inner.try_decide_now(&req) {
            let decision = Py::new(py, Decision { inner })?;
            return aio::ready(py, decision.into_any());
        }
        // A decision already running on the pool cannot be stopped, so a cancelled future
        // aborts nothing: the decision completes and its outcome is dropped by the loop.
        let (fut, completer) = aio::pending(py)?;
        self.inner
            .decide_on_blocking_pool(req, move |inner| {
                completer.complete(Ok(inner), |py, inner| {
                    Ok(Py::new(py, Decision { inner })?.into_any())
                })
            })
            .map_err(|e| to_py_err(py, e))?;
        Ok(fut)
    }
}

#[pymethods]
impl Gate {
    /// A gate over `config`. `session_store`: `memory` (default), `sqlite:PATH`,
    /// `postgres://...`; `rate_limiter`: `memory` (default), `redis://...`, `allow-all`;
    /// `clock`: a `ManualClock` for tests (default: the system clock); `audit`: a store URL
    /// (`memory`, `sqlite:PATH`, `postgres://...`) or an `AuditLog` (default:
    /// `config.audit.store`). When the audit log cannot write, audited requests are refused.
    #[new]
    #[pyo3(signature = (config, *, session_store="memory", rate_limiter="memory", clock=None, audit=None))]
    fn new(
        py: Python<'_>,
        config: &PolicyConfig,
        session_store: &str,
        rate_limiter: &str,
        clock: Option<&ManualClock>,
        audit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let clock: Arc<dyn Clock> = match clock {
            Some(c) => Arc::new(c.inner.clone()),
            None => Arc::new(SystemClock),
        };
        let audit = crate::audit::audit_handle(py, audit, config.inner(), clock.clone())?;
        let audit_clock = clock.clone();
        let core_config = config.inner().clone();
        let store_url = session_store.to_owned();
        let limiter_url = rate_limiter.to_owned();
        let audit_for_gate = audit.sink();
        let gate = py.detach(move || {
            guard_plain(|| {
                CoreGate::open(core_config, &store_url, &limiter_url, audit_for_gate, clock)
            })
        });
        let gate = gate.map_err(|e| to_py_err(py, e))?;
        Ok(Gate {
            inner: Arc::new(gate),
            audit,
            audit_clock,
        })
    }

    /// Decides one request. `headers` and `query` are `(name, value)` pairs in order;
    /// `peer` is the socket peer IP. Releases the GIL while stores are consulted.
    #[pyo3(signature = (method, path, headers=Vec::new(), query=Vec::new(), peer=None))]
    fn decide(
        &self,
        py: Python<'_>,
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        query: Vec<(String, String)>,
        peer: Option<&str>,
    ) -> PyResult<Decision> {
        let req = request_view(py, method, path, headers, query, peer)?;
        // In-process stores answer in microseconds: releasing the GIL would cost more than
        // the decision. Stores that can wait (SQLite, PostgreSQL, Redis) let other threads run.
        if !self.inner.may_block() {
            return Ok(Decision {
                inner: self.inner.decide(&req),
            });
        }
        let gate = self.inner.clone();
        let inner = py.detach(move || gate.decide(&req));
        Ok(Decision { inner })
    }

    /// `decide` as an awaitable that never blocks the event loop: when nothing can block
    /// (`may_block` is false) the decision is made inline and returned as a completed
    /// future; otherwise it runs on the native runtime's blocking pool, and the loop keeps
    /// serving other requests meanwhile.
    #[pyo3(signature = (method, path, headers=Vec::new(), query=Vec::new(), peer=None))]
    fn decide_async(
        &self,
        py: Python<'_>,
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        query: Vec<(String, String)>,
        peer: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let req = request_view(py, method, path, headers, query, peer)?;
        self.decide_view_async(py, req)
    }

    /// `decide` for an ASGI HTTP scope, read in place, on this thread: what `GateMiddleware`
    /// calls when nothing can block (`may_block` is false). With a store that can block it
    /// waits on it with the GIL released; an event loop should await `decide_asgi` instead.
    fn decide_scope(&self, py: Python<'_>, scope: &Bound<'_, PyDict>) -> PyResult<Decision> {
        let req = asgi_scope::request_view(scope)?;
        if let Some(inner) = self.inner.try_decide_now(&req) {
            return Ok(Decision { inner });
        }
        let gate = self.inner.clone();
        let inner = py.detach(move || gate.decide(&req));
        Ok(Decision { inner })
    }

    /// `decide` for an ASGI HTTP scope when that needs no waiting (see `may_try_now`): the
    /// decision, or `None` when a store would have had to wait (nothing was written; await
    /// `decide_asgi` instead). What `GateMiddleware` calls over a SQLite session store.
    fn try_decide_scope(&self, scope: &Bound<'_, PyDict>) -> PyResult<Option<Decision>> {
        let req = asgi_scope::request_view(scope)?;
        Ok(self
            .inner
            .try_decide_now(&req)
            .map(|inner| Decision { inner }))
    }

    /// `decide_async` for an ASGI HTTP scope, read in place (method, raw path, header bytes,
    /// query string, client): what `GateMiddleware` calls, with no per-request Python lists.
    fn decide_asgi(&self, py: Python<'_>, scope: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
        let req = asgi_scope::request_view(scope)?;
        self.decide_view_async(py, req)
    }

    /// Whether a decision may wait on a store (sessions, rate limiter, audit log outside
    /// the process). `decide_async` decides inline when it is false.
    #[getter]
    fn may_block(&self) -> bool {
        self.inner.may_block()
    }

    /// Whether a decision that may block can still be tried on the caller's thread without
    /// waiting (`try_decide_scope`): the session store is SQLite and the rate limiter and
    /// audit log are in the process.
    #[getter]
    fn may_try_now(&self) -> bool {
        self.inner.may_try_now()
    }

    /// Issues a session (`kind` = `generation` or `admin`) for an allowed decision of
    /// `POST /auth/session` or `POST /admin/session`.
    #[pyo3(signature = (decision, kind, correlation_id="-"))]
    fn issue_session(
        &self,
        py: Python<'_>,
        decision: &Decision,
        kind: &str,
        correlation_id: &str,
    ) -> PyResult<IssuedSession> {
        let kind = guard(py, || SessionKind::parse(kind))?;
        let gate = self.inner.clone();
        let corr = correlation_id.to_owned();
        let decision = decision.inner.clone();
        let issued = py
            .detach(move || gate.issue_session_for(&decision, kind, &corr))
            .map_err(|e| to_py_err(py, e))?;
        Ok(IssuedSession {
            token: issued.token.expose().to_owned(),
            set_cookie: issued.set_cookie.expose().to_owned(),
            session_id: issued.record.id,
            kind: kind.as_str(),
            expires_ms: issued.record.expires_ms,
        })
    }

    /// Revokes the session of `token`; returns whether one was revoked.
    #[pyo3(signature = (token, actor="user", correlation_id="-"))]
    fn revoke_session(
        &self,
        py: Python<'_>,
        token: String,
        actor: &str,
        correlation_id: &str,
    ) -> PyResult<bool> {
        let gate = self.inner.clone();
        let (actor, corr) = (actor.to_owned(), correlation_id.to_owned());
        py.detach(move || gate.revoke_session(&token, &actor, &corr))
            .map_err(|e| to_py_err(py, e))
    }

    /// Revokes every session of `kind` (`None` = all kinds); returns the count.
    #[pyo3(signature = (kind=None, actor="operator", correlation_id="-"))]
    fn revoke_all_sessions(
        &self,
        py: Python<'_>,
        kind: Option<&str>,
        actor: &str,
        correlation_id: &str,
    ) -> PyResult<u64> {
        let kind = match kind {
            Some(k) => Some(guard(py, || SessionKind::parse(k))?),
            None => None,
        };
        let gate = self.inner.clone();
        let (actor, corr) = (actor.to_owned(), correlation_id.to_owned());
        py.detach(move || gate.revoke_all_sessions(kind, &actor, &corr))
            .map_err(|e| to_py_err(py, e))
    }

    /// The `Set-Cookie` value that clears the cookie of `kind`.
    fn clear_cookie(&self, py: Python<'_>, kind: &str) -> PyResult<String> {
        let kind = guard(py, || SessionKind::parse(kind))?;
        Ok(self.inner.sessions().clear_cookie(kind))
    }

    /// A signed query string (`exp=...&sig=...`) for `GET /results/{task_id}` or, with
    /// `preview=True`, `GET /preview/{task_id}`.
    #[pyo3(signature = (task_id, preview=false, ttl_s=300))]
    fn sign_media_url(
        &self,
        py: Python<'_>,
        task_id: &str,
        preview: bool,
        ttl_s: u64,
    ) -> PyResult<String> {
        guard(py, || self.inner.sign_media_url(task_id, preview, ttl_s))
    }

    /// The route class of a request (`generation`, `media`, `session_issue`, ...).
    fn classify(&self, method: &str, path: &str) -> &'static str {
        self.inner.classify(method, path).class.as_str()
    }

    /// The newest audit events (up to 10,000), oldest first, as dicts.
    fn audit_events<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || self.audit.recent_json(10_000))?;
        json_to_py(py, &serde_json::Value::Array(v))
    }

    /// The audit log this gate writes to.
    #[getter]
    fn audit_log(&self) -> crate::audit::AuditLog {
        crate::audit::AuditLog::wrap(self.audit.clone(), self.audit_clock.clone())
    }

    fn __repr__(&self) -> String {
        "Gate(...)".to_owned()
    }
}

fn guard_plain<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(Error::with_detail(
            ErrorCode::InternalError,
            "panic in inferwarden core",
        ))
    })
}
