//! The example gateway: an axum service that links the inferwarden crate and serves the same
//! routes as the FastAPI example (`examples/fastapi_app`). Every decision is a library call:
//! the gate (a middleware) decides who may call; sessions live in SQLite; `workspace::id`
//! tasks go through the registry-only router to a stub worker account; local tasks live in
//! the SQLite lifecycle store with a sweeper and a fake GPU worker; `POST /generate` bodies
//! are validated against the catalogue; every error is the envelope.

use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, Path, Query, RawQuery, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inferwarden::audit::{open_audit_log, AuditLog, AuditQuery, AuditSink};
use inferwarden::catalogue::{validate_request, Catalogue};
use inferwarden::clock::SystemClock;
use inferwarden::config::PolicyConfig;
use inferwarden::gate::{Decision, Gate, Principal, RequestView};
use inferwarden::lifecycle::{open_task_store, Lifecycle, TaskStatus, TimeSource};
use inferwarden::proxy::{Credentials, RemoteWorkspaces};
use inferwarden::ratelimit::open_rate_limiter;
use inferwarden::routing::{
    open_registry, Router as WorkspaceRouter, StaticResolver, WorkspaceStatus,
};
use inferwarden::session::{open_session_store, SessionKind};
use inferwarden::{parse_task_ref, Error, ErrorCode, TaskRef};
use serde::Deserialize;
use serde_json::{json, Value};

use super::media::tiny_png;

const REMOTE_WORKSPACE: &str = "pool-2";
const REMOTE_HOST: &str = "pool-2.workers.local";

/// Shared state.
pub struct Gateway {
    gate: Arc<Gate>,
    lifecycle: Lifecycle,
    remote: RemoteWorkspaces,
    catalogue: Catalogue,
    audit: Arc<AuditLog>,
    media_dir: PathBuf,
    worker: mpsc::Sender<String>,
}

type Shared = Arc<Gateway>;

/// An error rendered as the envelope with its status (and `Retry-After`).
pub struct ApiError(Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, Json(self.0.to_json())).into_response();
        if let Some(s) = self.0.retry_after_seconds() {
            if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn correlation(headers: &HeaderMap) -> String {
    ["x-request-id", "x-correlation-id"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()))
        .unwrap_or("-")
        .to_owned()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

fn add_headers(resp: &mut Response, pairs: &[(String, String)]) {
    for (k, v) in pairs {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().append(k, v);
        }
    }
}

/// The gate as middleware: reject (envelope + headers), answer preflights, or run the
/// handler with the principal in the request extensions and the gate's headers added.
async fn gate_layer(
    State(gw): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let view = RequestView::from_http_parts(&parts, Some(peer.ip()));
    // The decision may wait on stores (sessions, the durable audit log's commit):
    // `decide_async` runs it on the blocking pool then, inline when nothing can block.
    let decision = gw.gate.decide_async(view).await;
    match decision.clone() {
        Decision::Reject { error, set_headers } => {
            let mut resp = ApiError(error).into_response();
            add_headers(&mut resp, &set_headers);
            resp
        }
        Decision::Preflight { set_headers } => {
            let mut resp = StatusCode::NO_CONTENT.into_response();
            add_headers(&mut resp, &set_headers);
            resp
        }
        Decision::Allow {
            principal,
            set_headers,
            ..
        } => {
            let mut request = Request::from_parts(parts, body);
            request.extensions_mut().insert(principal);
            request.extensions_mut().insert(decision);
            let mut resp = next.run(request).await;
            add_headers(&mut resp, &set_headers);
            resp
        }
    }
}

fn set_cookie(resp: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
}

async fn open_session(
    State(gw): State<Shared>,
    Extension(decision): Extension<Decision>,
    headers: HeaderMap,
    kind: SessionKind,
) -> ApiResult<Response> {
    let correlation_id = correlation(&headers);
    let gate_gw = gw.clone();
    let issued = blocking(move || {
        gate_gw
            .gate
            .issue_session_for(&decision, kind, &correlation_id)
    })
    .await?;
    let mut resp = Json(json!({"session": "issued", "kind": kind.as_str()})).into_response();
    set_cookie(&mut resp, issued.set_cookie.expose());
    Ok(resp)
}

