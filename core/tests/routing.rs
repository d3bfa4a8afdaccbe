//! Tests for `routing/`: the router audits every rejection, pins credentials to the
//! registered origin, and refuses hosts that resolve to forbidden addresses (DNS rebinding to
//! metadata, NAT64 and mapped forms).

use std::net::IpAddr;
use std::sync::Arc;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::routing::{ProxyRoute, Router, StaticResolver, WorkspaceStatus};

fn router(answers: &[&str]) -> (Router, Arc<MemoryAuditSink>) {
    router_with(answers, false)
}

fn router_with(answers: &[&str], allow_private: bool) -> (Router, Arc<MemoryAuditSink>) {
    router_on(answers, allow_private, false)
}

/// A router whose `acme` entry resolves to `answers`; `private_networks` is the deployment
/// switch `proxy.allow_private_networks`.
fn router_on(
    answers: &[&str],
    allow_private: bool,
    private_networks: bool,
) -> (Router, Arc<MemoryAuditSink>) {
    let mut c = PolicyConfig::default();
    c.proxy.allowed_host_suffixes = vec!["example.run".into()];
    c.proxy.allow_private_networks = private_networks;
    let ips: Vec<IpAddr> = answers.iter().map(|a| a.parse().unwrap()).collect();
    let resolver = StaticResolver::default().with("acme.example.run", &ips);
    let audit = Arc::new(MemoryAuditSink::new());
    let r = Router::new(
        &c,
        Arc::new(resolver),
        audit.clone(),
        Arc::new(ManualClock::new(1_700_000_000_000)),
    )
    .unwrap();
    r.register(
        "acme",
        "https://acme.example.run",
        WorkspaceStatus::Ready,
        "acme-key",
        allow_private,
    )
    .unwrap();
    (r, audit)
}

#[test]
fn resolver_answers_that_point_inside_are_refused() {
    for answer in [
        "127.0.0.1",
        "169.254.169.254",
        "::ffff:a9fe:a9fe",
        "64:ff9b::a9fe:a9fe",
        "10.0.0.1",
    ] {
        let (r, audit) = router(&[answer]);
        let err = r.resolve("acme::t1", ProxyRoute::Status, "c1").unwrap_err();
        assert_eq!(err.code_str(), "proxy_target_invalid", "{answer}");
        let events = audit.events();
        assert_eq!(events.last().unwrap().action, "proxy_target_rejected");
        assert_eq!(events.last().unwrap().target, "acme");
    }
    // One bad answer among good ones poisons the whole set (no partial trust).
    let (r, _) = router(&["93.184.216.34", "127.0.0.1"]);
    assert!(r.resolve("acme::t1", ProxyRoute::Status, "c").is_err());
    let (r, _) = router(&["93.184.216.34"]);
    let t = r.resolve("acme::t1", ProxyRoute::Results, "c").unwrap();
    assert_eq!(t.url, "https://acme.example.run/results/t1");
    assert_eq!(t.addresses[0].to_string(), "93.184.216.34:443");
    assert_eq!(t.credential_ref(), "acme-key");
}

#[test]
fn hostile_ids_never_reach_resolution_and_are_audited() {
    let (r, audit) = router(&["93.184.216.34"]);
    for id in [
        "evil.example%23::x",
        "acme::../admin",
        "acme::a/b",
        "nobody::t1",
    ] {
        assert!(r.resolve(id, ProxyRoute::Status, "c").is_err(), "{id}");
    }
    // The fixture's registration is audited first; the rejections follow.
    let actions: Vec<_> = audit
        .events()
        .into_iter()
        .filter(|e| e.action != "account_register")
        .map(|e| (e.action, e.target))
        .collect();
    assert_eq!(
        actions[..3]
            .iter()
            .map(|(a, _)| a.as_str())
            .collect::<Vec<_>>(),
        ["proxy_target_rejected"; 3]
    );
    assert_eq!(
        actions[3],
        ("task_not_found".to_owned(), "nobody".to_owned())
    );
    r.set_status("acme", WorkspaceStatus::Disabled).unwrap();
    assert_eq!(
        r.resolve("acme::t1", ProxyRoute::Status, "c")
            .unwrap_err()
            .code_str(),
        "task_not_found"
    );
    assert!(r.ready().unwrap().is_empty());
}

