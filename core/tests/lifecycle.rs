//! Tests for `lifecycle/` on SQLite: legal transitions, typed TTLs at exact thresholds,
//! compare-and-set outcomes, triggers against raw SQL, the partial index, crash atomicity,
//! and exactly-once sweeps under 32 concurrent sweepers (threads and processes).
#![cfg(feature = "sqlite")]

#[path = "support/upgraded_history.rs"]
mod upgraded_history;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::lifecycle::{
    Completion, Lifecycle, SqliteTaskStore, SweepPolicy, TaskStatus, TaskStore, TimeSource,
};
use inferwarden::ErrorCode;

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

fn temp_db(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("iw-lifecycle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}-{}.db", N.fetch_add(1, Ordering::SeqCst)));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
    }
    p
}

struct World {
    life: Lifecycle,
    store: Arc<SqliteTaskStore>,
    clock: ManualClock,
    audit: Arc<MemoryAuditSink>,
    path: PathBuf,
}

fn world(name: &str) -> World {
    let path = temp_db(name);
    let clock = ManualClock::new(T0);
    let store = Arc::new(
        SqliteTaskStore::open(&path, TimeSource::Injected(Arc::new(clock.clone()))).unwrap(),
    );
    let audit = Arc::new(MemoryAuditSink::new());
    let life = Lifecycle::new(
        store.clone(),
        &PolicyConfig::default(),
        audit.clone(),
        Arc::new(clock.clone()),
    );
    World {
        life,
        store,
        clock,
        audit,
        path,
    }
}

#[test]
fn legal_transitions_only() {
    use TaskStatus::*;
    let all = [Pending, Processing, Done, Failed];
    let legal: HashSet<_> = [
        (Pending, Processing),
        (Pending, Failed),
        (Processing, Done),
        (Processing, Failed),
    ]
    .into();
    for a in all {
        for b in all {
            assert_eq!(a.can_become(b), legal.contains(&(a, b)), "{a:?} -> {b:?}");
        }
    }
    assert_eq!(
        Done.check_transition(Failed).unwrap_err().code(),
        ErrorCode::InvalidTransition
    );
}

#[test]
fn claim_resolves_ttl_by_type_and_refuses_unknown_types() {
    let w = world("claim");
    w.life.create("img-1", "image").unwrap();
    w.life.create("vid-1", "video").unwrap();
    w.life.create("aud-1", "audio").unwrap();
    let c = w.life.claim("img-1", "w1").unwrap();
    assert_eq!(
        (c.started_at, c.stale_deadline, c.ttl_ms, c.attempt),
        (T0, T0 + 10 * MIN, 10 * MIN, 1)
    );
    assert_eq!(w.life.claim("vid-1", "w1").unwrap().ttl_ms, 30 * MIN);
    let err = w.life.claim("aud-1", "w1").unwrap_err();
    assert_eq!(err.code(), ErrorCode::ValidationError);
    assert_eq!(
        w.life.claim("img-1", "w2").unwrap_err().code(),
        ErrorCode::InvalidTransition,
        "already claimed"
    );
    assert_eq!(
        w.life.claim("nope", "w").unwrap_err().code(),
        ErrorCode::TaskNotFound
    );
    assert_eq!(
        w.life.create("img-1", "image").unwrap_err().code(),
        ErrorCode::InvalidTransition,
        "duplicate id"
    );
    assert_eq!(
        w.life.create("ws::x", "image").unwrap_err().code(),
        ErrorCode::ProxyTargetInvalid
    );
}

#[test]
fn thresholds_per_type_at_minus_one_equal_plus_one_ms() {
    for (task_type, ttl) in [("image", 10 * MIN), ("video", 30 * MIN)] {
        for (offset, stale) in [(-1, false), (0, false), (1, true)] {
            let w = world("threshold");
            w.life.create("t", task_type).unwrap();
            w.life.claim("t", "w").unwrap();
            w.clock.set_ms(T0 + ttl + offset);
            let report = w.life.sweep().unwrap();
            assert_eq!(
                report.failed.len(),
                usize::from(stale),
                "{task_type} at deadline{offset:+} ms"
            );
            if stale {
                assert_eq!(report.failed[0].ttl_ms, ttl);
                assert_eq!(report.failed[0].runtime_ms, ttl + 1);
            }
        }
    }
}

#[test]
fn image_is_stale_at_10_minutes_while_video_with_same_start_is_not() {
    let w = world("mixed");
    w.life.create("img", "image").unwrap();
    w.life.create("vid", "video").unwrap();
    w.life.claim("img", "w").unwrap();
    w.life.claim("vid", "w").unwrap();
    w.clock.set_ms(T0 + 10 * MIN + 1);
    let report = w.life.sweep().unwrap();
    assert_eq!(
        report
            .failed
            .iter()
            .map(|t| t.task_id.as_str())
            .collect::<Vec<_>>(),
        ["img"]
    );
    assert_eq!(
        w.life.get("vid").unwrap().unwrap().status,
        TaskStatus::Processing
    );
    // Progress never extends the deadline.
    let lease = w.life.get("vid").unwrap().unwrap().lease_id.unwrap();
    w.clock.set_ms(T0 + 29 * MIN);
    assert!(matches!(
        w.life.report_progress("vid", &lease, 90).unwrap(),
        Completion::Applied { .. }
    ));
    w.clock.set_ms(T0 + 30 * MIN + 1);
    assert_eq!(w.life.sweep().unwrap().failed.len(), 1);
}

