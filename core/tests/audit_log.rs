//! Tests for the durable audit log on SQLite (`audit/log.rs`, `audit/sqlite_store.rs`,
//! `audit/verify.rs`): the tamper matrix over 10,000 records, the guards, group commit from
//! threads and from 4 processes, a process killed mid-append, proofs, retention, identifier
//! hashing, fail-closed appends, and no secret in any stored byte. Child bodies are
//! `#[ignore]`d tests their parents run with `--ignored --exact`.
#![cfg(feature = "sqlite")]

#[path = "support/audit_lab.rs"]
mod audit_lab;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use audit_lab::{event, log_over, seed, Dialect, Lab, RawSql, N, T0, TEST_SIGNER};
use inferwarden::audit::merkle::verify_inclusion;
use inferwarden::audit::record::parse_hash_hex;
use inferwarden::audit::{
    AuditLog, AuditLogSettings, AuditQuery, AuditSink, AuditStore, IdentifierHasher, NoteSigner,
    SqliteAuditStore, VerifyOptions, HMAC_PREFIX, MAX_FIELD_BYTES, TILE_RECORDS,
};
use inferwarden::clock::ManualClock;
use inferwarden::ErrorCode;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("iw-audit-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct SqliteLab(PathBuf);

impl Lab for SqliteLab {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn fresh(&self, case: &str) -> (Arc<dyn AuditStore>, RawSql) {
        let path = self.0.join(format!("{case}.db"));
        let store = Arc::new(SqliteAuditStore::open(&path).unwrap());
        let exec = move |sql: &str| {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(sql).unwrap();
        };
        (store, Box::new(exec))
    }
}

#[test]
fn tamper_matrix_sqlite() {
    let dir = temp_dir("matrix");
    audit_lab::run_matrix(&SqliteLab(dir.clone()));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn guards_refuse_updates_deletes_and_gaps() {
    let dir = temp_dir("guards");
    let path = dir.join("log.db");
    let store = SqliteAuditStore::open(&path).unwrap();
    seed(&store, 300, |_, e| e);
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE iw_audit_log SET actor = 'x' WHERE seq = 3",
        "DELETE FROM iw_audit_log WHERE seq = 3",
        "DELETE FROM iw_audit_log",
        "INSERT INTO iw_audit_log SELECT 400, timestamp_ms, actor, source, action, target, outcome, correlation_id, details, prev_hash, hash FROM iw_audit_log WHERE seq = 1",
        "UPDATE iw_audit_meta SET pruned_below = 0, anchor = x'00'",
        "DELETE FROM iw_audit_meta",
        "UPDATE iw_audit_tiles SET hash = x'00'",
        "DELETE FROM iw_audit_tiles",
    ] {
        let err = conn.execute_batch(sql).unwrap_err().to_string();
        assert!(err.contains("invalid_transition"), "{sql}: {err}");
    }
    assert_eq!(store.meta().unwrap().size, 300);
    // One tile of 256 was written with the records that completed it.
    assert_eq!(store.tiles(8, 0, 10).unwrap().len(), 1);
}

#[test]
fn group_commit_from_threads_is_contiguous_and_verifies() {
    let dir = temp_dir("threads");
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(dir.join("log.db")).unwrap());
    let log = Arc::new(log_over(store.clone()));
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let log = log.clone();
            std::thread::spawn(move || {
                (0..500)
                    .map(|i| log.append(event(t * 1000 + i)).unwrap())
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..4000).collect::<Vec<_>>());
    let report = log.verify(&VerifyOptions::default()).unwrap();
    assert!(report.intact, "{report:?}");
    assert_eq!(report.size, 4000);
}

