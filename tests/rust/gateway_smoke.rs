//! The smoke runner against the example axum gateway (examples/gateway), served in this
//! process on loopback: every check passes in a release run, with the opt-in throttle and
//! generation checks (a local task through the lifecycle) included.

#[path = "../../examples/gateway/app.rs"]
mod app;
#[path = "../../examples/gateway/media.rs"]
mod media;
#[path = "../../examples/gateway/stub_worker.rs"]
mod stub_worker;

use std::net::SocketAddr;
use std::time::Duration;

use inferwarden::config::PolicyConfig;
use inferwarden::secret::Secret;
use inferwarden::smoke::{run, SmokeOptions};

const API_KEY: &str = "gateway-smoke-api-key-0123456789abcdef";
const ADMIN_KEY: &str = "gateway-smoke-admin-key-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_passes_every_smoke_check() {
    let policy =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/gateway/policy.toml");
    let env = [
        ("INFERWARDEN_AUTH__API_KEYS", API_KEY),
        ("INFERWARDEN_AUTH__ADMIN_KEY", ADMIN_KEY),
        (
            "INFERWARDEN_AUTH__MEDIA_SIGNING_KEY",
            "gateway-smoke-media-signing-key-0123456789abcdef",
        ),
    ];
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config =
        PolicyConfig::load_with_env(Some(&policy), &env).expect("the example policy loads");
    let dir = std::env::temp_dir().join(format!("inferwarden-gateway-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let worker_key = "gateway-smoke-worker-key-0123";
    // The proxy reads the worker key by reference (`default` -> INFERWARDEN_WORKER_KEY).
    std::env::set_var("INFERWARDEN_WORKER_KEY", worker_key);
    let router = app::build(config, &dir, worker_key, Duration::from_millis(30))
        .await
        .expect("the gateway builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    let mut o = SmokeOptions::new(&format!("http://127.0.0.1:{port}")).unwrap();
    o.api_key = Some(Secret::new(API_KEY));
    o.admin_key = Some(Secret::new(ADMIN_KEY));
    o.allowed_origin = Some("https://studio.example.com".into());
    o.denied_origin = Some("https://evil.example".into());
    o.rate_limit = Some(10);
    o.generation = Some(
        serde_json::json!({"model": "flux-dev", "parameters": {"prompt": "a fox", "steps": 4}}),
    );
    o.poll_timeout_s = 20.0;
    o.release = true;
    let report = run(&o, &|_: &str| {}).await;
    assert_eq!(report.failed, 0, "{}", report.to_text());
    assert_eq!(report.checks.len(), 20);

    // A remote generation through the registry-only proxy, with streamed media (the auth
    // quota is spent by now, so only this check is looked at).
    let mut remote = SmokeOptions::new(&format!("http://127.0.0.1:{port}")).unwrap();
    remote.api_key = Some(Secret::new(API_KEY));
    remote.generation = Some(
        serde_json::json!({"workspace": "pool-2", "model": "flux-dev", "parameters": {"prompt": "a fox"}}),
    );
    remote.poll_timeout_s = 20.0;
    let r = run(&remote, &|_: &str| {}).await;
    let gen = r
        .checks
        .iter()
        .find(|c| c.id == "generation_lifecycle")
        .unwrap();
    assert!(gen.detail.starts_with("pool-2::r-"), "{}", r.to_text());
    assert_eq!(
        gen.status,
        inferwarden::smoke::CheckStatus::Pass,
        "{}",
        r.to_text()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
