//! The example axum gateway: `cargo run -p inferwarden-tests --example gateway -- --port 8000`.
//! Keys come from the environment (`INFERWARDEN_AUTH__API_KEYS`, `INFERWARDEN_AUTH__ADMIN_KEY`,
//! `INFERWARDEN_AUTH__MEDIA_SIGNING_KEY`, `INFERWARDEN_WORKER_KEY`), the policy from
//! `examples/gateway/policy.toml`.

mod app;
mod media;
mod stub_worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use inferwarden::config::PolicyConfig;

#[tokio::main]
async fn main() {
    let mut port = 8000u16;
    let mut data_dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(port),
            "--data-dir" => data_dir = args.next().map(PathBuf::from),
            other => {
                eprintln!("unknown argument {other}; usage: gateway [--port N] [--data-dir DIR]");
                std::process::exit(2);
            }
        }
    }
    let policy = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway/policy.toml");
    let config = match PolicyConfig::load(Some(&policy)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("policy: {e}");
            std::process::exit(2);
        }
    };
    let dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("inferwarden-gateway-{}", std::process::id()))
    });
    let key = std::env::var("INFERWARDEN_WORKER_KEY").unwrap_or_default();
    let app = match app::build(config, &dir, &key, Duration::from_millis(200)).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("gateway: {e}");
            std::process::exit(1);
        }
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    eprintln!("gateway listening on http://127.0.0.1:{port}");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .expect("serve");
}
