//! The audit-log tamper matrix shared by the SQLite and PostgreSQL tests: a 10,000-record
//! log per case, one tampering per case done with raw SQL as someone with database access
//! would (guards switched off first), and the kind and sequence number `verify` must name.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use inferwarden::audit::{
    AuditEvent, AuditFields, AuditLog, AuditLogSettings, AuditRecord, AuditStore, NoteSigner,
    Outcome, TamperKind, VerifyOptions,
};
use inferwarden::clock::ManualClock;

pub const N: u64 = 10_000;
pub const T0: i64 = 1_800_000_000_000;

/// A fixed signer for the tests (`inferwarden audit keygen` makes real ones).
pub const TEST_SIGNER: &str =
    "PRIVATE+KEY+iw-test+da1baee6+AR7rCnQKxyM3R8tIp4frfrh5RuCYmP5boagHqDP9VT6D";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(dead_code)] // each test binary builds one of the two
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Runs raw SQL against one case's database.
pub type RawSql = Box<dyn Fn(&str)>;

/// A place to make fresh logs and run raw SQL against them.
pub trait Lab {
    fn dialect(&self) -> Dialect;
    /// A new, empty store named `case`, and a function running raw SQL on it.
    fn fresh(&self, case: &str) -> (Arc<dyn AuditStore>, RawSql);
}

pub fn event(i: u64) -> AuditEvent {
    let clock = ManualClock::new(T0 + i as i64 * 1000);
    AuditEvent::new(
        AuditFields {
            actor: &format!("user-{}", i % 7),
            source: if i.is_multiple_of(3) {
                "gate"
            } else {
                "router"
            },
            action: if i.is_multiple_of(2) {
                "admin_login"
            } else {
                "proxy_target_rejected"
            },
            target: &format!("/admin/things/{i}"),
            outcome: if i.is_multiple_of(5) {
                Outcome::Denied
            } else {
                Outcome::Success
            },
            correlation_id: &format!("req-{i}"),
        },
        &clock,
    )
    .unwrap()
    .detail("n", i)
    .detail("note", "a \"quoted\" value\nwith a newline and é")
}

pub fn seed(store: &dyn AuditStore, n: u64, tweak: impl Fn(u64, AuditEvent) -> AuditEvent) {
    let mut i = 0;
    while i < n {
        let end = (i + 1000).min(n);
        let batch: Vec<AuditEvent> = (i..end).map(|j| tweak(j, event(j))).collect();
        store.append(&batch).unwrap();
        i = end;
    }
}

pub fn log_over(store: Arc<dyn AuditStore>) -> AuditLog {
    AuditLog::new(
        store,
        AuditLogSettings {
            signer: Some(NoteSigner::parse(TEST_SIGNER).unwrap()),
            ..AuditLogSettings::default()
        },
        Arc::new(ManualClock::new(T0)),
    )
    .unwrap()
}

fn guards_off(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => {
            "DROP TRIGGER iw_audit_log_no_update; DROP TRIGGER iw_audit_log_retention_only;
             DROP TRIGGER iw_audit_log_contiguous; DROP TRIGGER iw_audit_tiles_no_update;
             DROP TRIGGER iw_audit_tiles_no_delete; DROP TRIGGER iw_audit_checkpoints_no_update;
             DROP TRIGGER iw_audit_checkpoints_no_delete;"
        }
        Dialect::Postgres => {
            "ALTER TABLE iw_audit_log DISABLE TRIGGER USER;
             ALTER TABLE iw_audit_tiles DISABLE TRIGGER USER;
             ALTER TABLE iw_audit_checkpoints DISABLE TRIGGER USER;"
        }
    }
}

fn blob(d: Dialect, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match d {
        Dialect::Sqlite => format!("X'{hex}'"),
        Dialect::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

fn insert_sql(d: Dialect, r: &AuditRecord) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    format!(
        "INSERT INTO iw_audit_log (seq, timestamp_ms, actor, source, action, target, outcome, correlation_id, details, prev_hash, hash)
         VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});",
        r.seq,
        r.timestamp_ms,
        q(&r.actor),
        q(&r.source),
        q(&r.action),
        q(&r.target),
        q(&r.outcome),
        q(&r.correlation_id),
        q(&r.details),
        blob(d, &r.prev_hash),
        blob(d, &r.hash)
    )
}

/// Shift every record at or after `from` by `by` (+1 or -1) without a key collision.
fn shift(from: u64, by: i64) -> String {
    format!(
        "UPDATE iw_audit_log SET seq = -seq WHERE seq >= {from};
         UPDATE iw_audit_log SET seq = -seq + ({by}) WHERE seq < 0;"
    )
}

fn swap(a: u64, b: u64) -> String {
    format!(
        "UPDATE iw_audit_log SET seq = -1 WHERE seq = {a};
         UPDATE iw_audit_log SET seq = {a} WHERE seq = {b};
         UPDATE iw_audit_log SET seq = {b} WHERE seq = -1;"
    )
}

