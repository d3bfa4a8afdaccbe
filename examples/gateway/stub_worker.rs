//! A stand-in remote worker account on loopback (the worker side of the proxy contract):
//! `GET /status|results|preview/{id}`, `GET /gallery`, `POST /generate`; 401 unless the
//! request carries its key in `x-api-key`. Accepted tasks finish after half a second.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::media::tiny_png;

#[derive(Clone)]
struct Stub {
    key: Arc<String>,
    tasks: Arc<Mutex<BTreeMap<String, (Instant, u64)>>>,
}

const FINISH_AFTER: Duration = Duration::from_millis(500);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Stub {
    fn authorized(&self, headers: &HeaderMap) -> bool {
        headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(self.key.as_str())
    }

    fn state(&self, id: &str) -> Option<(&'static str, u64)> {
        let tasks = self.tasks.lock().ok()?;
        let (started, _) = tasks.get(id)?;
        let age = started.elapsed();
        Some(if age >= FINISH_AFTER {
            ("done", 100)
        } else {
            (
                "processing",
                (age.as_millis() * 100 / FINISH_AFTER.as_millis()) as u64,
            )
        })
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": "unauthorized"})),
    )
        .into_response()
}

async fn status(State(s): State<Stub>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    if !s.authorized(&headers) {
        return unauthorized();
    }
    match s.state(&id) {
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such task"})),
        )
            .into_response(),
        Some((st, progress)) => {
            let mut body = json!({"status": st, "progress": progress});
            if st == "done" {
                body["result_url"] = json!(format!("https://storage.internal/{id}.png"));
                body["preview_url"] = json!(format!("https://storage.internal/{id}.preview.png"));
            }
            Json(body).into_response()
        }
    }
}

async fn media(s: Stub, headers: HeaderMap, id: String, size: u32) -> Response {
    if !s.authorized(&headers) {
        return unauthorized();
    }
    match s.state(&id) {
        Some(("done", _)) => {
            ([(header::CONTENT_TYPE, "image/png")], tiny_png(size, size)).into_response()
        }
        _ => (StatusCode::NOT_FOUND, Json(json!({"error": "not ready"}))).into_response(),
    }
}

async fn generate(State(s): State<Stub>, headers: HeaderMap, _body: Json<Value>) -> Response {
    if !s.authorized(&headers) {
        return unauthorized();
    }
    let Ok(mut tasks) = s.tasks.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let id = format!("r-{}", tasks.len() + 1);
    tasks.insert(id.clone(), (Instant::now(), now_ms()));
    (StatusCode::ACCEPTED, Json(json!({"task_id": id}))).into_response()
}

async fn gallery(State(s): State<Stub>, headers: HeaderMap) -> Response {
    if !s.authorized(&headers) {
        return unauthorized();
    }
    let items: Vec<Value> = s
        .tasks
        .lock()
        .map(|t| {
            t.iter()
                .map(|(id, (_, created))| json!({"task_id": id, "created_at": created, "type": "image"}))
                .collect()
        })
        .unwrap_or_default();
    Json(json!({"items": items})).into_response()
}

/// Starts the stub on an ephemeral loopback port and returns the port.
pub async fn start(key: String) -> std::io::Result<u16> {
    let stub = Stub {
        key: Arc::new(key),
        tasks: Arc::new(Mutex::new(BTreeMap::new())),
    };
    let app = Router::new()
        .route("/status/{id}", get(status))
        .route(
            "/results/{id}",
            get(|State(s): State<Stub>, h: HeaderMap, Path(id): Path<String>| media(s, h, id, 64)),
        )
        .route(
            "/preview/{id}",
            get(|State(s): State<Stub>, h: HeaderMap, Path(id): Path<String>| media(s, h, id, 16)),
        )
        .route("/generate", post(generate))
        .route("/gallery", get(gallery))
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(port)
}