async fn close_session(
    State(gw): State<Shared>,
    headers: HeaderMap,
    kind: SessionKind,
) -> ApiResult<Response> {
    let name = gw.gate.sessions().cookie_name(kind).to_owned();
    let actor = match kind {
        SessionKind::Admin => "admin",
        SessionKind::Generation => "user",
    };
    let revoked = match cookie(&headers, &name) {
        Some(token) => {
            let (gate_gw, correlation_id) = (gw.clone(), correlation(&headers));
            blocking(move || gate_gw.gate.revoke_session(&token, actor, &correlation_id)).await?
        }
        None => false,
    };
    let mut resp = Json(json!({"revoked": revoked})).into_response();
    set_cookie(&mut resp, &gw.gate.sessions().clear_cookie(kind));
    Ok(resp)
}

async fn generate(
    State(gw): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(mut body) =
        body.map_err(|_| Error::with_detail(ErrorCode::ValidationError, "the body must be JSON"))?;
    let workspace = body.as_object_mut().and_then(|o| o.remove("workspace"));
    let checked = validate_request(&gw.catalogue, &body)?;
    if let Some(ws) = workspace {
        let ws = ws.as_str().unwrap_or_default().to_owned();
        let payload = serde_json::to_value(&checked).unwrap_or_default();
        let accepted = gw
            .remote
            .generate(&ws, &payload, &correlation(&headers))
            .await?;
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"task_id": accepted.task_id, "status": "pending"})),
        )
            .into_response());
    }
    let id = format!("t-{}", random_hex(8));
    let (life_gw, task_id, kind) = (gw.clone(), id.clone(), checked.kind.clone());
    blocking(move || life_gw.lifecycle.create(&task_id, &kind)).await?;
    let _ = gw.worker.send(id.clone());
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"task_id": id, "status": "pending", "model": checked.model_id})),
    )
        .into_response())
}

fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    let _ = getrandom::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn local_record(gw: &Shared, id: &str) -> ApiResult<inferwarden::lifecycle::TaskRecord> {
    let (gw, id) = (gw.clone(), id.to_owned());
    blocking(move || {
        gw.lifecycle
            .get(&id)?
            .ok_or_else(|| Error::with_detail(ErrorCode::TaskNotFound, "no such task"))
    })
    .await
}

/// An extractor rejection (a path or query that does not parse) as the envelope.
fn malformed(_: impl std::fmt::Display) -> ApiError {
    ApiError(Error::with_detail(
        ErrorCode::ValidationError,
        "the request is malformed",
    ))
}

/// The `{id}` of a task route. A segment that does not decode to UTF-8 cannot be a task id:
/// `proxy_target_invalid`, as `parse_task_ref` says of the replacement character the FastAPI
/// example's server decodes it to.
fn task_id(id: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    match id {
        Ok(Path(id)) => Ok(id),
        Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError(Error::with_detail(
            ErrorCode::ProxyTargetInvalid,
            "the task id is not valid UTF-8",
        ))),
        Err(other) => Err(malformed(other)),
    }
}

async fn status(
    State(gw): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let id = task_id(id)?;
    if let TaskRef::Remote { .. } = parse_task_ref(&id)? {
        return Ok(Json(gw.remote.status(&id, &correlation(&headers)).await?).into_response());
    }
    let t = local_record(&gw, &id).await?;
    let done = t.status == TaskStatus::Done;
    let signed = |preview: bool| -> ApiResult<Option<String>> {
        if !done {
            return Ok(None);
        }
        let q = gw.gate.sign_media_url(&id, preview, 300)?;
        Ok(Some(format!(
            "/{}/{id}?{q}",
            if preview { "preview" } else { "results" }
        )))
    };
    Ok(Json(json!({
        "task_id": id,
        "status": t.status.as_str(),
        "progress": t.progress,
        "result_url": signed(false)?,
        "preview_url": signed(true)?,
        "error": t.error_message,
    }))
    .into_response())
}

