//! The durable audit log on a real PostgreSQL (`INFERWARDEN_TEST_POSTGRES_URL`, started by
//! the test command): the tamper matrix over 10,000 records, the guards (TRUNCATE included),
//! 4 processes x 1,000 appends forming one chain, a process killed mid-append, replicas
//! appending concurrently, proofs and retention. Each case has its own schema.
#![cfg(feature = "postgres")]

#[path = "support/audit_lab.rs"]
mod audit_lab;
#[path = "support/services.rs"]
mod services;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use audit_lab::{event, log_over, seed, Dialect, Lab, RawSql};
use inferwarden::audit::{AuditStore, PostgresAuditStore, VerifyOptions};
use services::postgres_url;

/// A URL whose connections use a fresh schema.
fn schema_url(base: &str, name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let schema = format!(
        "iw_audit_{}_{}_{}",
        name.replace('-', "_"),
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let mut c = postgres::Client::connect(base, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
    ))
    .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

struct PgLab(String);

impl Lab for PgLab {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn fresh(&self, case: &str) -> (Arc<dyn AuditStore>, RawSql) {
        let url = schema_url(&self.0, case);
        let store = Arc::new(PostgresAuditStore::connect(&url).unwrap());
        let exec = move |sql: &str| {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute(sql).unwrap();
        };
        (store, Box::new(exec))
    }
}

#[test]
fn tamper_matrix_postgres() {
    let Some(base) = postgres_url() else { return };
    audit_lab::run_matrix(&PgLab(base));
}

#[test]
fn guards_refuse_updates_deletes_truncate_and_gaps() {
    let Some(base) = postgres_url() else { return };
    let url = schema_url(&base, "guards");
    let store = PostgresAuditStore::connect(&url).unwrap();
    // A second connect (another replica starting) migrates nothing twice.
    PostgresAuditStore::connect(&url).unwrap();
    seed(&store, 300, |_, e| e);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for sql in [
        "UPDATE iw_audit_log SET actor = 'x' WHERE seq = 3",
        "DELETE FROM iw_audit_log WHERE seq = 3",
        "TRUNCATE iw_audit_log",
        "INSERT INTO iw_audit_log SELECT 400, timestamp_ms, actor, source, action, target, outcome, correlation_id, details, prev_hash, hash FROM iw_audit_log WHERE seq = 1",
        "UPDATE iw_audit_meta SET pruned_below = 0",
        "DELETE FROM iw_audit_meta",
        "UPDATE iw_audit_tiles SET hash = '\\x00'",
        "DELETE FROM iw_audit_tiles",
        "TRUNCATE iw_audit_checkpoints",
    ] {
        let err = c.batch_execute(sql).unwrap_err();
        let text = err.as_db_error().map(|d| d.message().to_owned()).unwrap_or_default();
        assert!(text.contains("invalid_transition"), "{sql}: {err}");
    }
    assert_eq!(store.meta().unwrap().size, 300);
    let grants = PostgresAuditStore::grant_sql("iw_app");
    assert!(grants.contains("GRANT SELECT, INSERT, DELETE ON iw_audit_log TO \"iw_app\""));
}

#[test]
fn replicas_append_concurrently_into_one_chain() {
    let Some(base) = postgres_url() else { return };
    let url = schema_url(&base, "replicas");
    // Eight "replicas": eight connections, each with its own log and group commit.
    let handles: Vec<_> = (0..8u64)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let store: Arc<dyn AuditStore> =
                    Arc::new(PostgresAuditStore::connect(&url).unwrap());
                let log = log_over(store);
                (0..250)
                    .map(|i| log.append(event(t * 1000 + i)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seqs: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..2000).collect::<Vec<_>>());
    let store: Arc<dyn AuditStore> = Arc::new(PostgresAuditStore::connect(&url).unwrap());
    let log = log_over(store);
    let report = log.verify(&VerifyOptions::default()).unwrap();
    assert!(report.intact, "{report:?}");
    let note = log.checkpoint().unwrap();
    assert!(note.contains("\n2000\n"));
    for seq in [0, 999, 1999] {
        assert!(log.prove(seq, None).is_ok());
    }
}

/// Child body: 1,000 appends through its own connection and log.
#[test]
#[ignore]
fn child_appender_pg() {
    let Ok(url) = std::env::var("IW_AUDIT_CHILD_PG") else {
        return;
    };
    audit_lab::child_appends(Arc::new(PostgresAuditStore::connect(&url).unwrap()));
}

/// Child body: appends batches of 50 until killed.
#[test]
#[ignore]
fn child_endless_appender_pg() {
    let Ok(url) = std::env::var("IW_AUDIT_CHILD_PG") else {
        return;
    };
    audit_lab::child_appends_forever(&PostgresAuditStore::connect(&url).unwrap());
}

fn child<'a>(test: &'static str, url: &'a str) -> impl Fn() -> std::process::Child + 'a {
    move || audit_lab::spawn_child(test, ("IW_AUDIT_CHILD_PG", url))
}

fn opener(url: &str) -> impl Fn() -> Arc<dyn AuditStore> + '_ {
    move || Arc::new(PostgresAuditStore::connect(url).unwrap())
}

