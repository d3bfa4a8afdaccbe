//! Tests for `gate/http_view.rs`: the request view from `http::Request` parts.
#![cfg(feature = "http")]

use inferwarden::config::PolicyConfig;
use inferwarden::gate::{Gate, RequestView};
use inferwarden::secret::Secret;

#[test]
fn builds_view_and_decides() {
    let req = http::Request::builder()
        .method("GET")
        .uri("/results/t%2D1?api_key=a%2Bb+c&flag&x=1")
        .header("X-API-Key", "k1")
        .header("x-api-key", "k2")
        .body(())
        .unwrap();
    let (parts, _) = req.into_parts();
    let view = RequestView::from_http_parts(&parts, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(view.method, "GET");
    assert_eq!(view.path, "/results/t%2D1");
    assert_eq!(
        view.query,
        vec![
            ("api_key".into(), "a+b c".into()),
            ("flag".into(), String::new()),
            ("x".into(), "1".into())
        ]
    );
    assert_eq!(view.headers.len(), 2);
    let mut c = PolicyConfig::default();
    c.auth.api_keys = vec![Secret::new("k1")];
    let gate = Gate::builder(c).build().unwrap();
    // Two different X-API-Key headers: ambiguous.
    assert_eq!(
        gate.decide(&view).error().unwrap().code_str(),
        "invalid_api_key"
    );
}