fn expect(
    lab: &dyn Lab,
    case: &str,
    sql: &dyn Fn(&dyn AuditStore, Dialect) -> String,
    kind: TamperKind,
    seq: u64,
) {
    let (store, exec) = lab.fresh(case);
    seed(store.as_ref(), N, |_, e| e);
    let log = log_over(store.clone());
    assert!(
        log.verify(&VerifyOptions::default()).unwrap().intact,
        "{case}: fresh log"
    );
    exec(guards_off(lab.dialect()));
    exec(&sql(store.as_ref(), lab.dialect()));
    let report = log.verify(&VerifyOptions::default()).unwrap();
    let tamper = report
        .tamper
        .unwrap_or_else(|| panic!("{case}: tampering not detected"));
    assert!(!report.intact);
    assert_eq!(
        (tamper.kind, tamper.seq),
        (kind, seq),
        "{case}: {}",
        tamper.detail
    );
}

/// Runs every case of the matrix.
pub fn run_matrix(lab: &dyn Lab) {
    use TamperKind::*;
    let k = 4321;
    for (column, set) in [
        ("actor", "actor = 'mallory'"),
        ("source", "source = 'nobody'"),
        ("action", "action = 'admin_logout'"),
        ("target", "target = '/elsewhere'"),
        ("outcome", "outcome = 'failure'"),
        ("correlation_id", "correlation_id = 'req-x'"),
        ("details", "details = '{}'"),
        ("timestamp_ms", "timestamp_ms = timestamp_ms + 1"),
        (
            "prev_hash",
            "prev_hash = (SELECT hash FROM iw_audit_log WHERE seq = 9)",
        ),
        (
            "hash",
            "hash = (SELECT hash FROM iw_audit_log WHERE seq = 9)",
        ),
        ("seq", "seq = 20000"),
        // The largest key a store holds: no arithmetic on a tampered seq may overflow.
        ("seq-max", "seq = 9223372036854775807"),
    ] {
        let sql = format!("UPDATE iw_audit_log SET {set} WHERE seq = {k};");
        expect(
            lab,
            &format!("edit-{column}"),
            &|_, _| sql.clone(),
            Edited,
            k,
        );
    }
    expect(
        lab,
        "edit-rehashed",
        &|store, d| {
            let mut r = store.record(6000).unwrap().unwrap();
            r.actor = "mallory".into();
            r.hash = r.computed_hash_at(6000);
            format!(
                "DELETE FROM iw_audit_log WHERE seq = 6000; {}",
                insert_sql(d, &r)
            )
        },
        Edited,
        6000,
    );
    expect(
        lab,
        "delete",
        &|_, _| "DELETE FROM iw_audit_log WHERE seq = 777;".into(),
        Deleted,
        777,
    );
    expect(
        lab,
        "delete-first",
        &|_, _| "DELETE FROM iw_audit_log WHERE seq = 0;".into(),
        Deleted,
        0,
    );
    expect(
        lab,
        "delete-renumbered",
        &|_, _| {
            format!(
                "DELETE FROM iw_audit_log WHERE seq = 777; {}",
                shift(778, -1)
            )
        },
        Deleted,
        777,
    );
    expect(
        lab,
        "insert-copy",
        &|_, _| {
            format!(
            "{} INSERT INTO iw_audit_log SELECT 5000, timestamp_ms, 'mallory', source, action, target, outcome, correlation_id, details, prev_hash, hash FROM iw_audit_log WHERE seq = 5001;",
            shift(5000, 1)
        )
        },
        Inserted,
        5000,
    );
    expect(
        lab,
        "insert-forged-valid",
        &|store, d| {
            let prev = store.record(4999).unwrap().unwrap().hash;
            let forged = AuditRecord::chained(&event(123_456), 5000, prev);
            format!("{} {}", shift(5000, 1), insert_sql(d, &forged))
        },
        Inserted,
        5000,
    );
    expect(lab, "swap-far", &|_, _| swap(100, 9000), Reordered, 100);
    expect(
        lab,
        "swap-adjacent",
        &|_, _| swap(3000, 3001),
        Reordered,
        3000,
    );
    expect(
        lab,
        "tile-edited",
        &|_, _| {
            "UPDATE iw_audit_tiles SET hash = (SELECT hash FROM iw_audit_log WHERE seq = 1) WHERE level = 8 AND idx = 3;".into()
        },
        Edited,
        768,
    );

    truncation_and_forks(lab);
}

