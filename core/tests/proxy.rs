//! The proxy against real HTTP servers on loopback started by the test: an honest workspace
//! (reached by a DNS name the test's resolver pins to loopback), one that echoes the headers
//! it receives, one that redirects, one that is slow, one that fails before it succeeds, and
//! streamed media. The credential must reach only the registered origin; no redirect is
//! followed; timeouts and retries follow the configuration; no error, log line or audit
//! event carries the credential, the URL, its query or the remote body.
#![cfg(feature = "proxy")]

#[path = "support/http_stub.rs"]
mod http_stub;

use std::net::{IpAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_stub::{start, Reply, Stub};
use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::SystemClock;
use inferwarden::config::{PolicyConfig, RouteTimeouts};
use inferwarden::proxy::{
    parse_gallery, parse_generate, parse_status, Credentials, RemoteWorkspaces,
};
use inferwarden::routing::{Router, StaticResolver, WorkspaceStatus};
use inferwarden::secret::Secret;
use serde_json::json;

const KEY: &str = "canary-worker-key-5e4d3c2b1a";
const OTHER_KEY: &str = "canary-other-key-0f9e8d7c6b";
const BODY_CANARY: &str = "remote-secret-body";

fn config(read_s: f64) -> PolicyConfig {
    let mut c = PolicyConfig::default();
    c.proxy.allow_http = true;
    c.proxy.allow_ip_literal = true;
    c.proxy.backoff_base_ms = 10;
    let t = RouteTimeouts {
        connect_s: 1.0,
        read_s,
    };
    (
        c.proxy.status,
        c.proxy.results,
        c.proxy.preview,
        c.proxy.generate,
        c.proxy.gallery,
    ) = (t, t, t, t, t);
    c
}

struct Gateway {
    remote: RemoteWorkspaces,
    audit: Arc<MemoryAuditSink>,
}

/// A gateway whose resolver pins `*.workers.test` names to loopback. `workspaces`:
/// (name, port); every one is ready, private addresses allowed, credential `ws-key`.
fn gateway(c: &PolicyConfig, workspaces: &[(&str, u16)]) -> Gateway {
    let mut resolver = StaticResolver::default();
    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    for (name, _) in workspaces {
        resolver = resolver.with(&format!("{name}.workers.test"), &[lo]);
    }
    let audit = Arc::new(MemoryAuditSink::new());
    let router = Router::new(c, Arc::new(resolver), audit.clone(), Arc::new(SystemClock)).unwrap();
    for (name, port) in workspaces {
        router
            .register(
                name,
                &format!("http://{name}.workers.test:{port}"),
                WorkspaceStatus::Ready,
                "ws-key",
                true,
            )
            .unwrap();
    }
    let creds = Credentials::new()
        .with("ws-key", Secret::new(KEY))
        .with("other", Secret::new(OTHER_KEY));
    Gateway {
        remote: RemoteWorkspaces::new(router, &c.proxy, Arc::new(creds)),
        audit,
    }
}

fn no_leak(text: &str) {
    for canary in [
        KEY,
        OTHER_KEY,
        BODY_CANARY,
        "127.0.0.1",
        "workers.test:",
        "limit=",
    ] {
        assert!(!text.contains(canary), "{canary} leaked: {text}");
    }
}

fn no_leak_err(e: &inferwarden::Error) {
    no_leak(&format!("{e} {e:?} {}", e.to_json()));
}

fn no_leak_audit(g: &Gateway) {
    no_leak(&serde_json::to_string(&g.audit.events()).unwrap());
}

fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn json_stub(status: u16, body: &'static str) -> Stub {
    start(Arc::new(move |_, _| Reply::json(status, body)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_workspace_status_is_validated_rewritten_and_pinned() {
    let s = json_stub(
        200,
        r#"{"status":"processing","progress":140,"result_url":"https://evil/x","extra":"x"}"#,
    );
    let g = gateway(&config(2.0), &[("ws-1", s.port)]);
    let st = g.remote.status("ws-1::T-1.x_~", "c").await.unwrap();
    assert_eq!((st.status.as_str(), st.progress), ("processing", 100));
    assert_eq!(st.result_url.as_deref(), Some("/results/ws-1::T-1.x_~"));
    let req = &s.received()[0];
    assert!(
        req.head.starts_with("GET /status/T-1.x_~ HTTP/1.1"),
        "the task id is one path segment: {}",
        req.head
    );
    assert_eq!(req.header("x-api-key").as_deref(), Some(KEY));
    assert_eq!(
        req.header("host").as_deref(),
        Some(format!("ws-1.workers.test:{}", s.port).as_str()),
        "the registered name, connected through the pinned address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_reaches_only_the_registered_origin() {
    // The echo server stands for any other origin: nothing may ever reach it.
    let echo = start(Arc::new(|_, _| Reply::json(200, r#"{"status":"done"}"#)));
    let port = echo.port;
    let redirect = start(Arc::new(move |_, _| {
        Reply::json(302, "").header("location", &format!("http://127.0.0.1:{port}/steal"))
    }));
    let g = gateway(&config(2.0), &[("ws-1", redirect.port)]);
    let err = g.remote.status("ws-1::t-1", "c").await.unwrap_err();
    assert_eq!(err.code_str(), "remote_unavailable");
    assert_eq!(err.metadata().unwrap()["remote_status"], 302);
    for hostile in [
        "evil.example%23::x",
        "evil.example#::x",
        "127.0.0.1::x",
        "ws-1::x/../../steal",
        "ws-2::t-1",
        "WS-1::t-1",
        "ws-1\n::t-1",
        "ws-1::",
        "::t-1",
        "ws-1::a::b",
        "local-id",
    ] {
        let e = g.remote.status(hostile, "c").await.unwrap_err();
        assert!(
            matches!(e.code_str(), "proxy_target_invalid" | "task_not_found"),
            "{hostile:?}: {}",
            e.code_str()
        );
        no_leak_err(&e);
    }
    assert_eq!(echo.hits(), 0, "the other origin was never contacted");
    assert_eq!(redirect.hits(), 1, "hostile ids never reached the worker");
    no_leak_err(&err);
    no_leak_audit(&g);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_timeout_fires_at_the_configured_value_and_is_retried() {
    let slow = start(Arc::new(|_, _| {
        Reply::json(200, "{}").delayed(Duration::from_secs(3))
    }));
    let g = gateway(&config(0.3), &[("ws-1", slow.port)]);
    let started = Instant::now();
    let err = g.remote.status("ws-1::t-1", "c").await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.metadata().unwrap()["reason"], "timeout");
    assert_eq!(slow.hits(), 3, "3 attempts");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    no_leak_err(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_only_listed_statuses() {
    let flaky = start(Arc::new(|n, _| {
        if n == 0 {
            Reply::json(500, BODY_CANARY)
        } else {
            Reply::json(200, r#"{"status":"done"}"#)
        }
    }));
    let bad = json_stub(400, BODY_CANARY);
    let missing = json_stub(404, BODY_CANARY);
    let g = gateway(
        &config(2.0),
        &[
            ("ws-1", flaky.port),
            ("ws-2", bad.port),
            ("ws-3", missing.port),
        ],
    );
    let st = g.remote.status("ws-1::t-1", "c").await.unwrap();
    assert_eq!((st.status.as_str(), flaky.hits()), ("done", 2));
    let err = g.remote.status("ws-2::t-1", "c").await.unwrap_err();
    assert_eq!(bad.hits(), 1, "400 is not retried");
    no_leak_err(&err);
    let err = g.remote.status("ws-3::t-1", "c").await.unwrap_err();
    assert_eq!((err.code_str(), missing.hits()), ("task_not_found", 1));
    no_leak_err(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secret_on_every_failure_path() {
    let c = config(0.3);
    let five02 = json_stub(502, BODY_CANARY);
    let malformed = json_stub(200, "{\"status\": remote-secret-body");
    let slow = start(Arc::new(|_, _| {
        Reply::json(200, BODY_CANARY).delayed(Duration::from_secs(2))
    }));
    let g = gateway(
        &c,
        &[
            ("ws-refused", closed_port()),
            ("ws-502", five02.port),
            ("ws-json", malformed.port),
            ("ws-slow", slow.port),
        ],
    );
    // DNS failure: a registered name the resolver does not know.
    g.remote
        .router()
        .register(
            "ws-nodns",
            "http://nowhere.workers.test:1",
            WorkspaceStatus::Ready,
            "ws-key",
            true,
        )
        .unwrap();
    for (id, reason) in [
        ("ws-nodns::t", None),
        ("ws-refused::t", Some("connect")),
        ("ws-slow::t", Some("timeout")),
        ("ws-502::t", Some("remote_status")),
        ("ws-json::t", Some("malformed_status")),
    ] {
        let e = g.remote.status(id, "corr").await.unwrap_err();
        assert_eq!(e.code_str(), "remote_unavailable", "{id}");
        if let Some(reason) = reason {
            assert_eq!(e.metadata().unwrap()["reason"], reason, "{id}");
        }
        no_leak_err(&e);
    }
    no_leak_audit(&g);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_and_previews_are_streamed_media_only() {
    let parts: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 64 * 1024]).collect();
    let p2 = parts.clone();
    let media = start(Arc::new(move |_, req| {
        if req.head.starts_with("GET /results/t-svg") {
            Reply::typed(200, "image/svg+xml", b"<svg onload=\"alert(1)\"/>")
        } else if req.head.starts_with("GET /results/") {
            Reply::typed(200, "video/mp4", b"").streamed(p2.clone(), Duration::from_millis(50))
        } else {
            Reply::typed(200, "text/html", b"<script>alert(1)</script>")
        }
    }));
    let g = gateway(&config(2.0), &[("ws-1", media.port)]);
    let mut body = g.remote.results("ws-1::t-1", "c").await.unwrap();
    assert_eq!(body.content_type(), Some("video/mp4"));
    let mut got = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = body.chunk().await.unwrap() {
        chunks += 1;
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got, parts.concat());
    assert!(
        chunks >= 4,
        "delivered as it arrived, not buffered: {chunks}"
    );
    let err = g.remote.preview("ws-1::t-1", "c").await.unwrap_err();
    assert_eq!(err.metadata().unwrap()["reason"], "content_type");
    let svg = g.remote.results("ws-1::t-svg", "c").await.unwrap_err();
    assert_eq!(
        svg.metadata().unwrap()["reason"],
        "content_type",
        "SVG can carry script"
    );
}

#[test]
fn credential_references_map_to_one_environment_variable_each() {
    use inferwarden::proxy::env_var_for;
    assert_eq!(
        env_var_for("default").as_deref(),
        Some("INFERWARDEN_WORKER_KEY")
    );
    assert_eq!(
        env_var_for("pool-2-key").as_deref(),
        Some("INFERWARDEN_WORKER_KEY_POOL_2_KEY")
    );
    // `team_a`, `team.a` and `TEAM-A` would collide with `team-a`: no fallback for them.
    for other in ["team_a", "team.a", "TEAM-A", "team/a", ""] {
        assert_eq!(env_var_for(other), None, "{other}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_stream_fails_at_the_read_timeout() {
    let stall = start(Arc::new(|_, _| {
        Reply::typed(200, "image/png", b"").streamed(
            vec![b"abc".to_vec(), b"def".to_vec()],
            Duration::from_secs(3),
        )
    }));
    let g = gateway(&config(0.4), &[("ws-1", stall.port)]);
    let mut body = g.remote.results("ws-1::t-1", "c").await.unwrap();
    assert_eq!(body.chunk().await.unwrap().as_deref(), Some(&b"abc"[..]));
    let started = Instant::now();
    let err = body.chunk().await.unwrap_err();
    assert_eq!(err.metadata().unwrap()["reason"], "timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
    no_leak_err(&err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_posts_once_per_attempt_with_one_idempotency_key() {
    let remote = start(Arc::new(|n, _| {
        if n == 0 {
            Reply::json(503, BODY_CANARY)
        } else {
            Reply::json(202, r#"{"task_id":"r-77"}"#)
        }
    }));
    let evil = json_stub(200, r#"{"task_id":"x::y"}"#);
    let g = gateway(&config(2.0), &[("ws-1", remote.port), ("ws-2", evil.port)]);
    let payload = json!({"model": "m", "prompt": "a cat"});
    let acc = g.remote.generate("ws-1", &payload, "c").await.unwrap();
    assert_eq!(acc.task_id, "ws-1::r-77");
    assert_eq!(acc.status_url, "/status/ws-1::r-77");
    let reqs = remote.received();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].head.starts_with("POST /generate HTTP/1.1"));
    let body: serde_json::Value = serde_json::from_slice(&reqs[1].body).unwrap();
    assert_eq!(body, payload);
    let keys: Vec<_> = reqs.iter().map(|r| r.header("idempotency-key")).collect();
    assert!(keys[0].is_some() && keys[0] == keys[1], "{keys:?}");
    let err = g.remote.generate("ws-2", &payload, "c").await.unwrap_err();
    assert_eq!(err.metadata().unwrap()["reason"], "invalid_task_id");
    for bad in ["nope", "Bad_Name", "evil.example"] {
        let e = g.remote.generate(bad, &payload, "c").await.unwrap_err();
        assert!(matches!(
            e.code_str(),
            "task_not_found" | "proxy_target_invalid"
        ));
    }
    assert_eq!(
        parse_generate(b"[]", "ws-1").unwrap_err().code_str(),
        "remote_unavailable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gallery_fans_out_merges_newest_first_and_reports_failures() {
    let a = json_stub(
        200,
        r#"{"items":[{"task_id":"a1","created_at":3000,"type":"image","status":"done"},
                     {"task_id":"a0","created_at":"1970-01-01T00:00:01Z","preview_url":"x"},
                     {"task_id":"../x","created_at":5000},
                     {"task_id":"a2","created_at":"yesterday"}]}"#,
    );
    let b = json_stub(
        200,
        r#"[{"id":"b1","created_at":4000,"status":"processing"}]"#,
    );
    let slow = start(Arc::new(|_, _| {
        Reply::json(200, "[]").delayed(Duration::from_secs(3))
    }));
    let broken = json_stub(500, BODY_CANARY);
    let c = config(0.5);
    let g = gateway(
        &c,
        &[
            ("ws-a", a.port),
            ("ws-b", b.port),
            ("ws-slow", slow.port),
            ("ws-x", broken.port),
        ],
    );
    g.remote
        .router()
        .set_status("ws-x", WorkspaceStatus::Ready)
        .unwrap();
    g.remote
        .router()
        .register(
            "ws-off",
            "http://off.workers.test:1",
            WorkspaceStatus::Disabled,
            "ws-key",
            true,
        )
        .unwrap();
    let started = Instant::now();
    let gal = g.remote.gallery(10, "c").await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded deadline"
    );
    let ids: Vec<_> = gal.items.iter().map(|i| i.task_id.as_str()).collect();
    assert_eq!(ids, ["ws-b::b1", "ws-a::a1", "ws-a::a0"]);
    assert_eq!(
        gal.items[1].result_url.as_deref(),
        Some("/results/ws-a::a1")
    );
    assert_eq!(
        gal.items[2].preview_url.as_deref(),
        Some("/preview/ws-a::a0")
    );
    assert_eq!(gal.items[2].created_at_ms, 1000);
    assert_eq!((gal.accounts, gal.skipped), (4, 2));
    let failed: Vec<_> = gal
        .failures
        .iter()
        .map(|f| (f.workspace.as_str(), f.reason.as_deref()))
        .collect();
    assert!(
        failed.contains(&("ws-x", Some("remote_status"))),
        "{failed:?}"
    );
    assert!(
        failed
            .iter()
            .any(|(w, r)| *w == "ws-slow" && matches!(r, Some("timeout" | "deadline"))),
        "{failed:?}"
    );
    assert!(a.received()[0].head.starts_with("GET /gallery?limit=10 "));
    assert_eq!(g.remote.gallery(1, "c").await.unwrap().items.len(), 1);
    assert_eq!(
        g.remote.gallery(0, "c").await.unwrap_err().code_str(),
        "validation_error"
    );
    no_leak(&serde_json::to_string(&gal).unwrap());
    assert_eq!(
        parse_gallery(b"{}", "ws-a").unwrap_err().code_str(),
        "remote_unavailable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_no_request() {
    let s = json_stub(200, r#"{"status":"done"}"#);
    let c = config(1.0);
    let g = gateway(&c, &[("ws-1", s.port)]);
    g.remote
        .router()
        .register(
            "ws-1",
            &format!("http://ws-1.workers.test:{}", s.port),
            WorkspaceStatus::Ready,
            "unset-ref",
            true,
        )
        .unwrap();
    let e = g.remote.status("ws-1::t", "c").await.unwrap_err();
    assert_eq!(e.code_str(), "server_misconfigured");
    assert_eq!(e.metadata().unwrap()["credential_ref"], "unset-ref");
    assert_eq!(s.hits(), 0);
}

#[test]
fn status_payload_validation() {
    assert_eq!(
        parse_status(b"not json", "x").unwrap_err().code_str(),
        "remote_unavailable"
    );
    assert_eq!(
        parse_status(br#"{"status":"exploded"}"#, "x")
            .unwrap_err()
            .metadata()
            .unwrap()["reason"],
        "unknown_status"
    );
    assert_eq!(
        parse_status(br#"{"status":"pending","progress":-5}"#, "x")
            .unwrap()
            .progress,
        0
    );
}

/// The value of one sample of the metrics exposition (0 when absent).
fn metric(series: &str) -> f64 {
    inferwarden::metrics::render()
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .map_or(0.0, |v| v.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_counted_by_outcome_even_when_the_caller_gives_up() {
    let slow = start(Arc::new(|_, _| {
        Reply::json(200, "{}").delayed(Duration::from_secs(3))
    }));
    let g = gateway(&config(5.0), &[("ws-1", slow.port)]);
    let cancelled = r#"inferwarden_proxy_requests_total{route="status",outcome="cancelled"}"#;
    let before = metric(cancelled);
    // A caller's own deadline drops the request mid-flight: still counted, as cancelled.
    let dropped = tokio::time::timeout(
        Duration::from_millis(1000),
        g.remote.status("ws-1::t-1", "c"),
    )
    .await;
    assert!(dropped.is_err(), "the caller's deadline fired first");
    assert_eq!(metric(cancelled) - before, 1.0);
    // A finished request is counted under its outcome, never as cancelled.
    let honest = json_stub(200, r#"{"status": "done", "progress": 100}"#);
    let g = gateway(&config(5.0), &[("ws-2", honest.port)]);
    let ok = r#"inferwarden_proxy_requests_total{route="status",outcome="ok"}"#;
    let (ok0, c0) = (metric(ok), metric(cancelled));
    g.remote.status("ws-2::t-1", "c").await.unwrap();
    assert_eq!(metric(cancelled), c0);
    assert!(
        metric(ok) - ok0 >= 1.0,
        "other tests in this binary may add to ok, never take away"
    );
}
