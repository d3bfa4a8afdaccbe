//! One contract for every workspace registry (memory, SQLite, PostgreSQL): register,
//! replace, status changes, the ready list, validation when rows are read back, and accounts
//! declared in the configuration.

#[path = "support/services.rs"]
mod services;

use std::sync::Arc;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::SystemClock;
use inferwarden::config::{PolicyConfig, WorkspaceConfig};
use inferwarden::routing::{
    open_registry, ProxyRoute, Router, StaticResolver, TargetPolicy, WorkspaceEntry,
    WorkspaceRegistry, WorkspaceStatus,
};

fn policy() -> TargetPolicy {
    TargetPolicy {
        allow_http: false,
        allow_ip_literal: false,
        host_suffixes: vec!["example.run".into()],
    }
}

fn entry(name: &str, url: &str, status: WorkspaceStatus) -> WorkspaceEntry {
    WorkspaceEntry::validated(name, url, status, "key-ref", &policy(), false).unwrap()
}

fn contract(reg: Arc<dyn WorkspaceRegistry>) {
    assert!(reg.get("ws-a").unwrap().is_none());
    reg.upsert(entry(
        "ws-a",
        "https://a.example.run/api",
        WorkspaceStatus::Ready,
    ))
    .unwrap();
    reg.upsert(entry(
        "ws-b",
        "https://b.example.run:8443",
        WorkspaceStatus::Pending,
    ))
    .unwrap();
    let a = reg.get("ws-a").unwrap().unwrap();
    assert_eq!(a.base_url.base_url(), "https://a.example.run/api");
    assert_eq!(
        (a.status, a.credential_ref.as_str()),
        (WorkspaceStatus::Ready, "key-ref")
    );
    let b = reg.get("ws-b").unwrap().unwrap();
    assert_eq!(b.base_url.port, Some(8443));
    let ready: Vec<_> = reg
        .ready()
        .unwrap()
        .iter()
        .map(|e| e.workspace.clone())
        .collect();
    assert_eq!(ready, ["ws-a"]);
    reg.set_status("ws-b", WorkspaceStatus::Ready).unwrap();
    assert_eq!(reg.ready().unwrap().len(), 2);
    reg.set_status("ws-a", WorkspaceStatus::Disabled).unwrap();
    assert_eq!(reg.ready().unwrap().len(), 1);
    assert_eq!(
        reg.set_status("ws-zzz", WorkspaceStatus::Ready)
            .unwrap_err()
            .code_str(),
        "task_not_found"
    );
    // Replacing keeps one entry per workspace.
    reg.upsert(entry(
        "ws-a",
        "https://a2.example.run",
        WorkspaceStatus::Ready,
    ))
    .unwrap();
    assert_eq!(
        reg.get("ws-a").unwrap().unwrap().base_url.host,
        "a2.example.run"
    );
    assert_eq!(reg.ready().unwrap().len(), 2);
}