#[test]
fn proofs_verify_against_checkpoints() {
    let dir = temp_dir("proofs");
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(dir.join("log.db")).unwrap());
    seed(store.as_ref(), 70_000, |_, e| e);
    let log = log_over(store.clone());
    let first = log.checkpoint().unwrap();
    seed(store.as_ref(), 1234, |i, _| event(i + 70_000));
    let second = log.checkpoint().unwrap();
    let verifier = NoteSigner::parse(TEST_SIGNER).unwrap().verifier();
    let c1 = verifier.open(&first).unwrap();
    let c2 = verifier.open(&second).unwrap();
    assert_eq!((c1.size, c2.size), (70_000, 71_234));
    // The tiles (levels 8 and 16) give the same head as folding every record.
    let report = log.verify(&VerifyOptions::default()).unwrap();
    assert!(report.intact, "{report:?}");
    assert_eq!(report.root, inferwarden::audit::record::hex(&c2.root));
    assert_eq!(store.tiles(16, 0, 10).unwrap().len(), 1);
    for seq in [0, 1, 255, 256, 65_535, 65_536, 69_999, 70_000, 71_233] {
        let p = log.prove(seq, None).unwrap();
        let path: Vec<_> = p.path.iter().map(|h| parse_hash_hex(h).unwrap()).collect();
        let leaf = parse_hash_hex(&p.leaf_hash).unwrap();
        assert!(
            verify_inclusion(&leaf, seq, c2.size, &path, &c2.root),
            "seq {seq}"
        );
        if seq < c1.size {
            let p = log.prove(seq, Some(c1.size)).unwrap();
            let path: Vec<_> = p.path.iter().map(|h| parse_hash_hex(h).unwrap()).collect();
            assert!(verify_inclusion(&leaf, seq, c1.size, &path, &c1.root));
        }
    }
    let proof: Vec<_> = log
        .prove_consistency(c1.size, c2.size)
        .unwrap()
        .iter()
        .map(|h| parse_hash_hex(h).unwrap())
        .collect();
    assert!(inferwarden::audit::merkle::verify_consistency(
        c1.size, c2.size, &c1.root, &c2.root, &proof
    ));
    assert_eq!(
        log.prove(71_234, None).unwrap_err().code(),
        ErrorCode::ValidationError
    );
}

#[test]
fn retention_prunes_at_a_tile_boundary_and_still_verifies() {
    let dir = temp_dir("retention");
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(dir.join("log.db")).unwrap());
    const DAY: i64 = 86_400_000;
    // 1,000 records a day apart in time order ending now: records older than 90 days go.
    let now = T0 + 1000 * DAY;
    let batch: Vec<_> = (0..1000u64)
        .map(|i| {
            let mut e = event(i);
            e.timestamp_ms = T0 + i as i64 * DAY;
            e
        })
        .collect();
    store.append(&batch).unwrap();
    let clock = ManualClock::new(now);
    let settings = |days| AuditLogSettings {
        signer: Some(NoteSigner::parse(TEST_SIGNER).unwrap()),
        retention_days: days,
        ..AuditLogSettings::default()
    };
    assert_eq!(
        AuditLog::new(store.clone(), settings(89), Arc::new(clock.clone()))
            .unwrap_err()
            .code(),
        ErrorCode::ConfigInvalid
    );
    let log = AuditLog::new(store.clone(), settings(90), Arc::new(clock.clone())).unwrap();
    let report = log.prune().unwrap();
    // The first record within 90 days is 910; the cut is the tile boundary below it.
    assert_eq!(report.cut, 768);
    assert_eq!(report.deleted, 768);
    assert!(report.checkpoint.is_some());
    let meta = store.meta().unwrap();
    assert_eq!((meta.pruned_below, meta.size), (768, 1001));
    let last = store.record(1000).unwrap().unwrap();
    assert_eq!(last.action, "audit_prune");
    let verified = log.verify(&VerifyOptions::default()).unwrap();
    assert!(verified.intact, "{verified:?}");
    assert_eq!(verified.first_seq, 768);
    // The checkpoint written before the cut still matches the recomputed tree.
    assert!(verified.checkpoints_checked >= 1);
    // Proofs for kept records still work; pruned ones are refused.
    assert!(log.prove(900, None).is_ok());
    assert!(log.prove(10, None).is_err());
    // Retention never deletes a record within the window, even through raw SQL.
    let conn = rusqlite::Connection::open(dir.join("log.db")).unwrap();
    let err = conn
        .execute("DELETE FROM iw_audit_log WHERE seq = 800", [])
        .unwrap_err();
    assert!(err.to_string().contains("invalid_transition"));
    // A second prune with nothing old enough does nothing.
    assert_eq!(log.prune().unwrap().deleted, 0);
    // A tampered record after the cut is still found.
    conn.execute_batch(
        "DROP TRIGGER iw_audit_log_no_update; UPDATE iw_audit_log SET actor = 'x' WHERE seq = 770;",
    )
    .unwrap();
    let t = log
        .verify(&VerifyOptions::default())
        .unwrap()
        .tamper
        .unwrap();
    assert_eq!((t.kind.as_str(), t.seq), ("edited", 770));
}