fn truncation_and_forks(lab: &dyn Lab) {
    let (store, exec) = lab.fresh("truncate");
    seed(store.as_ref(), 4096, |_, e| e);
    let log = log_over(store.clone());
    let at_4096 = log.checkpoint().unwrap();
    seed(store.as_ref(), N - 4096, |i, _| event(i + 4096));
    let at_n = log.checkpoint().unwrap();
    let verifier = NoteSigner::parse(TEST_SIGNER).unwrap().verifier();
    let options = |trusted: Vec<String>| VerifyOptions {
        verifier: Some(verifier.clone()),
        trusted,
        progress: None,
    };
    let report = log
        .verify(&options(vec![at_4096.clone(), at_n.clone()]))
        .unwrap();
    assert!(report.intact, "{report:?}");
    assert_eq!(report.checkpoints_checked, 4, "two trusted + two stored");

    // A whole-chain rewrite by someone without the key: a new database with record 0
    // changed and every hash recomputed (tiles included), checkpoints dropped.
    let (forged, _) = lab.fresh("rewrite-all");
    seed(forged.as_ref(), N, |i, e| if i == 0 { event(1) } else { e });
    let forged_log = log_over(forged.clone());
    let r = forged_log
        .verify(&options(vec![at_4096.clone(), at_n.clone()]))
        .unwrap();
    let t = r.tamper.expect("rewrite detected");
    assert_eq!((t.kind, t.seq), (TamperKind::Forked, 0), "{}", t.detail);

    // A rewrite from record 5000 on: the checkpoint at 4096 still matches.
    let (forged, _) = lab.fresh("rewrite-tail");
    seed(
        forged.as_ref(),
        N,
        |i, e| if i == 5000 { event(1) } else { e },
    );
    let r = log_over(forged)
        .verify(&options(vec![at_4096.clone(), at_n.clone()]))
        .unwrap();
    let t = r.tamper.expect("tail rewrite detected");
    assert_eq!((t.kind, t.seq), (TamperKind::Forked, 4096), "{}", t.detail);

    // A checkpoint forged with another key is refused as trusted input and, stored, found.
    let (other, _) = NoteSigner::generate("iw-test").unwrap();
    let other = NoteSigner::parse(&other).unwrap();
    let bogus = other.sign(&inferwarden::audit::unverified_checkpoint(&at_n).unwrap());
    assert!(log.verify(&options(vec![bogus])).is_err());

    // Truncation: the newest ten records deleted; the trusted checkpoint of N finds it.
    exec(guards_off(lab.dialect()));
    exec(&format!(
        "DELETE FROM iw_audit_log WHERE seq >= {};",
        N - 10
    ));
    let r = log.verify(&options(vec![at_n.clone()])).unwrap();
    let t = r.tamper.expect("truncation detected");
    assert_eq!(
        (t.kind, t.seq),
        (TamperKind::Truncated, N - 10),
        "{}",
        t.detail
    );
    // Without the external copy, the stored signed checkpoint finds it too.
    let r = log.verify(&options(vec![])).unwrap();
    assert_eq!(r.tamper.unwrap().kind, TamperKind::Truncated);
    // And if the stored checkpoints are replaced by ones signed with another key.
    exec("DELETE FROM iw_audit_checkpoints;");
    store
        .save_checkpoint(
            N,
            &other.sign(&inferwarden::audit::unverified_checkpoint(&at_n).unwrap()),
        )
        .unwrap();
    let r = log.verify(&options(vec![])).unwrap();
    let t = r.tamper.expect("foreign checkpoint found");
    assert_eq!(t.kind, TamperKind::Forked, "{}", t.detail);
}

/// Runs the `#[ignore]`d child test `test` of the current test binary with `env` set.
pub fn spawn_child(test: &str, env: (&str, &str)) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            test,
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(env.0, env.1)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Four appender children of 1,000 events each leave one contiguous, verifying chain.
pub fn four_appenders(spawn: impl Fn() -> Child, open: impl Fn() -> Arc<dyn AuditStore>) {
    let children: Vec<_> = (0..4).map(|_| spawn()).collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = log_over(open()).verify(&VerifyOptions::default()).unwrap();
    assert!(report.intact, "{report:?}");
    assert_eq!(report.size, 4 * 1000);
}

/// Three rounds of an endless appender (batches of 50) killed at a varying moment: each
/// time the log verifies, holds whole batches only, and the next append continues it.
pub fn killed_appenders(spawn: impl Fn() -> Child, open: impl Fn() -> Arc<dyn AuditStore>) {
    for round in 0..3u64 {
        let mut child = spawn();
        std::thread::sleep(Duration::from_millis(300 + round * 137));
        child.kill().unwrap();
        child.wait().unwrap();
        let log = log_over(open());
        let report = log.verify(&VerifyOptions::default()).unwrap();
        assert!(report.intact, "round {round}: {report:?}");
        // Whole batches of 50 only (plus the one record each earlier round appended).
        assert_eq!((report.size - round) % 50, 0, "whole batches only");
        assert_eq!(log.append(event(9)).unwrap(), report.size);
        assert!(log.verify(&VerifyOptions::default()).unwrap().intact);
    }
}

/// Child body: 1,000 appends through its own log.
pub fn child_appends(store: Arc<dyn AuditStore>) {
    let log = log_over(store);
    for i in 0..1000 {
        log.append(event(i)).unwrap();
    }
}

/// Child body: batches of 50 until killed.
pub fn child_appends_forever(store: &dyn AuditStore) -> ! {
    let mut i = 0;
    loop {
        let batch: Vec<_> = (i..i + 50).map(event).collect();
        store.append(&batch).unwrap();
        i += 50;
    }
}
