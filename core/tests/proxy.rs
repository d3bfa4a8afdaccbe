//! The proxy client against real HTTP servers on loopback started by the test: an honest
//! workspace, one that echoes the headers it receives, one that redirects, one that is slow,
//! and one that fails before it succeeds. The credential must reach only the registered
//! origin; no redirect is followed; timeouts and retries follow the configuration; no error
//! carries the credential, the URL or the remote body.
#![cfg(feature = "proxy")]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::SystemClock;
use inferwarden::config::{PolicyConfig, RouteTimeouts};
use inferwarden::proxy::{parse_status, ProxyClient};
use inferwarden::routing::{ProxyRoute, Router, StaticResolver, WorkspaceStatus};
use inferwarden::secret::Secret;

const KEY: &str = "canary-worker-key-5e4d3c2b1a";

type Handler = Arc<
    dyn Fn(usize, &str) -> (u16, String, Vec<(String, String)>, Option<Duration>) + Send + Sync,
>;

struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

/// A tiny HTTP/1.1 server: one response per connection, decided by `handler(n, request)`.
fn server(handler: Handler) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (h2, r2) = (hits.clone(), requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = h2.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut req = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                req.push_str(&line);
            }
            r2.lock().unwrap().push(req.clone());
            let (status, body, headers, delay) = handler(n, &req);
            let handler_thread = std::thread::spawn(move || {
                if let Some(d) = delay {
                    std::thread::sleep(d);
                }
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                let _ = stream.write_all(format!("{head}\r\n{body}").as_bytes());
            });
            drop(handler_thread);
        }
    });
    Server {
        port,
        hits,
        requests,
    }
}

fn config(read_s: f64) -> PolicyConfig {
    let mut c = PolicyConfig::default();
    c.proxy.allow_http = true;
    c.proxy.allow_ip_literal = true;
    c.proxy.backoff_base_ms = 10;
    c.proxy.status = RouteTimeouts {
        connect_s: 1.0,
        read_s,
    };
    c.proxy.results = RouteTimeouts {
        connect_s: 1.0,
        read_s,
    };
    c
}

fn target(c: &PolicyConfig, port: u16, id: &str) -> inferwarden::routing::ResolvedTarget {
    let router = Router::new(
        c,
        Arc::new(StaticResolver::default()),
        Arc::new(MemoryAuditSink::new()),
        Arc::new(SystemClock),
    );
    router
        .register(
            "ws-1",
            &format!("http://127.0.0.1:{port}"),
            WorkspaceStatus::Ready,
            "ws-1-key",
            true,
        )
        .unwrap();
    router.resolve(id, ProxyRoute::Status, "c").unwrap()
}

fn no_leak(e: &inferwarden::Error) {
    let text = format!("{e} {e:?} {}", e.to_json());
    assert!(!text.contains(KEY), "{text}");
    assert!(!text.contains("127.0.0.1"), "{text}");
    assert!(!text.contains("remote-secret-body"), "{text}");
}

#[test]
fn honest_workspace_status_is_validated_and_rewritten() {
    let s = server(Arc::new(|_, _| {
        (
            200,
            r#"{"status":"processing","progress":140,"result_url":"https://evil/x","extra":"x"}"#
                .into(),
            vec![("content-type".into(), "application/json".into())],
            None,
        )
    }));
    let c = config(2.0);
    let t = target(&c, s.port, "ws-1::t-1");
    let st = ProxyClient::new(&c.proxy)
        .fetch_status(&t, &Secret::new(KEY), "ws-1::t-1")
        .unwrap();
    assert_eq!((st.status.as_str(), st.progress), ("processing", 100));
    assert_eq!(
        st.result_url.as_deref(),
        Some("/results/ws-1::t-1"),
        "remote URL replaced by the gateway route"
    );
    let reqs = s.requests.lock().unwrap();
    assert!(reqs[0].starts_with("GET /status/t-1 HTTP/1.1"));
    assert!(
        reqs[0]
            .to_ascii_lowercase()
            .contains(&format!("x-api-key: {KEY}")),
        "the credential reaches the registered origin"
    );
}

#[test]
fn redirects_are_not_followed_and_the_key_goes_nowhere_else() {
    let echo = server(Arc::new(|_, _| (200, "stolen".into(), vec![], None)));
    let port = echo.port;
    let redirect = server(Arc::new(move |_, _| {
        (
            302,
            String::new(),
            vec![("location".into(), format!("http://127.0.0.1:{port}/steal"))],
            None,
        )
    }));
    let c = config(2.0);
    let t = target(&c, redirect.port, "ws-1::t-1");
    let err = ProxyClient::new(&c.proxy)
        .fetch(&t, ProxyRoute::Status, &Secret::new(KEY))
        .unwrap_err();
    assert_eq!(err.code_str(), "remote_unavailable");
    assert_eq!(err.metadata().unwrap()["remote_status"], 302);
    assert_eq!(
        echo.hits.load(Ordering::SeqCst),
        0,
        "the redirect target was never contacted"
    );
    no_leak(&err);
}

#[test]
fn read_timeout_fires_at_the_configured_value_and_is_retried() {
    let slow = server(Arc::new(|_, _| {
        (200, "{}".into(), vec![], Some(Duration::from_secs(3)))
    }));
    let c = config(0.3);
    let t = target(&c, slow.port, "ws-1::t-1");
    let started = Instant::now();
    let err = ProxyClient::new(&c.proxy)
        .fetch(&t, ProxyRoute::Status, &Secret::new(KEY))
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.metadata().unwrap()["reason"], "timeout");
    assert_eq!(slow.hits.load(Ordering::SeqCst), 3, "3 attempts");
    assert!(elapsed < Duration::from_secs(6), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(900), "{elapsed:?}");
    no_leak(&err);
}

#[test]
fn retries_only_listed_statuses() {
    let flaky = server(Arc::new(|n, _| {
        if n == 0 {
            (500, "remote-secret-body".into(), vec![], None)
        } else {
            (200, r#"{"status":"done"}"#.into(), vec![], None)
        }
    }));
    let c = config(2.0);
    let t = target(&c, flaky.port, "ws-1::t-1");
    let r = ProxyClient::new(&c.proxy)
        .fetch(&t, ProxyRoute::Status, &Secret::new(KEY))
        .unwrap();
    assert_eq!((r.status, r.attempts), (200, 2));

    let bad = server(Arc::new(|_, _| {
        (400, "remote-secret-body".into(), vec![], None)
    }));
    let t = target(&c, bad.port, "ws-1::t-1");
    let err = ProxyClient::new(&c.proxy)
        .fetch(&t, ProxyRoute::Status, &Secret::new(KEY))
        .unwrap_err();
    assert_eq!(bad.hits.load(Ordering::SeqCst), 1, "400 is not retried");
    no_leak(&err);

    let missing = server(Arc::new(|_, _| {
        (404, "remote-secret-body".into(), vec![], None)
    }));
    let t = target(&c, missing.port, "ws-1::t-1");
    assert_eq!(
        ProxyClient::new(&c.proxy)
            .fetch(&t, ProxyRoute::Status, &Secret::new(KEY))
            .unwrap_err()
            .code_str(),
        "task_not_found"
    );
}

#[test]
fn refused_connection_and_malformed_payloads() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = config(1.0);
    let t = target(&c, port, "ws-1::t-1");
    let err = ProxyClient::new(&c.proxy)
        .fetch(&t, ProxyRoute::Status, &Secret::new(KEY))
        .unwrap_err();
    assert_eq!(err.code_str(), "remote_unavailable");
    no_leak(&err);
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
