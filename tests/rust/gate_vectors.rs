//! The request-gate golden vectors against the Rust API (pytest and node:test run the same
//! file through the bindings).

use std::collections::HashMap;
use std::sync::Arc;

use inferwarden::clock::ManualClock;
use inferwarden::config::{ConfigFormat, PolicyConfig};
use inferwarden::gate::{Decision, Gate, Principal, RequestView};
use inferwarden::ratelimit::MemoryRateLimiter;
use inferwarden::session::SessionKind;
use inferwarden_tests::load_vectors;
use serde_json::Value;

fn principal_kind(p: &Principal) -> String {
    serde_json::to_value(p).unwrap()["kind"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn substitute(text: &str, tokens: &HashMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (name, token) in tokens {
        out = out.replace(&format!("{{session:{name}}}"), token);
    }
    out
}

fn pairs(v: &Value, tokens: &HashMap<String, String>) -> Vec<(String, String)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                substitute(p[0].as_str().unwrap(), tokens),
                substitute(p[1].as_str().unwrap(), tokens),
            )
        })
        .collect()
}

#[test]
fn gate_vectors() {
    let doc = load_vectors("gate.json");
    let config = PolicyConfig::from_text_with_env(
        Some(doc["config_toml"].as_str().unwrap()),
        ConfigFormat::Toml,
        &[],
    )
    .unwrap();
    let start = doc["start_ms"].as_i64().unwrap();
    let clock = ManualClock::new(start);
    let gate = Gate::builder(config)
        .clock(Arc::new(clock.clone()))
        .rate_limiter(Arc::new(MemoryRateLimiter::default()))
        .build()
        .unwrap();

    let mut tokens = HashMap::new();
    for s in doc["sessions"].as_array().unwrap() {
        let kind = SessionKind::from_name(s["kind"].as_str().unwrap()).unwrap();
        let req = match kind {
            SessionKind::Generation => RequestView::new("POST", "/auth/session")
                .header("X-API-Key", doc["api_key"].as_str().unwrap()),
            SessionKind::Admin => RequestView::new("POST", "/admin/session")
                .header("x-admin-key", doc["admin_key"].as_str().unwrap()),
        }
        .peer("192.0.2.250".parse().unwrap());
        let Decision::Allow { principal, .. } = gate.decide(&req) else {
            panic!("setup request refused")
        };
        let issued = gate.issue_session(kind, &principal, "setup").unwrap();
        let token = issued.token.expose().to_owned();
        if s.get("revoke").and_then(Value::as_bool) == Some(true) {
            assert!(gate.revoke_session(&token, "setup", "setup").unwrap());
        }
        tokens.insert(s["name"].as_str().unwrap().to_owned(), token);
    }

    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let r = &case["request"];
        clock.set_ms(start);
        let mut query = pairs(&r["query"], &tokens);
        if let Some(signed) = case.get("signed") {
            let qs = gate
                .sign_media_url(
                    signed["task_id"].as_str().unwrap(),
                    signed["preview"].as_bool().unwrap(),
                    signed["ttl_s"].as_u64().unwrap(),
                )
                .unwrap();
            for part in qs.split('&') {
                let (k, v) = part.split_once('=').unwrap();
                let mut v = v.to_owned();
                if k == "sig" && signed.get("tamper").and_then(Value::as_bool) == Some(true) {
                    let last = v.pop().unwrap();
                    v.push(if last == 'A' { 'B' } else { 'A' });
                }
                query.push((k.to_owned(), v));
            }
        }
        clock.set_ms(
            start
                + case
                    .get("at_offset_ms")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
        );
        let req = RequestView {
            method: r["method"].as_str().unwrap().to_owned(),
            path: r["path"].as_str().unwrap().to_owned(),
            headers: pairs(&r["headers"], &tokens),
            query,
            peer: r["peer"].as_str().map(|p| p.parse().unwrap()),
        };
        let repeat = case.get("repeat").and_then(Value::as_u64).unwrap_or(1);
        let mut decision = gate.decide(&req);
        for _ in 1..repeat {
            decision = gate.decide(&req);
        }
        let expect = &case["expect"];
        let got = match &decision {
            Decision::Allow { principal, .. } => format!("allow:{}", principal_kind(principal)),
            Decision::Preflight { .. } => "preflight".to_owned(),
            Decision::Reject { error, .. } => format!("code:{}", error.code_str()),
        };
        let want = if let Some(p) = expect.get("allow") {
            format!("allow:{}", p.as_str().unwrap())
        } else if expect.get("preflight").is_some() {
            "preflight".to_owned()
        } else {
            format!("code:{}", expect["code"].as_str().unwrap())
        };
        if got != want {
            failures.push(format!("{name}: expected {want}, got {got} ({decision:?})"));
            continue;
        }
        let headers = decision.set_headers();
        for h in case
            .get("headers_include")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (n, v) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
            if !headers
                .iter()
                .any(|(hn, hv)| hn.eq_ignore_ascii_case(n) && hv == v)
            {
                failures.push(format!("{name}: missing header {n}: {v} in {headers:?}"));
            }
        }
        for n in case
            .get("headers_exclude")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let n = n.as_str().unwrap();
            if headers.iter().any(|(hn, _)| hn.eq_ignore_ascii_case(n)) {
                failures.push(format!("{name}: unexpected header {n} in {headers:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} gate vector failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