async fn media(gw: Shared, headers: HeaderMap, id: String, preview: bool) -> ApiResult<Response> {
    if let TaskRef::Remote { .. } = parse_task_ref(&id)? {
        let corr = correlation(&headers);
        let body = if preview {
            gw.remote.preview(&id, &corr).await?
        } else {
            gw.remote.results(&id, &corr).await?
        };
        let content_type = body
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let shared = inferwarden::proxy::SharedBody::new(body);
        let stream = futures_util::stream::unfold(shared, |b| async move {
            match b.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), b)),
                Ok(None) => None,
                Err(e) => Some((Err(std::io::Error::other(e.code_str())), b)),
            }
        });
        return Ok((
            [
                (header::CONTENT_TYPE, content_type),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            Body::from_stream(stream),
        )
            .into_response());
    }
    let t = local_record(&gw, &id).await?;
    if t.status != TaskStatus::Done {
        return Err(
            Error::with_detail(ErrorCode::TaskNotFound, "the task has no result yet").into(),
        );
    }
    let file = gw.media_dir.join(if preview {
        format!("{id}.preview.png")
    } else {
        format!("{id}.png")
    });
    let bytes = std::fs::read(file)
        .map_err(|_| Error::with_detail(ErrorCode::TaskNotFound, "the result is gone"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response())
}

/// A query string read as Starlette reads it: a name given twice takes its last value, names
/// the route does not know are ignored; a value that does not parse is `validation_error`.
fn last_wins<T: serde::de::DeserializeOwned>(raw: Option<String>) -> ApiResult<T> {
    let mut last: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (name, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        last.insert(name.into_owned(), value.into_owned());
    }
    let pairs: Vec<(String, String)> = last.into_iter().collect();
    let text = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let uri: axum::http::Uri = format!("/?{text}").parse().map_err(malformed)?;
    Query::<T>::try_from_uri(&uri)
        .map(|Query(q)| q)
        .map_err(malformed)
}

#[derive(Deserialize)]
struct GalleryQuery {
    limit: Option<u32>,
}

async fn gallery(
    State(gw): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let q: GalleryQuery = last_wins(raw)?;
    Ok(Json(
        gw.remote
            .gallery(q.limit.unwrap_or(50), &correlation(&headers))
            .await?,
    )
    .into_response())
}

async fn accounts(State(gw): State<Shared>) -> ApiResult<Response> {
    let ready = gw.remote.router().ready()?;
    let list: Vec<Value> = ready
        .iter()
        .map(|e| json!({"workspace": e.workspace, "status": e.status}))
        .collect();
    Ok(Json(json!({"accounts": list})).into_response())
}

/// The largest page `GET /admin/audit` serves.
const MAX_AUDIT_PAGE: usize = 1000;

/// The query of `GET /admin/audit`, the same parameters as the FastAPI example's route (others
/// are ignored, as FastAPI ignores them). `limit` absent means 100; 0 or more than
/// [`MAX_AUDIT_PAGE`] is refused (`validation_error`).
#[derive(Deserialize)]
struct AuditPage {
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    actor: Option<String>,
    action: Option<String>,
    source: Option<String>,
    outcome: Option<String>,
    correlation_id: Option<String>,
    before_seq: Option<i64>,
    limit: Option<usize>,
}

impl AuditPage {
    fn into_query(self) -> ApiResult<AuditQuery> {
        let limit = match self.limit {
            None => 100,
            Some(n @ 1..=MAX_AUDIT_PAGE) => n,
            Some(_) => return Err(malformed("limit must be between 1 and 1000")),
        };
        Ok(AuditQuery {
            since_ms: self.since_ms,
            until_ms: self.until_ms,
            actor: self.actor,
            action: self.action,
            source: self.source,
            outcome: self.outcome,
            correlation_id: self.correlation_id,
            before_seq: self.before_seq,
            newest_first: true,
            limit,
            ..AuditQuery::default()
        })
    }
}