#[test]
fn pending_tasks_fail_as_worker_start_timeout_after_120s() {
    let w = world("pending");
    w.life.create("p", "video").unwrap();
    w.clock.set_ms(T0 + 120_000);
    assert!(w.life.sweep().unwrap().failed.is_empty());
    w.clock.set_ms(T0 + 120_001);
    let r = w.life.sweep().unwrap();
    assert_eq!(r.failed[0].reason, "worker_start_timeout");
    let t = w.life.get("p").unwrap().unwrap();
    assert_eq!(
        (t.status, t.error_code.as_deref()),
        (TaskStatus::Failed, Some("worker_start_timeout"))
    );
}

#[test]
fn completion_outcomes_are_typed() {
    let w = world("outcomes");
    w.life.create("t", "image").unwrap();
    assert_eq!(
        w.life.complete("t", "x", "/r.png", "w").unwrap(),
        Completion::NotProcessing
    );
    let c = w.life.claim("t", "w").unwrap();
    assert_eq!(
        w.life.complete("t", "wrong-lease", "/r.png", "w").unwrap(),
        Completion::LeaseMismatch
    );
    w.clock.advance_ms(5_000);
    assert_eq!(
        w.life.complete("t", &c.lease_id, "/r.png", "w").unwrap(),
        Completion::Applied { runtime_ms: 5_000 }
    );
    assert_eq!(
        w.life.complete("t", &c.lease_id, "/r.png", "w").unwrap(),
        Completion::Repeated
    );
    assert_eq!(
        w.life
            .complete("t", &c.lease_id, "/other.png", "w")
            .unwrap(),
        Completion::AlreadyDone
    );
    assert_eq!(
        w.life.fail("t", &c.lease_id, "e", "m", "w").unwrap(),
        Completion::AlreadyDone
    );
    assert_eq!(
        w.life
            .complete("t", &c.lease_id, " ", "w")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
    assert_eq!(
        w.life
            .fail("t", &c.lease_id, "", "m", "w")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
    let t = w.life.get("t").unwrap().unwrap();
    assert_eq!(
        (t.status, t.progress, t.result_path.as_deref()),
        (TaskStatus::Done, 100, Some("/r.png"))
    );
    assert!(Completion::AlreadyDone.into_result().is_err());
}

fn heartbeat_world(name: &str) -> (Lifecycle, ManualClock) {
    let mut c = PolicyConfig::default();
    c.stale.heartbeat_timeout_s = 120;
    assert!(c.validate().is_valid(), "{:?}", c.validate());
    let clock = ManualClock::new(T0);
    let store = Arc::new(
        SqliteTaskStore::open(temp_db(name), TimeSource::Injected(Arc::new(clock.clone())))
            .unwrap(),
    );
    let life = Lifecycle::new(
        store,
        &c,
        Arc::new(MemoryAuditSink::new()),
        Arc::new(clock.clone()),
    );
    (life, clock)
}

#[test]
fn heartbeat_timeout_fails_silent_workers_early_at_the_exact_boundary() {
    let (life, clock) = heartbeat_world("heartbeat");
    life.create("silent", "video").unwrap();
    let silent = life.claim("silent", "w").unwrap();
    life.create("alive", "video").unwrap();
    let alive = life.claim("alive", "w").unwrap();
    assert_eq!(
        life.get("silent").unwrap().unwrap().heartbeat_at,
        Some(T0),
        "the claim is the first heartbeat"
    );
    clock.set_ms(T0 + 100_000);
    life.heartbeat("alive", &alive.lease_id).unwrap();
    clock.set_ms(T0 + 120_000);
    assert!(
        life.sweep().unwrap().failed.is_empty(),
        "= timeout: not yet"
    );
    clock.set_ms(T0 + 120_001);
    let report = life.sweep().unwrap();
    assert_eq!(report.failed.len(), 1);
    let swept = &report.failed[0];
    assert_eq!(
        (
            swept.task_id.as_str(),
            swept.reason.as_str(),
            swept.ttl_ms,
            swept.runtime_ms
        ),
        ("silent", "heartbeat_timeout", 120_000, 120_001)
    );
    let t = life.get("silent").unwrap().unwrap();
    assert_eq!(
        (t.status, t.error_code.as_deref()),
        (TaskStatus::Failed, Some("heartbeat_timeout"))
    );
    assert_eq!(
        life.complete("silent", &silent.lease_id, "/late.mp4", "w")
            .unwrap(),
        Completion::AlreadyFailed {
            error_code: "heartbeat_timeout".into(),
            late_by_ms: 0
        }
    );
    assert_eq!(
        life.get("alive").unwrap().unwrap().status,
        TaskStatus::Processing
    );
}

#[test]
fn heartbeats_never_extend_the_stale_deadline() {
    let (life, clock) = heartbeat_world("heartbeat-deadline");
    life.create("t", "image").unwrap();
    let c = life.claim("t", "w").unwrap();
    let mut at = T0;
    while at + 60_000 <= T0 + 10 * MIN {
        at += 60_000;
        clock.set_ms(at);
        if at < T0 + 10 * MIN {
            life.heartbeat("t", &c.lease_id).unwrap();
            assert!(life.sweep().unwrap().failed.is_empty());
        }
    }
    clock.set_ms(T0 + 10 * MIN + 1);
    let report = life.sweep().unwrap();
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].reason, "stale_timeout");
    assert_eq!(
        life.get("t").unwrap().unwrap().stale_deadline,
        Some(T0 + 10 * MIN)
    );
}

