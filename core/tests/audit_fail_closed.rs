//! Fail closed: with the durable audit log over a store that cannot write, every component
//! that audits refuses the audited action with `dependency_unavailable` and changes nothing
//! (gate, router, registry, lifecycle, sweep).
#![cfg(feature = "sqlite")]

use std::sync::Arc;

use inferwarden::audit::{
    AuditEvent, AuditLog, AuditLogSettings, AuditMeta, AuditQuery, AuditRecord, AuditSink,
    AuditStore,
};
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::gate::{Gate, RequestView};
use inferwarden::lifecycle::{Lifecycle, SqliteTaskStore, TaskStatus, TaskStore, TimeSource};
use inferwarden::routing::{MemoryRegistry, Router, StaticResolver, WorkspaceStatus};
use inferwarden::{Error, ErrorCode};

/// A store whose every call fails as an unreachable database does.
#[derive(Debug)]
struct Unreachable;

fn down<T>() -> Result<T, Error> {
    Err(Error::with_detail(
        ErrorCode::DependencyUnavailable,
        "audit store unreachable",
    ))
}

impl AuditStore for Unreachable {
    fn append(&self, _: &[AuditEvent]) -> Result<Vec<AuditRecord>, Error> {
        down()
    }
    fn meta(&self) -> Result<AuditMeta, Error> {
        down()
    }
    fn count(&self) -> Result<u64, Error> {
        down()
    }
    fn records(&self, _: i64, _: usize) -> Result<Vec<AuditRecord>, Error> {
        down()
    }
    fn record(&self, _: i64) -> Result<Option<AuditRecord>, Error> {
        down()
    }
    fn leaf_hashes(&self, _: u64, _: u64) -> Result<Vec<[u8; 32]>, Error> {
        down()
    }
    fn tiles(&self, _: u32, _: u64, _: u64) -> Result<Vec<(u64, [u8; 32])>, Error> {
        down()
    }
    fn save_checkpoint(&self, _: u64, _: &str) -> Result<(), Error> {
        down()
    }
    fn checkpoints(&self) -> Result<Vec<(u64, String)>, Error> {
        down()
    }
    fn prune(&self, _: u64) -> Result<u64, Error> {
        down()
    }
    fn query(&self, _: &AuditQuery) -> Result<Vec<AuditRecord>, Error> {
        down()
    }
}

fn broken_log() -> Arc<AuditLog> {
    Arc::new(
        AuditLog::new(
            Arc::new(Unreachable),
            AuditLogSettings::default(),
            Arc::new(ManualClock::new(1_800_000_000_000)),
        )
        .unwrap(),
    )
}

#[test]
fn the_gate_refuses_audited_requests() {
    let mut config = PolicyConfig::default();
    config.cors.frontend_origins = vec!["https://app.example.com".into()];
    config.auth.admin_key = Some(inferwarden::secret::Secret::new(
        "an-admin-key-long-enough-0123456789",
    ));
    let log = broken_log();
    let sink: Arc<dyn AuditSink> = log.clone();
    let gate = Gate::builder(config).audit_sink(sink).build().unwrap();
    for req in [
        RequestView::new("GET", "/status/t").header("Origin", "https://evil.example"),
        RequestView::new("POST", "/admin/session").header("x-admin-key", "wrong"),
        RequestView::new("POST", "/admin/session")
            .header("x-admin-key", "an-admin-key-long-enough-0123456789"),
    ] {
        let d = gate.decide(&req);
        assert_eq!(
            d.error().map(Error::code),
            Some(ErrorCode::DependencyUnavailable),
            "{req:?}"
        );
    }
}

#[test]
fn the_registry_changes_nothing_it_cannot_audit() {
    let log = broken_log();
    let registry = Arc::new(MemoryRegistry::default());
    let router = Router::with_registry(
        &PolicyConfig::default(),
        registry.clone(),
        Arc::new(StaticResolver::default()),
        log,
        Arc::new(ManualClock::new(0)),
    )
    .unwrap();
    let err = router
        .register(
            "acme",
            "https://acme.example.com/",
            WorkspaceStatus::Ready,
            "default",
            false,
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DependencyUnavailable);
    assert!(router.ready().unwrap().is_empty(), "nothing was registered");
    let err = router
        .set_status("acme", WorkspaceStatus::Disabled)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DependencyUnavailable);
    // A rejected target is refused as unavailable too (its rejection could not be recorded).
    let err = router
        .resolve(
            "evil.example%23::x",
            inferwarden::routing::ProxyRoute::Status,
            "c",
        )
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DependencyUnavailable);
}

#[test]
fn the_sweep_and_late_completions_are_refused() {
    let clock = ManualClock::new(1_800_000_000_000);
    let dir = std::env::temp_dir().join(format!("iw-fail-closed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::remove_file(dir.join("tasks.db"));
    let store: Arc<dyn TaskStore> = Arc::new(
        SqliteTaskStore::open(
            dir.join("tasks.db"),
            TimeSource::Injected(Arc::new(clock.clone())),
        )
        .unwrap(),
    );
    let ok = Lifecycle::new(
        store.clone(),
        &PolicyConfig::default(),
        Arc::new(inferwarden::audit::MemoryAuditSink::new()),
        Arc::new(clock.clone()),
    );
    ok.create("t1", "image").unwrap();
    ok.claim("t1", "w").unwrap();
    clock.advance_ms(11 * 60_000);
    let life = Lifecycle::new(
        store.clone(),
        &PolicyConfig::default(),
        broken_log(),
        Arc::new(clock.clone()),
    )
    .with_audit_log(broken_log());
    assert_eq!(
        life.sweep().unwrap_err().code(),
        ErrorCode::DependencyUnavailable
    );
    assert_eq!(
        store.get("t1").unwrap().unwrap().status,
        TaskStatus::Processing,
        "not swept"
    );
    assert_eq!(
        life.maintain_audit().unwrap_err().code(),
        ErrorCode::DependencyUnavailable
    );
}