/// `GET /admin/audit`: the durable log, newest first, filtered (`since_ms`, `until_ms`,
/// `actor`, `action`, `source`, `outcome`, `correlation_id`) and paged (`limit`, then
/// `before_seq` = the previous page's `next_before_seq`). The gate admits admins only.
async fn audit_log(State(gw): State<Shared>, RawQuery(raw): RawQuery) -> ApiResult<Response> {
    let q = last_wins::<AuditPage>(raw)?.into_query()?;
    let log = gw.audit.clone();
    let (q, events) = blocking(move || log.query(&q).map(|events| (q, events))).await?;
    let next = (events.len() == q.limit).then(|| events.last().map(|r| r.seq));
    let list: Vec<Value> = events.iter().map(|r| r.to_json()).collect();
    Ok(Json(json!({"events": list, "next_before_seq": next.flatten()})).into_response())
}

/// `GET /admin/audit/verify`: the whole log re-hashed and checked.
async fn audit_verify(State(gw): State<Shared>) -> ApiResult<Response> {
    let log = gw.audit.clone();
    Ok(Json(blocking(move || log.verify(&Default::default())).await?).into_response())
}

/// Runs a store call on the blocking pool (a verify reads every record).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(ApiError),
        Err(_) => Err(ApiError(Error::with_detail(
            ErrorCode::InternalError,
            "a store call failed",
        ))),
    }
}

async fn not_found() -> ApiError {
    ApiError(Error::with_detail(ErrorCode::TaskNotFound, "no such route"))
}

async fn bad_method() -> ApiError {
    ApiError(Error::with_detail(
        ErrorCode::ValidationError,
        "method not allowed here",
    ))
}

fn fake_worker(lifecycle: Lifecycle, media_dir: PathBuf, step: Duration) -> mpsc::Sender<String> {
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for id in rx {
            let run = || -> Result<(), Error> {
                let claim = lifecycle.claim(&id, "fake-gpu-0")?;
                for p in [25, 50, 75] {
                    std::thread::sleep(step);
                    lifecycle.report_progress(&id, &claim.lease_id, p)?;
                }
                let result = media_dir.join(format!("{id}.png"));
                let _ = std::fs::write(&result, tiny_png(96, 64));
                let _ = std::fs::write(
                    media_dir.join(format!("{id}.preview.png")),
                    tiny_png(24, 16),
                );
                lifecycle.complete(
                    &id,
                    &claim.lease_id,
                    &result.to_string_lossy(),
                    "fake-gpu-0",
                )?;
                Ok(())
            };
            if let Err(e) = run() {
                eprintln!("fake worker: {id}: {}", e.code_str());
            }
        }
    });
    tx
}

