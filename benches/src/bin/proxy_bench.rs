//! Proxy overhead: the same status request sent N times to a keep-alive HTTP server on
//! loopback, once with a plain reqwest client (the floor) and once through
//! `RemoteWorkspaces::status` (audited resolution on a blocking thread, credential lookup,
//! pinned client from the cache, payload validation and rewrite). Prints per-request means
//! and the difference.
//!
//! `cargo run --release -p inferwarden-benches --bin proxy_bench -- [N]`

use std::sync::Arc;
use std::time::Instant;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::SystemClock;
use inferwarden::config::PolicyConfig;
use inferwarden::proxy::{Credentials, RemoteWorkspaces};
use inferwarden::routing::{Router, StaticResolver, WorkspaceStatus};
use inferwarden::secret::Secret;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BODY: &str = r#"{"status":"processing","progress":42,"preview_url":"https://x/p.png"}"#;

/// A minimal HTTP/1.1 keep-alive server answering every request with `BODY`.
async fn serve(listener: tokio::net::TcpListener) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(4096);
            let mut tmp = [0u8; 4096];
            let reply = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{BODY}",
                BODY.len()
            );
            loop {
                let n = match sock.read(&mut tmp).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                buf.extend_from_slice(&tmp[..n]);
                while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    buf.drain(..end + 4);
                    if sock.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(serve(listener));

        let direct = reqwest::Client::builder().build().unwrap();
        let url = format!("http://127.0.0.1:{port}/status/job-1");
        let mut config = PolicyConfig::default();
        config.proxy.allow_http = true;
        let resolver = StaticResolver::default()
            .with("pool-1.workers.test", &["127.0.0.1".parse().unwrap()]);
        let router = Router::new(
            &config,
            Arc::new(resolver),
            Arc::new(MemoryAuditSink::new()),
            Arc::new(SystemClock),
        )
        .unwrap();
        router
            .register(
                "pool-1",
                &format!("http://pool-1.workers.test:{port}"),
                WorkspaceStatus::Ready,
                "k",
                true,
            )
            .unwrap();
        let remote = RemoteWorkspaces::new(
            router,
            &config.proxy,
            Arc::new(Credentials::new().with("k", Secret::new("bench-key"))),
        );
        // Warm both connection pools.
        for _ in 0..200 {
            direct.get(&url).header("x-api-key", "bench-key").send().await.unwrap().bytes().await.unwrap();
            remote.status("pool-1::job-1", "-").await.unwrap();
        }
        let mut results = Vec::new();
        for round in 0..3 {
            let t = Instant::now();
            for _ in 0..n {
                let b = direct
                    .get(&url)
                    .header("x-api-key", "bench-key")
                    .send()
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                std::hint::black_box(v);
            }
            let d = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(remote.status("pool-1::job-1", "-").await.unwrap());
            }
            let p = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            println!("round {round}: direct reqwest {d:.1} us/request, through the proxy {p:.1} us/request, overhead {:.1} us", p - d);
            results.push((d, p));
        }
        results.sort_by(|a, b| (a.1 - a.0).total_cmp(&(b.1 - b.0)));
        let (d, p) = results[1];
        println!("median: direct {d:.1} us, proxy {p:.1} us, overhead {:.1} us ({:.0}%) over {n} sequential requests", p - d, (p / d - 1.0) * 100.0);
    });
}