#[test]
fn identifiers_are_stored_as_keyed_hmac_and_searchable() {
    let dir = temp_dir("hmac");
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(dir.join("log.db")).unwrap());
    let fields = vec!["actor".to_owned(), "details.client_ip".to_owned()];
    assert!(IdentifierHasher::new(b"short", &fields).is_err());
    assert!(IdentifierHasher::new(&[7u8; 32], &["details.".to_owned()]).is_err());
    let hasher = IdentifierHasher::new(&[7u8; 32], &fields).unwrap();
    let log = AuditLog::new(
        store.clone(),
        AuditLogSettings {
            hasher: Some(hasher),
            ..AuditLogSettings::default()
        },
        Arc::new(ManualClock::new(T0)),
    )
    .unwrap();
    log.append(
        event(1)
            .detail("client_ip", "203.0.113.9")
            .detail("route", "/x"),
    )
    .unwrap();
    let stored = store.record(0).unwrap().unwrap();
    let h = log.hasher().unwrap();
    assert_eq!(stored.actor, h.hash("user-1"));
    assert!(stored.actor.starts_with(HMAC_PREFIX));
    assert!(stored.details.contains(&h.hash("203.0.113.9")));
    assert!(!stored.details.contains("203.0.113.9"));
    assert!(stored.details.contains("/x"));
    let found = log
        .query(&AuditQuery {
            actor: Some(h.hash("user-1")),
            ..AuditQuery::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_ne!(
        IdentifierHasher::new(&[8u8; 32], &fields)
            .unwrap()
            .hash("user-1"),
        h.hash("user-1"),
        "another key gives another value"
    );
}

#[test]
fn long_fields_are_capped_before_they_are_stored() {
    let dir = temp_dir("caps");
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(dir.join("log.db")).unwrap());
    let log = log_over(store.clone());
    let huge = "é".repeat(100_000);
    let mut e = event(1).detail("path", huge.as_str());
    e.target = huge.clone();
    let e = e.validated().unwrap();
    let mut many = e.clone();
    for i in 0..100 {
        many = many.detail(&format!("k{i}"), i);
    }
    log.append(many).unwrap();
    let r = store.record(0).unwrap().unwrap();
    assert!(r.target.len() <= MAX_FIELD_BYTES, "{}", r.target.len());
    assert!(r.details.len() < 40_000, "{}", r.details.len());
    assert!(r.details.contains("details_dropped"));
}

#[derive(Debug)]
struct DownStore;

impl AuditStore for DownStore {
    fn append(
        &self,
        _: &[inferwarden::audit::AuditEvent],
    ) -> Result<Vec<inferwarden::audit::AuditRecord>, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn meta(&self) -> Result<inferwarden::audit::AuditMeta, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn count(&self) -> Result<u64, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn records(
        &self,
        _: i64,
        _: usize,
    ) -> Result<Vec<inferwarden::audit::AuditRecord>, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn record(
        &self,
        _: i64,
    ) -> Result<Option<inferwarden::audit::AuditRecord>, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn leaf_hashes(&self, _: u64, _: u64) -> Result<Vec<[u8; 32]>, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn tiles(&self, _: u32, _: u64, _: u64) -> Result<Vec<(u64, [u8; 32])>, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn save_checkpoint(&self, _: u64, _: &str) -> Result<(), inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn checkpoints(&self) -> Result<Vec<(u64, String)>, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn prune(&self, _: u64) -> Result<u64, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
    fn query(
        &self,
        _: &AuditQuery,
    ) -> Result<Vec<inferwarden::audit::AuditRecord>, inferwarden::Error> {
        Err(inferwarden::Error::new(ErrorCode::DependencyUnavailable))
    }
}

#[test]
fn a_locked_or_missing_store_fails_closed() {
    let dir = temp_dir("outage");
    let path = dir.join("log.db");
    let store: Arc<dyn AuditStore> = Arc::new(
        SqliteAuditStore::open_with_busy_timeout(&path, Duration::from_millis(50)).unwrap(),
    );
    let log = log_over(store);
    log.append(event(0)).unwrap();
    // Another process holds the write lock: the append is refused, never half written.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let err = log.append(event(1)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DependencyUnavailable);
    assert_eq!(
        log.record(event(1)).unwrap_err().code(),
        ErrorCode::DependencyUnavailable
    );
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(log.append(event(2)).unwrap(), 1);
    assert!(log.verify(&VerifyOptions::default()).unwrap().intact);

    let down = log_over(Arc::new(DownStore));
    assert_eq!(
        down.append(event(0)).unwrap_err().code(),
        ErrorCode::DependencyUnavailable
    );
    assert!(down.checkpoint().is_err());
}