#[test]
fn memory_registry() {
    contract(open_registry("memory", &policy()).unwrap());
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_registry_persists_and_revalidates_rows() {
    let dir = std::env::temp_dir().join(format!("inferwarden-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("registry.db");
    let _ = std::fs::remove_file(&path);
    let url = format!("sqlite:{}", path.display());
    contract(open_registry(&url, &policy()).unwrap());
    let reopened = open_registry(&url, &policy()).unwrap();
    assert_eq!(reopened.ready().unwrap().len(), 2, "durable");
    // A row edited by hand to point elsewhere is refused when read, never trusted.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE inferwarden_workspaces SET base_url = 'https://evil.example.com' WHERE workspace = 'ws-a'",
        [],
    )
    .unwrap();
    let err = reopened.get("ws-a").unwrap_err();
    assert_eq!(err.code_str(), "proxy_target_invalid");
    assert_eq!(err.metadata().unwrap()["rule"], "host_not_allowed");
    assert_eq!(
        reopened.ready().unwrap().len(),
        1,
        "left out of the fan-out"
    );
    // A tightened policy applies to rows written under the old one.
    let strict = TargetPolicy {
        host_suffixes: vec!["other.run".into()],
        ..policy()
    };
    let strict_reg = open_registry(&url, &strict).unwrap();
    assert!(strict_reg.get("ws-b").is_err());
    assert!(strict_reg.ready().unwrap().is_empty());
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_registry() {
    let Some(url) = services::postgres_url() else {
        return;
    };
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute("DROP TABLE IF EXISTS inferwarden_workspaces")
        .unwrap();
    contract(open_registry(&url, &policy()).unwrap());
    client
        .execute(
            "UPDATE inferwarden_workspaces SET base_url = 'http://b.example.run' WHERE workspace = 'ws-b'",
            &[],
        )
        .unwrap();
    let reg = open_registry(&url, &policy()).unwrap();
    assert_eq!(
        reg.get("ws-b").unwrap_err().metadata().unwrap()["rule"],
        "scheme"
    );
    // The server ends the registry's connections: it reopens them on next use.
    let sep = if url.contains('?') { '&' } else { '?' };
    let named = open_registry(
        &format!("{url}{sep}application_name=iw_registry_reconnect"),
        &policy(),
    )
    .unwrap();
    assert!(named.ready().is_ok());
    let ended = client
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'iw_registry_reconnect'",
            &[],
        )
        .unwrap();
    assert!(ended >= 1);
    let reg = named;
    assert!(reg.ready().is_ok(), "the registry did not reconnect");
}

#[test]
fn unknown_registry_urls_are_config_invalid() {
    for url in ["redis://x", "mysql://x", "allow-all", ""] {
        let err = open_registry(url, &policy()).unwrap_err();
        assert_eq!(err.code_str(), "config_invalid", "{url}");
    }
}

#[test]
fn configured_workspaces_are_validated_and_registered() {
    let mut c = PolicyConfig::default();
    c.proxy.allowed_host_suffixes = vec!["example.run".into()];
    c.proxy.workspaces = vec![
        WorkspaceConfig {
            workspace: "ws-a".into(),
            base_url: "https://a.example.run".into(),
            status: "ready".into(),
            credential_ref: "default".into(),
            allow_private: false,
        },
        WorkspaceConfig {
            workspace: "ws-b".into(),
            base_url: "https://b.example.run".into(),
            status: "disabled".into(),
            credential_ref: "b-key".into(),
            allow_private: false,
        },
    ];
    assert!(c.validate().errors.is_empty(), "{:?}", c.validate().errors);
    let resolver =
        StaticResolver::default().with("a.example.run", &["93.184.215.14".parse().unwrap()]);
    let audit = Arc::new(MemoryAuditSink::new());
    let router = Router::new(&c, Arc::new(resolver), audit.clone(), Arc::new(SystemClock)).unwrap();
    let t = router
        .resolve("ws-a::t1", ProxyRoute::Results, "c")
        .unwrap();
    assert_eq!(t.url, "https://a.example.run/results/t1");
    assert_eq!(
        router
            .resolve("ws-b::t1", ProxyRoute::Status, "c")
            .unwrap_err()
            .code_str(),
        "task_not_found"
    );
    let g = router
        .resolve_workspace("ws-a", ProxyRoute::Gallery, "c")
        .unwrap();
    assert_eq!(g.url, "https://a.example.run/gallery");
    assert_eq!(
        router
            .resolve_workspace("ws-a", ProxyRoute::Status, "c")
            .unwrap_err()
            .code_str(),
        "validation_error"
    );

    c.proxy.workspaces.push(WorkspaceConfig {
        workspace: "ws-a".into(),
        base_url: "https://evil.example.com?x#y".into(),
        status: "ready".into(),
        credential_ref: "default".into(),
        allow_private: false,
    });
    c.proxy.workspaces.push(WorkspaceConfig {
        workspace: "Bad".into(),
        base_url: "https://c.example.run".into(),
        status: "sleeping".into(),
        credential_ref: "default".into(),
        allow_private: false,
    });
    c.proxy.registry = "redis://nope".into();
    let fields: Vec<_> = c
        .validate()
        .errors
        .iter()
        .map(|e| e.field.clone())
        .collect();
    assert!(
        fields.contains(&"proxy.workspaces[2]".to_owned()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"proxy.workspaces[3]".to_owned()),
        "{fields:?}"
    );
    assert!(fields.contains(&"proxy.registry".to_owned()), "{fields:?}");
}