#[test]
fn heartbeat_timeout_must_be_shorter_than_every_ttl() {
    let mut c = PolicyConfig::default();
    c.stale.heartbeat_timeout_s = 600;
    let report = c.validate();
    assert!(!report.is_valid());
    assert!(
        format!("{report:?}").contains("stale.heartbeat_timeout_s"),
        "{report:?}"
    );
}

#[test]
fn version_one_databases_gain_the_heartbeat_column() {
    let path = temp_db("migrate");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE iw_tasks (id TEXT PRIMARY KEY NOT NULL, task_type TEXT NOT NULL, status TEXT NOT NULL, progress INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, started_at INTEGER, stale_deadline INTEGER, lease_id TEXT, attempt INTEGER NOT NULL DEFAULT 0, result_path TEXT, error_code TEXT, error_message TEXT, finished_at INTEGER);
             INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at) VALUES ('old', 'image', 'pending', 1, 1);",
        )
        .unwrap();
    }
    let clock = ManualClock::new(T0);
    let store =
        SqliteTaskStore::open(&path, TimeSource::Injected(Arc::new(clock.clone()))).unwrap();
    assert_eq!(store.get("old").unwrap().unwrap().heartbeat_at, None);
    let claim = store
        .claim(
            "old",
            &std::collections::BTreeMap::from([("image".to_owned(), 600_000)]),
            "w",
        )
        .unwrap();
    assert_eq!(claim.started_at, T0);
    assert_eq!(store.get("old").unwrap().unwrap().heartbeat_at, Some(T0));
}