#[test]
fn four_processes_append_one_contiguous_chain_pg() {
    let Some(base) = postgres_url() else { return };
    let url = schema_url(&base, "procs");
    PostgresAuditStore::connect(&url).unwrap();
    audit_lab::four_appenders(child("child_appender_pg", &url), opener(&url));
}

#[test]
fn a_process_killed_mid_append_leaves_a_log_that_verifies_pg() {
    let Some(base) = postgres_url() else { return };
    let url = schema_url(&base, "kill");
    PostgresAuditStore::connect(&url).unwrap();
    audit_lab::killed_appenders(child("child_endless_appender_pg", &url), opener(&url));
}

#[test]
fn retention_on_postgres() {
    let Some(base) = postgres_url() else { return };
    let url = schema_url(&base, "retention");
    let store: Arc<dyn AuditStore> = Arc::new(PostgresAuditStore::connect(&url).unwrap());
    const DAY: i64 = 86_400_000;
    let batch: Vec<_> = (0..600u64)
        .map(|i| {
            let mut e = event(i);
            e.timestamp_ms = audit_lab::T0 + i as i64 * DAY;
            e
        })
        .collect();
    store.append(&batch).unwrap();
    let clock = inferwarden::clock::ManualClock::new(audit_lab::T0 + 600 * DAY);
    let log = inferwarden::audit::AuditLog::new(
        store.clone(),
        inferwarden::audit::AuditLogSettings {
            signer: Some(inferwarden::audit::NoteSigner::parse(audit_lab::TEST_SIGNER).unwrap()),
            ..Default::default()
        },
        Arc::new(clock),
    )
    .unwrap();
    let report = log.prune().unwrap();
    // The first record within 90 days is 510; the cut is the tile boundary below it.
    assert_eq!((report.cut, report.deleted), (256, 256));
    let v = log.verify(&VerifyOptions::default()).unwrap();
    assert!(v.intact, "{v:?}");
    assert_eq!((v.first_seq, v.size), (256, 601));
}

/// A replica assumes the tail it last wrote; when another replica appended meanwhile the
/// guard refuses the guess and the batch is retried after reading the tail.
#[test]
fn a_replica_whose_tail_moved_retries_from_the_real_tail() {
    let Some(base) = postgres_url() else { return };
    let url = schema_url(&base, "moved");
    let a = PostgresAuditStore::connect(&url).unwrap();
    let b = PostgresAuditStore::connect(&url).unwrap();
    for round in 0..5u64 {
        let ra = a
            .append(&[event(round * 10), event(round * 10 + 1)])
            .unwrap();
        let rb = b.append(&[event(round * 10 + 2)]).unwrap();
        assert_eq!(ra[0].seq as u64, round * 3);
        assert_eq!(rb[0].seq as u64, round * 3 + 2);
        assert_eq!(rb[0].prev_hash, ra[1].hash);
    }
    let report = log_over(Arc::new(a))
        .verify(&VerifyOptions::default())
        .unwrap();
    assert!(report.intact && report.size == 15, "{report:?}");
}
