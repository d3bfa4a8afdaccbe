//! The routing golden vectors against the Rust API: registration rules, registry-only
//! resolution and the connect-time address policy.

use std::net::IpAddr;

use inferwarden::parse_task_ref;
use inferwarden::routing::{
    forbidden_reason, resolve_target, MemoryRegistry, ProxyRoute, StaticResolver, TargetPolicy,
    TargetUrl, WorkspaceStatus,
};
use inferwarden_tests::load_vectors;
use serde_json::Value;

fn policy(doc: &Value) -> TargetPolicy {
    serde_json::from_value(doc["policy"].clone()).unwrap()
}

#[test]
fn registration_rules() {
    let doc = load_vectors("routing.json");
    let p = policy(&doc);
    let mut failures = Vec::new();
    for case in doc["registration"].as_array().unwrap() {
        let url = case["url"].as_str().unwrap();
        match (TargetUrl::parse(url, &p), case.get("ok")) {
            (Ok(t), Some(ok)) => {
                if t.origin() != ok["origin"] || t.prefix != ok["prefix"] {
                    failures.push(format!("{url:?}: got {} {}", t.origin(), t.prefix));
                }
            }
            (Err(e), None) => {
                let rule = e
                    .metadata()
                    .and_then(|m| m.get("rule"))
                    .cloned()
                    .unwrap_or_default();
                if e.code_str() != "proxy_target_invalid" || rule != case["rule"] {
                    failures.push(format!(
                        "{url:?}: expected rule {}, got {} {rule}",
                        case["rule"],
                        e.code_str()
                    ));
                }
            }
            (Ok(t), None) => failures.push(format!("{url:?}: accepted as {}", t.origin())),
            (Err(e), Some(_)) => failures.push(format!("{url:?}: rejected: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn resolution_is_registry_only() {
    let doc = load_vectors("routing.json");
    let p = policy(&doc);
    let registry = MemoryRegistry::new();
    for e in doc["registry"].as_array().unwrap() {
        let status: WorkspaceStatus = serde_json::from_value(e["status"].clone()).unwrap();
        registry
            .register(
                e["workspace"].as_str().unwrap(),
                e["url"].as_str().unwrap(),
                status,
                "worker-key",
                &p,
                false,
            )
            .unwrap();
    }
    let mut resolver = StaticResolver::default();
    for (host, addrs) in doc["dns"].as_object().unwrap() {
        let ips: Vec<IpAddr> = addrs
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().parse().unwrap())
            .collect();
        resolver = resolver.with(host, &ips);
    }
    let mut failures = Vec::new();
    for case in doc["resolution"].as_array().unwrap() {
        let task = case["task"].as_str().unwrap();
        let route = match case["route"].as_str().unwrap() {
            "status" => ProxyRoute::Status,
            "results" => ProxyRoute::Results,
            _ => ProxyRoute::Preview,
        };
        let got =
            parse_task_ref(task).and_then(|r| resolve_target(&registry, &resolver, &r, route));
        match (got, case.get("ok")) {
            (Ok(t), Some(url)) if t.url == url.as_str().unwrap() => {
                assert!(t.url.starts_with(&t.origin()));
                assert!(!t.addresses.is_empty());
            }
            (Err(e), None) if e.code_str() == case["code"] => {}
            (other, _) => failures.push(format!("{task}: {other:?} vs {case}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn address_policy() {
    let doc = load_vectors("routing.json");
    let mut failures = Vec::new();
    for case in doc["addresses"].as_array().unwrap() {
        let ip: IpAddr = case["ip"].as_str().unwrap().parse().unwrap();
        let got = forbidden_reason(ip);
        if got != case["forbidden"].as_str() {
            failures.push(format!("{ip}: expected {}, got {got:?}", case["forbidden"]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