#[test]
fn the_final_origin_check_rejects_every_way_out_of_the_authority() {
    use inferwarden::routing::{TargetPolicy, TargetUrl};
    let policy = TargetPolicy {
        allow_http: true,
        allow_ip_literal: true,
        host_suffixes: Vec::new(),
    };
    let base = TargetUrl::parse("https://a.example.run:8443/api", &policy).unwrap();
    assert!(base.same_origin("https://a.example.run:8443/api/status/t1"));
    assert!(base.same_origin("https://a.example.run:8443"));
    for other in [
        "https://a.example.run/api/status/t1",
        "https://a.example.run:443/x",
        "https://a.example.run:8443@evil.example/x",
        "https://evil.example\\@a.example.run:8443/x",
        "https://a.example.run.evil.example:8443/x",
        "http://a.example.run:8443/x",
        "https://A.example.run:8443/x",
        "https://a.example.run:08443/x",
        "https://a.example.run:8443%2F@evil/x",
        "https://a.example.run :8443/x",
        "https:/a.example.run:8443/x",
    ] {
        assert!(!base.same_origin(other), "{other}");
    }
    let v6 = TargetUrl::parse("http://[::1]:9000", &policy).unwrap();
    assert!(v6.same_origin("http://[::1]:9000/status/x"));
    assert!(!v6.same_origin("http://[::1]/status/x"));
    assert!(!v6.same_origin("http://[::2]:9000/status/x"));
    assert_eq!(v6.host_ip(), Some("::1".parse().unwrap()));
    assert_eq!(base.host_ip(), None);
    let dead = TargetUrl::parse("https://dead.beef.example:1", &policy).unwrap();
    assert_eq!(
        dead.host_ip(),
        None,
        "hex-looking labels are still a DNS name"
    );
}

#[test]
fn metadata_addresses_stay_forbidden_even_for_an_entry_allowing_private_ones() {
    for answer in [
        "169.254.169.254",
        "100.100.100.200",
        "fd00:ec2::254",
        "::ffff:169.254.169.254",
        "::169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b:1::a9fe:a9fe",
        "2002:a9fe:a9fe::1",
        "::ffff:100.100.100.200",
    ] {
        let (r, _) = router_with(&[answer], true);
        let err = r.resolve("acme::t1", ProxyRoute::Status, "c").unwrap_err();
        assert_eq!(err.code_str(), "proxy_target_invalid", "{answer}");
        assert_eq!(
            err.metadata()
                .and_then(|m| m.get("rule"))
                .and_then(|v| v.as_str()),
            Some("metadata"),
            "{answer}"
        );
    }
    // Private and loopback addresses are what allow_private is for.
    for answer in ["127.0.0.1", "10.0.0.7", "::1"] {
        let (r, _) = router_with(&[answer], true);
        assert!(
            r.resolve("acme::t1", ProxyRoute::Status, "c").is_ok(),
            "{answer}"
        );
    }
    // Without it, the refusal names the option that allows it.
    let (r, _) = router(&["10.0.0.7"]);
    let err = r.resolve("acme::t1", ProxyRoute::Status, "c").unwrap_err();
    assert!(
        err.detail().contains("allow_private = true"),
        "{}",
        err.detail()
    );
}

#[test]
fn a_refused_registration_gives_registration_advice() {
    let (r, _) = router(&["93.184.216.34"]);
    let e = r
        .register(
            "beta",
            "https://beta.not-allowed.example",
            WorkspaceStatus::Ready,
            "beta-key",
            false,
        )
        .unwrap_err();
    assert_eq!(e.code_str(), "proxy_target_invalid");
    assert!(
        e.user_action().contains("allowed_host_suffixes"),
        "{}",
        e.user_action()
    );
    assert!(!e.user_action().contains("task id"), "{}", e.user_action());
}

#[test]
fn a_deployment_on_a_private_network_allows_private_workers_but_never_metadata() {
    // Registered without the per-entry option.
    let build =
        |private_networks: bool, answer: &str| router_on(&[answer], false, private_networks).0;
    for answer in ["10.0.0.7", "192.168.1.20", "127.0.0.1", "fd12::1"] {
        let r = build(true, answer);
        assert!(
            r.resolve("acme::t1", ProxyRoute::Status, "c").is_ok(),
            "{answer}"
        );
        assert!(
            r.resolve_workspace("acme", ProxyRoute::Generate, "c")
                .is_ok(),
            "{answer}"
        );
        let r = build(false, answer);
        let e = r.resolve("acme::t1", ProxyRoute::Status, "c").unwrap_err();
        assert!(
            e.detail().contains("proxy.allow_private_networks"),
            "{}",
            e.detail()
        );
        assert_eq!(e.metadata().unwrap()["option"], "allow_private");
    }
    for answer in ["169.254.169.254", "fd00:ec2::254", "100.100.100.200"] {
        let e = build(true, answer)
            .resolve("acme::t1", ProxyRoute::Status, "c")
            .unwrap_err();
        assert_eq!(e.metadata().unwrap()["rule"], "metadata", "{answer}");
    }
}