#[test]
fn version_two_databases_get_the_cheaper_status_check_in_place() {
    let v2 = temp_db("migrate-v2");
    {
        let c = rusqlite::Connection::open(&v2).unwrap();
        c.execute_batch(
            "CREATE TABLE iw_tasks (id TEXT PRIMARY KEY NOT NULL, task_type TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'done', 'failed')), progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100), created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, started_at INTEGER, stale_deadline INTEGER, lease_id TEXT, attempt INTEGER NOT NULL DEFAULT 0, result_path TEXT, error_code TEXT, error_message TEXT, finished_at INTEGER, heartbeat_at INTEGER);
             INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at) VALUES ('old', 'image', 'pending', 1, 1);
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let clock = ManualClock::new(T0);
    let time = || TimeSource::Injected(Arc::new(clock.clone()));
    drop(SqliteTaskStore::open(&v2, time()).unwrap());
    // Opening again finds nothing left to migrate.
    let migrated = SqliteTaskStore::open(&v2, time()).unwrap();
    let fresh = SqliteTaskStore::open(temp_db("migrate-fresh"), time()).unwrap();
    let definition = |store: &SqliteTaskStore| {
        store
            .with_connection(|c| {
                c.query_row(
                    "SELECT sql, (SELECT user_version FROM pragma_user_version) FROM sqlite_schema WHERE name = 'iw_tasks'",
                    [],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
                )
                .unwrap()
            })
            .unwrap()
    };
    let (old_sql, old_version) = definition(&migrated);
    let (new_sql, new_version) = definition(&fresh);
    assert_eq!((old_version, new_version), (5, 5));
    assert!(!old_sql.contains("status IN ("), "{old_sql}");
    let check = |sql: &str| {
        sql[sql.find("status TEXT").unwrap()..]
            .split(',')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        check(&old_sql),
        check(&new_sql),
        "the migrated CHECK is the fresh one"
    );
    // The rows are intact and the CHECK still refuses a status outside the four, even with
    // the guard triggers out of the way.
    assert_eq!(
        migrated.get("old").unwrap().unwrap().status,
        TaskStatus::Pending
    );
    migrated
        .with_connection(|c| {
            c.execute_batch(
                "DROP TRIGGER iw_tasks_legal_transition; DROP TRIGGER iw_tasks_terminal_fields;",
            )
            .unwrap();
            let err = c
                .execute("UPDATE iw_tasks SET status = 'paused' WHERE id = 'old'", [])
                .unwrap_err();
            assert!(err.to_string().contains("CHECK constraint failed"), "{err}");
            let ok: String = c
                .query_row("PRAGMA integrity_check", [], |r| r.get(0))
                .unwrap();
            assert_eq!(ok, "ok");
        })
        .unwrap();
}

#[test]
fn version_three_databases_get_one_transition_index_after_guards_and_keep_their_history() {
    let v3 = temp_db("migrate-v3");
    {
        let c = rusqlite::Connection::open(&v3).unwrap();
        c.execute_batch(
            "CREATE TABLE iw_task_transitions (seq INTEGER PRIMARY KEY, task_id TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, lease_id TEXT, at INTEGER NOT NULL, ttl_ms INTEGER, runtime_ms INTEGER);
             CREATE INDEX iw_task_transitions_task ON iw_task_transitions (task_id, seq);
             CREATE UNIQUE INDEX iw_task_transitions_one_terminal ON iw_task_transitions (task_id) WHERE to_status IN ('done', 'failed');
             CREATE TABLE iw_tasks (id TEXT PRIMARY KEY NOT NULL, task_type TEXT NOT NULL, status TEXT NOT NULL CHECK (status = 'pending' OR status = 'processing' OR status = 'done' OR status = 'failed'), progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100), created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, started_at INTEGER, stale_deadline INTEGER, lease_id TEXT, attempt INTEGER NOT NULL DEFAULT 0, result_path TEXT, error_code TEXT, error_message TEXT, finished_at INTEGER, heartbeat_at INTEGER);
             INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at, result_path) VALUES ('old', 'image', 'done', 1, 3, '/r');
             CREATE TRIGGER iw_tasks_terminal_immutable BEFORE UPDATE ON iw_tasks
                 WHEN OLD.status IN ('done', 'failed')
                 BEGIN SELECT RAISE(ABORT, 'invalid_transition: terminal tasks are immutable'); END;
             INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES
                 ('old', NULL, 'pending', 'created', 'api', 1),
                 ('old', 'pending', 'processing', 'claimed', 'w', 2),
                 ('old', 'processing', 'done', 'completed', 'w', 3);
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let clock = ManualClock::new(T0);
    let store = SqliteTaskStore::open(&v3, TimeSource::Injected(Arc::new(clock.clone()))).unwrap();
    let (indexes, version) = store
        .with_connection(|c| {
            let names: Vec<String> = c
                .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'iw_task_transitions' ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
            (names, version)
        })
        .unwrap();
    assert_eq!(indexes, ["iw_task_transitions_by_task"]);
    assert_eq!(version, 5);
    // The update guards are AFTER triggers now, and still refuse a change to a done task.
    let guards = store
        .with_connection(|c| {
            c.prepare("SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND sql LIKE '%UPDATE%' ORDER BY name")
                .unwrap()
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
        })
        .unwrap();
    assert_eq!(guards.len(), 3, "{guards:?}");
    assert!(
        guards.iter().all(|g| g.contains("AFTER UPDATE")),
        "{guards:?}"
    );
    assert_eq!(
        store
            .execute_raw("UPDATE iw_tasks SET result_path = '/tampered' WHERE id = 'old'")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
    assert_eq!(
        store.get("old").unwrap().unwrap().result_path.as_deref(),
        Some("/r")
    );
    upgraded_history::assert_history_kept_and_one_terminal_row(&store, |sql| {
        store.execute_raw(sql).map(drop)
    });
    // The history read is an index search, not a scan.
    let plan = store
        .with_connection(|c| {
            c.query_row(
                "EXPLAIN QUERY PLAN SELECT * FROM iw_task_transitions WHERE task_id = 'old' ORDER BY seq",
                [],
                |r| r.get::<_, String>(3),
            )
            .unwrap()
        })
        .unwrap();
    assert!(
        plan.contains("USING INDEX iw_task_transitions_by_task"),
        "{plan}"
    );
    // An older build sharing the database (a rolling upgrade) recreates its partial index;
    // the refusal it raises is still a typed invalid_transition.
    store
        .with_connection(|c| c.execute_batch("DROP INDEX iw_task_transitions_by_task; CREATE UNIQUE INDEX iw_task_transitions_one_terminal ON iw_task_transitions (task_id) WHERE to_status IN ('done', 'failed')"))
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .execute_raw("INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES ('old', 'processing', 'failed', 'x', 'y', 7)")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
}

#[test]
fn tokio_sweeper_service_sweeps_every_interval_until_shutdown() {
    let w = world("tokio");
    for i in 0..3 {
        w.life.create(&format!("t{i}"), "image").unwrap();
        w.life.claim(&format!("t{i}"), "w").unwrap();
    }
    w.clock.set_ms(T0 + 11 * MIN);
    let mut c = PolicyConfig::default();
    c.stale.sweep_interval_s = 1;
    let life = Lifecycle::new(
        w.store.clone(),
        &c,
        Arc::new(MemoryAuditSink::new()),
        Arc::new(w.clock.clone()),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let reports = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = reports.clone();
    let started = std::time::Instant::now();
    runtime.block_on(life.run_sweeper_async(
        async { tokio::time::sleep(std::time::Duration::from_millis(1_500)).await },
        move |r| sink.lock().unwrap().push(r.unwrap().failed.len()),
    ));
    let seen = reports.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![3, 0],
        "sweeps at 0 s and 1 s, then shutdown at 1.5 s"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[test]
fn late_done_after_stale_failure_is_refused_and_audited() {
    let w = world("late");
    w.life.create("t", "image").unwrap();
    let c = w.life.claim("t", "w").unwrap();
    w.clock.set_ms(T0 + 10 * MIN + 1);
    w.life.sweep().unwrap();
    w.clock.set_ms(T0 + 12 * MIN);
    let outcome = w.life.complete("t", &c.lease_id, "/late.png", "w").unwrap();
    assert_eq!(
        outcome,
        Completion::AlreadyFailed {
            error_code: "stale_timeout".into(),
            late_by_ms: 2 * MIN
        }
    );
    let err = outcome.into_result().unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidTransition);
    let t = w.life.get("t").unwrap().unwrap();
    assert_eq!(
        t.status,
        TaskStatus::Failed,
        "a late done never reopens a task"
    );
    let events = w.audit.events();
    let late = events
        .iter()
        .find(|e| e.action == "late_completion_rejected")
        .expect("audited");
    assert_eq!(late.details["result_path"], "/late.png");
    assert!(events
        .iter()
        .any(|e| e.action == "stale_transition" && e.details["ttl_ms"] == 600_000));
}

#[test]
fn triggers_refuse_illegal_transitions_from_raw_sql() {
    let w = world("triggers");
    w.life.create("t", "image").unwrap();
    let c = w.life.claim("t", "w").unwrap();
    w.life.complete("t", &c.lease_id, "/r", "w").unwrap();
    for sql in [
        "UPDATE iw_tasks SET status = 'failed', error_code = 'x', error_message = 'y' WHERE id = 't'",
        "UPDATE iw_tasks SET status = 'processing' WHERE id = 't'",
        "UPDATE iw_tasks SET result_path = '/tampered' WHERE id = 't'",
    ] {
        assert_eq!(w.store.execute_raw(sql).unwrap_err().code(), ErrorCode::InvalidTransition, "{sql}");
    }
    w.life.create("p", "image").unwrap();
    assert_eq!(
        w.store
            .execute_raw("UPDATE iw_tasks SET status = 'done', result_path = '/r' WHERE id = 'p'")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
    assert_eq!(
        w.store
            .execute_raw("UPDATE iw_tasks SET status = 'failed' WHERE id = 'p'")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition,
        "failed needs an error"
    );
    assert_eq!(
        w.store.execute_raw("INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at) VALUES ('z', 'image', 'done', 1, 1)").unwrap_err().code(),
        ErrorCode::InvalidTransition
    );
    assert_eq!(w
        .store
        .execute_raw("INSERT INTO iw_task_transitions (task_id, to_status, reason, actor, at) VALUES ('t', 'failed', 'x', 'y', 1)")
        .unwrap_err().code(), ErrorCode::InvalidTransition, "one terminal transition row per task");
}

#[test]
fn sweep_query_uses_the_partial_index() {
    let w = world("plan");
    let plan = w.store.sweep_query_plan().unwrap().join(" | ");
    // The candidates come from the partial index; the compare-and-set update looks the
    // batch up by rowid.
    assert!(plan.contains("INDEX iw_tasks_stale"), "{plan}");
    assert!(
        plan.contains("SEARCH iw_tasks USING INTEGER PRIMARY KEY (rowid=?)"),
        "{plan}"
    );
    assert!(!plan.contains("SCAN iw_tasks"), "full scan: {plan}");
}

#[test]
fn implausible_clock_aborts_the_sweep() {
    let path = temp_db("clock");
    let store =
        SqliteTaskStore::open(&path, TimeSource::Injected(Arc::new(ManualClock::new(0)))).unwrap();
    assert_eq!(
        store
            .sweep(
                "s",
                &SweepPolicy {
                    pending_timeout_ms: 1,
                    heartbeat_timeout_ms: None,
                    batch: 10,
                }
            )
            .unwrap_err()
            .code(),
        ErrorCode::DependencyUnavailable
    );
    let db_clock = SqliteTaskStore::open(&path, TimeSource::Database).unwrap();
    let now = db_clock.now_ms().unwrap();
    assert!(now > 1_700_000_000_000, "database clock in ms: {now}");
}

#[test]
fn crash_mid_sweep_leaves_no_partial_state_and_next_sweep_converges() {
    let w = world("crash");
    for i in 0..5 {
        w.life.create(&format!("t{i}"), "image").unwrap();
        w.life.claim(&format!("t{i}"), "w").unwrap();
    }
    w.clock.set_ms(T0 + 11 * MIN);
    // Fail the transaction between the status update and the audit rows of one task.
    w.store
        .execute_raw("CREATE TRIGGER boom BEFORE INSERT ON iw_task_transitions WHEN NEW.task_id = 't3' BEGIN SELECT RAISE(ABORT, 'disk gone'); END")
        .unwrap();
    assert_eq!(
        w.life.sweep().unwrap_err().code(),
        ErrorCode::DependencyUnavailable
    );
    for i in 0..5 {
        assert_eq!(
            w.life.get(&format!("t{i}")).unwrap().unwrap().status,
            TaskStatus::Processing,
            "rolled back"
        );
    }
    w.store.execute_raw("DROP TRIGGER boom").unwrap();
    assert_eq!(w.life.sweep().unwrap().failed.len(), 5);
    for i in 0..5 {
        let tr = w.life.transitions(&format!("t{i}")).unwrap();
        assert_eq!(tr.iter().filter(|t| t.to_status.is_terminal()).count(), 1);
    }
}

/// A lifecycle sweeping 7 tasks per batch, with `claimed` image tasks claimed at T0.
fn batch_world(name: &str, claimed: usize) -> (Lifecycle, ManualClock) {
    let mut c = PolicyConfig::default();
    c.stale.sweep_batch_size = 7;
    let clock = ManualClock::new(T0);
    let store = Arc::new(
        SqliteTaskStore::open(temp_db(name), TimeSource::Injected(Arc::new(clock.clone())))
            .unwrap(),
    );
    let life = Lifecycle::new(
        store,
        &c,
        Arc::new(MemoryAuditSink::new()),
        Arc::new(clock.clone()),
    );
    for i in 0..claimed {
        life.create(&format!("t{i}"), "image").unwrap();
        life.claim(&format!("t{i}"), "w").unwrap();
    }
    (life, clock)
}

#[test]
fn batches_cover_everything_stale() {
    let (life, clock) = batch_world("batches", 30);
    clock.set_ms(T0 + 11 * MIN);
    let r = life.sweep().unwrap();
    assert_eq!(r.failed.len(), 30);
    assert_eq!(r.batches, 5);
}

#[test]
fn a_last_batch_that_is_exactly_full_ends_the_sweep() {
    let (life, clock) = batch_world("exact-batches", 28);
    // One task that only a later sweep may fail: the candidate check after a full batch
    // must not count it.
    clock.set_ms(T0 + 5 * MIN);
    life.create("young", "image").unwrap();
    life.claim("young", "w").unwrap();
    clock.set_ms(T0 + 11 * MIN);
    let r = life.sweep().unwrap();
    assert_eq!(
        (r.failed.len(), r.batches),
        (28, 4),
        "no fifth batch to find nothing"
    );
    // Pending tasks past their start timeout are candidates too: "young" (stale now) and
    // eight of them fill one batch and leave two for a second.
    clock.set_ms(T0 + 20 * MIN);
    for i in 0..8 {
        life.create(&format!("p{i}"), "image").unwrap();
    }
    clock.set_ms(T0 + 23 * MIN);
    let r = life.sweep().unwrap();
    assert_eq!((r.failed.len(), r.batches), (9, 2), "{:?}", r.failed);
}

/// 32 sweepers on separate connections (threads) race over 100 trials, with workers
/// completing some tasks at the same time: every task ends in exactly one terminal state,
/// with exactly one terminal transition row, and each stale task is failed exactly once.
#[test]
fn thirty_two_concurrent_sweepers_fail_each_stale_task_exactly_once() {
    for trial in 0..100 {
        let w = world("race");
        let n = 20;
        let mut leases = Vec::new();
        for i in 0..n {
            let id = format!("t{i}");
            w.life.create(&id, "image").unwrap();
            leases.push(w.life.claim(&id, "w").unwrap().lease_id);
        }
        w.clock.set_ms(T0 + 10 * MIN + 1);
        let failed = Arc::new(AtomicUsize::new(0));
        let completed = Arc::new(AtomicUsize::new(0));
        std::thread::scope(|s| {
            for k in 0..32 {
                let (path, clock, failed) = (w.path.clone(), w.clock.clone(), failed.clone());
                s.spawn(move || {
                    let store = Arc::new(
                        SqliteTaskStore::open(&path, TimeSource::Injected(Arc::new(clock.clone())))
                            .unwrap(),
                    );
                    let life = Lifecycle::new(
                        store,
                        &PolicyConfig::default(),
                        Arc::new(MemoryAuditSink::new()),
                        Arc::new(clock),
                    );
                    let _ = k;
                    failed.fetch_add(life.sweep().unwrap().failed.len(), Ordering::SeqCst);
                });
            }
            // A worker racing the sweepers on the even tasks.
            let (path, clock, completed, leases) =
                (w.path.clone(), w.clock.clone(), completed.clone(), &leases);
            s.spawn(move || {
                let store =
                    SqliteTaskStore::open(&path, TimeSource::Injected(Arc::new(clock))).unwrap();
                for i in (0..n).step_by(2) {
                    if matches!(
                        store
                            .complete(&format!("t{i}"), &leases[i], "/r", "w")
                            .unwrap(),
                        Completion::Applied { .. }
                    ) {
                        completed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        });
        let (f, c) = (
            failed.load(Ordering::SeqCst),
            completed.load(Ordering::SeqCst),
        );
        assert_eq!(f + c, n, "trial {trial}: {f} failed + {c} completed");
        for i in 0..n {
            let tr = w.life.transitions(&format!("t{i}")).unwrap();
            assert_eq!(
                tr.iter().filter(|t| t.to_status.is_terminal()).count(),
                1,
                "trial {trial} task {i}"
            );
        }
    }
}

/// Child body of `separate_processes_sweep_exactly_once`; a no-op unless spawned by it.
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn sweeper_process_worker() {
    let Ok(path) = std::env::var("IW_SWEEP_DB") else {
        return;
    };
    let now: i64 = std::env::var("IW_SWEEP_NOW").unwrap().parse().unwrap();
    let clock = ManualClock::new(now);
    let store = Arc::new(
        SqliteTaskStore::open(&path, TimeSource::Injected(Arc::new(clock.clone()))).unwrap(),
    );
    let life = Lifecycle::new(
        store,
        &PolicyConfig::default(),
        Arc::new(MemoryAuditSink::new()),
        Arc::new(clock),
    );
    let report = life.sweep().unwrap();
    println!("SWEPT {}", report.failed.len());
}

#[test]
fn separate_processes_sweep_exactly_once() {
    let exe = std::env::current_exe().unwrap();
    for trial in 0..5 {
        let w = world("procs");
        for i in 0..40 {
            w.life.create(&format!("t{i}"), "video").unwrap();
            w.life.claim(&format!("t{i}"), "w").unwrap();
        }
        let now = T0 + 30 * MIN + 1;
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "sweeper_process_worker",
                        "--ignored",
                        "--exact",
                        "--nocapture",
                        "--test-threads=1",
                    ])
                    .env("IW_SWEEP_DB", &w.path)
                    .env("IW_SWEEP_NOW", now.to_string())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let mut total = 0;
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success());
            let text = String::from_utf8_lossy(&out.stdout);
            total += text
                .lines()
                .filter_map(|l| l.split("SWEPT ").nth(1))
                .map(|n| {
                    n.split_whitespace()
                        .next()
                        .unwrap()
                        .parse::<usize>()
                        .unwrap()
                })
                .sum::<usize>();
        }
        assert_eq!(total, 40, "trial {trial}");
        for i in 0..40 {
            assert_eq!(
                w.life
                    .transitions(&format!("t{i}"))
                    .unwrap()
                    .iter()
                    .filter(|t| t.to_status.is_terminal())
                    .count(),
                1
            );
        }
    }
}

#[test]
fn iso8601_forms() {
    use inferwarden::lifecycle::parse_iso8601_ms;
    let base = parse_iso8601_ms("2026-01-01T10:00:00+00:00").unwrap();
    assert_eq!(base, 1_767_261_600_000);
    for form in [
        "2026-01-01 10:00:00",
        "2026-01-01T10:00:00Z",
        "2026-01-01T12:00:00+02:00",
        "2026-01-01T05:30:00-0430",
        "2026-01-01t10:00:00z",
    ] {
        assert_eq!(parse_iso8601_ms(form).unwrap(), base, "{form}");
    }
    assert_eq!(
        parse_iso8601_ms("2026-01-01T10:00:00.25Z").unwrap(),
        base + 250
    );
    assert_eq!(
        parse_iso8601_ms("2024-02-29T00:00:00Z").unwrap(),
        1_709_164_800_000
    );
    for bad in [
        "",
        "2026-13-01T00:00:00",
        "2026-01-01X10:00:00",
        "yesterday",
        "2026-01-01T25:00:00",
        "2026-01-01T10:00:00+5",
    ] {
        assert_eq!(
            parse_iso8601_ms(bad).unwrap_err().code(),
            ErrorCode::ValidationError,
            "{bad}"
        );
    }
}

#[test]
fn imports_a_gallery_table_with_type_and_error_msg_columns() {
    // Shaped like a real adopter's gallery: the request's own columns beside the task's,
    // `type` for the task type, `error_msg`, Python `isoformat()` times with microseconds.
    let legacy = temp_db("gallery");
    let c = rusqlite::Connection::open(&legacy).unwrap();
    c.execute_batch(
        "CREATE TABLE tasks (id TEXT PRIMARY KEY, status TEXT NOT NULL DEFAULT 'pending', progress INTEGER,
            model TEXT NOT NULL, type TEXT NOT NULL, mode TEXT NOT NULL, prompt TEXT NOT NULL,
            parameters TEXT NOT NULL DEFAULT '{}', result_path TEXT, error_msg TEXT,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
         INSERT INTO tasks VALUES ('g1', 'done', 100, 'm1', 'image', 'txt2img', 'a fox', '{}', '/results/g1.png', NULL,
            '2027-02-01T10:00:00.123456+00:00', '2027-02-01T10:00:42.654321+00:00');
         INSERT INTO tasks VALUES ('g2', 'failed', 10, 'm2', 'video', 't2v', 'a river', '{}', NULL, 'worker lost',
            '2027-02-01T10:01:00.000001+00:00', '2027-02-01T10:09:00.5+00:00');
         INSERT INTO tasks VALUES ('g3', 'processing', 40, 'm2', 'video', 'i2v', 'a cat', '{}', NULL, NULL,
            '2027-02-01T10:02:00+00:00', '2027-02-01T10:03:00+00:00');",
    )
    .unwrap();
    drop(c);
    let w = world("gallery-import");
    let ttls = [
        ("image".to_owned(), 10 * MIN),
        ("video".to_owned(), 30 * MIN),
    ]
    .into();
    let r = w.store.import_legacy(&legacy, "tasks", &ttls).unwrap();
    assert_eq!((r.imported, r.skipped, r.backfilled), (3, 0, 1));
    let g1 = w.life.get("g1").unwrap().unwrap();
    assert_eq!(
        (g1.status, g1.task_type.as_str(), g1.result_path.as_deref()),
        (TaskStatus::Done, "image", Some("/results/g1.png"))
    );
    let g2 = w.life.get("g2").unwrap().unwrap();
    assert_eq!(
        (g2.status, g2.error_message.as_deref()),
        (TaskStatus::Failed, Some("worker lost"))
    );
    let g3 = w.life.get("g3").unwrap().unwrap();
    let t = inferwarden::lifecycle::parse_iso8601_ms("2027-02-01T10:03:00+00:00").unwrap();
    assert_eq!(g3.stale_deadline, Some(t + 30 * MIN));

    // A table with neither column is refused with a validation error, nothing imported.
    let bare = temp_db("bare");
    rusqlite::Connection::open(&bare)
        .unwrap()
        .execute_batch(
            "CREATE TABLE jobs (id TEXT, status TEXT, created_at TEXT, updated_at TEXT);",
        )
        .unwrap();
    let e = w.store.import_legacy(&bare, "jobs", &ttls).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ValidationError, "{e}");
}

#[test]
fn imports_a_legacy_platform_table() {
    let legacy = temp_db("legacy");
    let c = rusqlite::Connection::open(&legacy).unwrap();
    c.execute_batch(
        "CREATE TABLE tasks (id TEXT PRIMARY KEY, task_type TEXT, status TEXT, created_at TEXT, updated_at TEXT, result_path TEXT, error TEXT);
         INSERT INTO tasks VALUES ('a', 'image', 'pending', '2027-01-15T08:00:00+00:00', '2027-01-15T08:00:00+00:00', NULL, NULL);
         INSERT INTO tasks VALUES ('b', 'video', 'processing', '2027-01-15 08:00:00', '2027-01-15 08:05:00Z', NULL, NULL);
         INSERT INTO tasks VALUES ('c', 'image', 'done', '2027-01-15T08:00:00Z', '2027-01-15T08:01:00Z', '/r/c.png', NULL);
         INSERT INTO tasks VALUES ('d', 'image', 'failed', '2027-01-15T08:00:00Z', '2027-01-15T08:02:00Z', NULL, 'CUDA out of memory');",
    )
    .unwrap();
    drop(c);
    let w = world("import");
    let ttls = [
        ("image".to_owned(), 10 * MIN),
        ("video".to_owned(), 30 * MIN),
    ]
    .into();
    let r = w.store.import_legacy(&legacy, "tasks", &ttls).unwrap();
    assert_eq!((r.imported, r.skipped, r.backfilled), (4, 0, 1));
    let b = w.life.get("b").unwrap().unwrap();
    let t = inferwarden::lifecycle::parse_iso8601_ms("2027-01-15T08:05:00Z").unwrap();
    assert_eq!(
        (b.status, b.started_at, b.stale_deadline),
        (TaskStatus::Processing, Some(t), Some(t + 30 * MIN))
    );
    assert_eq!(
        w.life.get("c").unwrap().unwrap().result_path.as_deref(),
        Some("/r/c.png")
    );
    assert_eq!(
        w.life.get("d").unwrap().unwrap().error_message.as_deref(),
        Some("CUDA out of memory")
    );
    assert_eq!(
        w.life
            .transitions("b")
            .unwrap()
            .iter()
            .map(|t| t.reason.as_str())
            .collect::<Vec<_>>(),
        ["imported", "imported"]
    );
    // Idempotent: a second import skips everything.
    assert_eq!(
        w.store
            .import_legacy(&legacy, "tasks", &ttls)
            .unwrap()
            .skipped,
        4
    );
    // The imported processing task is swept like any other.
    w.clock.set_ms(t + 30 * MIN + 1);
    let swept: Vec<_> = w
        .life
        .sweep()
        .unwrap()
        .failed
        .into_iter()
        .map(|t| t.task_id)
        .collect();
    assert!(swept.contains(&"b".to_owned()));
    assert_eq!(
        w.store
            .import_legacy(&legacy, "tasks; DROP TABLE x", &ttls)
            .unwrap_err()
            .code(),
        ErrorCode::ValidationError
    );
}

#[test]
fn a_corrupt_row_is_dependency_unavailable_not_another_state() {
    let w = world("corrupt");
    w.life.create("t1", "image").unwrap();
    w.store
        .execute_raw("INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES ('t1', 'pending', 'exploded', 'x', 'y', 7)")
        .unwrap();
    let e = w.life.transitions("t1").unwrap_err();
    assert_eq!(e.code(), ErrorCode::DependencyUnavailable, "{e:?}");
    assert_eq!(
        e.metadata()
            .and_then(|m| m.get("reason"))
            .and_then(|v| v.as_str()),
        Some("corrupt_row")
    );
    // The driver's text stays a server-side cause, out of the client-facing detail.
    assert!(e.cause().is_some_and(|c| c.contains("exploded")), "{e:?}");
    assert!(!e.detail().contains("exploded"));
    assert!(!e.to_json().to_string().contains("exploded"));
}

#[test]
fn lifecycle_open_builds_the_service_every_binding_uses() {
    let clock = ManualClock::new(T0);
    let handle = inferwarden::audit::AuditHandle::Memory(Arc::new(MemoryAuditSink::new()));
    let path = temp_db("open");
    let life = Lifecycle::open(
        &PolicyConfig::default(),
        &format!("sqlite:{}", path.display()),
        Some(Arc::new(clock.clone())),
        &handle,
    )
    .unwrap();
    life.create("t1", "image").unwrap();
    let claim = life.claim("t1", "w1").unwrap();
    // The injected clock stamps the store's writes.
    assert_eq!(claim.started_at, T0);
    let e = Lifecycle::open(&PolicyConfig::default(), "mongodb://x", None, &handle).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigInvalid);
}

#[test]
fn a_poller_may_see_pending_then_done_but_never_a_step_back() {
    use TaskStatus::*;
    assert!(
        Pending.can_reach(Done),
        "processing can be missed between two polls"
    );
    assert!(!Pending.can_become(Done));
    for (from, to) in [
        (Done, Pending),
        (Failed, Processing),
        (Processing, Pending),
        (Done, Failed),
    ] {
        assert!(!from.can_reach(to), "{from:?} -> {to:?}");
    }
}