fn child_path() -> Option<PathBuf> {
    std::env::var_os("IW_AUDIT_CHILD_DB").map(PathBuf::from)
}

/// Child body: 1,000 appends through its own log.
#[test]
#[ignore]
fn child_appender() {
    let Some(path) = child_path() else { return };
    audit_lab::child_appends(Arc::new(SqliteAuditStore::open(&path).unwrap()));
}

/// Child body: appends batches until killed.
#[test]
#[ignore]
fn child_endless_appender() {
    let Some(path) = child_path() else { return };
    audit_lab::child_appends_forever(&SqliteAuditStore::open(&path).unwrap());
}

fn child<'a>(test: &'static str, path: &'a Path) -> impl Fn() -> std::process::Child + 'a {
    move || audit_lab::spawn_child(test, ("IW_AUDIT_CHILD_DB", path.to_str().unwrap()))
}

fn opener(path: &Path) -> impl Fn() -> Arc<dyn AuditStore> + '_ {
    move || Arc::new(SqliteAuditStore::open(path).unwrap())
}

#[test]
fn four_processes_append_one_contiguous_chain() {
    let dir = temp_dir("procs");
    let path = dir.join("log.db");
    SqliteAuditStore::open(&path).unwrap();
    audit_lab::four_appenders(child("child_appender", &path), opener(&path));
}

#[test]
fn a_process_killed_mid_append_leaves_a_log_that_verifies() {
    let dir = temp_dir("kill");
    let path = dir.join("log.db");
    SqliteAuditStore::open(&path).unwrap();
    audit_lab::killed_appenders(child("child_endless_appender", &path), opener(&path));
}

#[test]
fn no_secret_reaches_any_stored_byte() {
    use inferwarden::config::PolicyConfig;
    use inferwarden::gate::{Gate, RequestView};
    use inferwarden::secret::Secret;
    const API: &str = "canary-api-key-77aa88bb99cc00dd11ee";
    const ADMIN: &str = "canary-admin-key-1234567890abcdef1234";
    let dir = temp_dir("canary");
    let path = dir.join("log.db");
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(&path).unwrap());
    let log = Arc::new(log_over(store));
    let mut config = PolicyConfig::default();
    config.auth.api_keys = vec![Secret::new(API)];
    config.auth.admin_key = Some(Secret::new(ADMIN));
    config.cors.frontend_origins = vec!["https://app.example.com".into()];
    let sink: Arc<dyn AuditSink> = log.clone();
    let gate = Gate::builder(config).audit_sink(sink).build().unwrap();
    let near = format!("{API}x");
    let requests = [
        RequestView::new("GET", "/status/t").header("X-API-Key", &near),
        RequestView::new("GET", "/status/t").query_param("api_key", &near),
        RequestView::new("GET", "/status/t").header("Cookie", &format!("gg_session={API}")),
        RequestView::new("POST", "/admin/session").header("x-admin-key", &format!("{ADMIN}0")),
        RequestView::new("POST", "/admin/session").header("x-admin-key", ADMIN),
        RequestView::new("POST", "/admin/session").query_param("admin_key", ADMIN),
        RequestView::new("GET", "/admin/x").header("x-admin-key", ADMIN),
        RequestView::new("GET", "/status/t")
            .header("Origin", "https://evil.example")
            .header("X-API-Key", API),
    ];
    for _ in 0..12 {
        for r in &requests {
            gate.decide(r);
        }
    }
    let size = log.store().meta().unwrap().size;
    assert!(size > 20, "events were recorded: {size}");
    drop(gate);
    drop(log);
    for file in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for secret in [API, ADMIN, near.as_str()] {
            assert!(
                !text.contains(secret),
                "a secret reached the audit database"
            );
        }
    }
}

#[test]
fn verify_reports_progress_on_large_logs() {
    let dir = temp_dir("progress");
    let store: Arc<dyn AuditStore> = Arc::new(SqliteAuditStore::open(dir.join("log.db")).unwrap());
    seed(store.as_ref(), N + 5, |_, e| e);
    let seen = std::sync::Mutex::new(Vec::new());
    let progress = |done: u64, total: u64| seen.lock().unwrap().push((done, total));
    let report = log_over(store)
        .verify(&VerifyOptions {
            progress: Some(&progress),
            ..VerifyOptions::default()
        })
        .unwrap();
    assert!(report.intact);
    // Every full page, then where the walk ended (the last page is partial).
    assert_eq!(*seen.lock().unwrap(), vec![(10_000, N + 5), (N + 5, N + 5)]);
    assert_eq!(TILE_RECORDS, 256);
}