/// Builds the gateway over `data_dir` with `config` (keys already in it), starting the stub
/// worker account (`worker_key`), the fake GPU worker and the sweeper.
pub async fn build(
    config: PolicyConfig,
    data_dir: &FsPath,
    worker_key: &str,
    worker_step: Duration,
) -> Result<Router, Error> {
    let io = |_| {
        Error::with_detail(
            ErrorCode::DependencyUnavailable,
            "the data directory is unusable",
        )
    };
    let media_dir = data_dir.join("media");
    std::fs::create_dir_all(&media_dir).map_err(io)?;
    let clock = Arc::new(SystemClock);
    // The durable audit log every component writes to (refused when it cannot write);
    // the sweeper prunes it and writes the scheduled signed checkpoints.
    let audit = open_audit_log(
        &format!("sqlite:{}", data_dir.join("audit.db").display()),
        &config.audit,
        clock.clone(),
    )?;
    let sink: Arc<dyn AuditSink> = audit.clone();
    let sessions = open_session_store(&format!(
        "sqlite:{}",
        data_dir.join("sessions.db").display()
    ))?;
    let gate = Gate::builder(config.clone())
        .session_store(sessions)
        .rate_limiter(open_rate_limiter("memory")?)
        .audit_sink(sink.clone())
        .clock(clock.clone())
        .build()?;
    let store = open_task_store(
        &format!("sqlite:{}", data_dir.join("tasks.db").display()),
        TimeSource::Database,
    )?;
    let lifecycle =
        Lifecycle::new(store, &config, sink.clone(), clock.clone()).with_audit_log(audit.clone());
    let catalogue_path = FsPath::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/platform/src/inference_settings.json");
    let catalogue =
        Catalogue::from_json(&std::fs::read_to_string(catalogue_path).map_err(|_| {
            Error::with_detail(ErrorCode::ConfigInvalid, "the catalogue is unreadable")
        })?)?;
    let stub_port = super::stub_worker::start(worker_key.to_owned())
        .await
        .map_err(|_| {
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                "the stub worker did not start",
            )
        })?;
    let registry = open_registry(
        &format!("sqlite:{}", data_dir.join("registry.db").display()),
        &config.proxy.target_policy(),
    )?;
    let resolver =
        StaticResolver::default().with(REMOTE_HOST, &["127.0.0.1".parse().expect("an IP")]);
    let router = WorkspaceRouter::with_registry(
        &config,
        registry,
        Arc::new(resolver),
        sink.clone(),
        clock.clone(),
    )?;
    router.register(
        REMOTE_WORKSPACE,
        &format!("http://{REMOTE_HOST}:{stub_port}"),
        WorkspaceStatus::Ready,
        "default",
        true,
    )?;
    let remote = RemoteWorkspaces::new(router, &config.proxy, Arc::new(Credentials::from_env()));
    let sweeper = lifecycle.clone();
    tokio::spawn(sweeper.run_sweeper_async(std::future::pending(), |r| {
        if let Err(e) = r {
            eprintln!("sweeper: {}", e.code_str());
        }
    }));
    let worker = fake_worker(lifecycle.clone(), media_dir.clone(), worker_step);
    let gw = Arc::new(Gateway {
        gate: Arc::new(gate),
        lifecycle,
        remote,
        catalogue,
        audit,
        media_dir,
        worker,
    });
    Ok(
        Router::new()
            .route(
                "/health",
                get(|| async { Json(json!({"ok": true, "version": env!("CARGO_PKG_VERSION")})) }),
            )
            .route(
                "/auth/session",
                post(|s, p, h| open_session(s, p, h, SessionKind::Generation))
                    .get(|Extension(p): Extension<Principal>| async move {
                        Json(json!({"session": "active", "principal": p.label()}))
                    })
                    .delete(|s, h| close_session(s, h, SessionKind::Generation)),
            )
            .route(
                "/admin/session",
                post(|s, p, h| open_session(s, p, h, SessionKind::Admin))
                    .delete(|s, h| close_session(s, h, SessionKind::Admin)),
            )
            .route("/admin/accounts", get(accounts))
            .route("/admin/audit", get(audit_log))
            .route("/admin/audit/verify", get(audit_verify))
            .route("/generate", post(generate))
            .route("/status/{id}", get(status))
            .route(
                "/results/{id}",
                get(
                    |State(s): State<Shared>,
                     h: HeaderMap,
                     id: Result<Path<String>, PathRejection>| async move {
                        media(s, h, task_id(id)?, false).await
                    },
                ),
            )
            .route(
                "/preview/{id}",
                get(
                    |State(s): State<Shared>,
                     h: HeaderMap,
                     id: Result<Path<String>, PathRejection>| async move {
                        media(s, h, task_id(id)?, true).await
                    },
                ),
            )
            .route("/gallery", get(gallery))
            .route(
                "/metrics",
                // Rendering counts each session store's active sessions (a SQLite query
                // here): on the blocking pool, never on the async workers.
                get(|| async {
                    let text = blocking(|| Ok(inferwarden::metrics::render())).await?;
                    Ok::<_, ApiError>(
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                inferwarden::metrics::CONTENT_TYPE,
                            )],
                            text,
                        )
                            .into_response(),
                    )
                }),
            )
            .fallback(not_found)
            .method_not_allowed_fallback(bad_method)
            .layer(middleware::from_fn_with_state(gw.clone(), gate_layer))
            .with_state(gw),
    )
}
