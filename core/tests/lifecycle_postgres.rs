//! The lifecycle contract on a real PostgreSQL (started on loopback by the test command,
//! `INFERWARDEN_TEST_POSTGRES_URL`): thresholds, typed outcomes, the trigger, the partial
//! index, and 32 concurrent sweepers on separate connections over 100 trials. Each test runs
//! in its own schema so tests never see each other's tasks.
#![cfg(feature = "postgres")]

#[path = "support/trials.rs"]
mod trials;
#[path = "support/upgraded_history.rs"]
mod upgraded_history;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::lifecycle::{
    Completion, Lifecycle, PostgresTaskStore, TaskStatus, TaskStore, TimeSource,
};
use inferwarden::ErrorCode;

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

/// A URL whose connections use a fresh schema; `None` only outside the test command.
fn schema_url(name: &str) -> Option<String> {
    let base = match std::env::var("INFERWARDEN_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            assert!(
                std::env::var("INFERWARDEN_REQUIRE_SERVICES").is_err(),
                "INFERWARDEN_TEST_POSTGRES_URL is not set but services are required"
            );
            eprintln!("INFERWARDEN_TEST_POSTGRES_URL not set: run scripts/test.sh");
            return None;
        }
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let schema = format!(
        "iw_{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    c.batch_execute(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema};"
    ))
    .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

fn life(url: &str, clock: &ManualClock) -> (Lifecycle, Arc<PostgresTaskStore>) {
    life_with(url, clock, &PolicyConfig::default())
}

fn life_with(
    url: &str,
    clock: &ManualClock,
    config: &PolicyConfig,
) -> (Lifecycle, Arc<PostgresTaskStore>) {
    let store = Arc::new(
        PostgresTaskStore::connect(url, TimeSource::Injected(Arc::new(clock.clone()))).unwrap(),
    );
    (
        Lifecycle::new(
            store.clone(),
            config,
            Arc::new(MemoryAuditSink::new()),
            Arc::new(clock.clone()),
        ),
        store,
    )
}

#[test]
fn thresholds_and_outcomes() {
    let Some(url) = schema_url("basic") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let (l, store) = life(&url, &clock);
    l.create("img", "image").unwrap();
    l.create("vid", "video").unwrap();
    l.create("aud", "audio").unwrap();
    let img = l.claim("img", "w").unwrap();
    l.claim("vid", "w").unwrap();
    assert_eq!(
        l.claim("aud", "w").unwrap_err().code(),
        ErrorCode::ValidationError
    );
    clock.set_ms(T0 + 10 * MIN);
    // At the deadline the image is not stale; the never-claimed audio task is past the 120 s
    // worker-start timeout.
    let first = l.sweep().unwrap();
    let first: Vec<_> = first
        .failed
        .iter()
        .map(|t| (t.task_id.as_str(), t.reason.as_str()))
        .collect();
    assert_eq!(first, [("aud", "worker_start_timeout")]);
    clock.set_ms(T0 + 10 * MIN + 1);
    let r = l.sweep().unwrap();
    assert_eq!(
        r.failed
            .iter()
            .map(|t| t.task_id.as_str())
            .collect::<Vec<_>>(),
        ["img"]
    );
    assert_eq!(
        l.get("vid").unwrap().unwrap().status,
        TaskStatus::Processing
    );
    let late = l.complete("img", &img.lease_id, "/late.png", "w").unwrap();
    assert!(
        matches!(late, Completion::AlreadyFailed { late_by_ms: 1, .. }),
        "{late:?}"
    );
    assert_eq!(
        store
            .execute_raw("UPDATE iw_tasks SET status = 'done', result_path = '/x' WHERE id = 'img'")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
    assert_eq!(
        store
            .execute_raw("UPDATE iw_tasks SET status = 'done', result_path = '/x' WHERE id = 'aud'")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
    let plan = store.sweep_query_plan().unwrap().join(" | ");
    assert!(plan.contains("iw_tasks_stale"), "{plan}");
    let db_clock = PostgresTaskStore::connect(&url, TimeSource::Database).unwrap();
    assert!(db_clock.now_ms().unwrap() > 1_700_000_000_000);
}

#[test]
fn older_schemas_get_byte_ordered_ids_and_one_transition_index() {
    let Some(url) = schema_url("migrate") else {
        return;
    };
    let mut raw = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // The schema before this change: locale-ordered ids, a history index and a partial
    // unique index on the transitions, one task with its full history.
    raw.batch_execute(
        "CREATE TABLE iw_tasks (id TEXT PRIMARY KEY NOT NULL, task_type TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'done', 'failed')), progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100), created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL, started_at BIGINT, stale_deadline BIGINT, lease_id TEXT, attempt BIGINT NOT NULL DEFAULT 0, result_path TEXT, error_code TEXT, error_message TEXT, finished_at BIGINT, heartbeat_at BIGINT);
         CREATE TABLE iw_task_transitions (seq BIGSERIAL PRIMARY KEY, task_id TEXT NOT NULL, from_status TEXT, to_status TEXT NOT NULL, reason TEXT NOT NULL, actor TEXT NOT NULL, lease_id TEXT, at BIGINT NOT NULL, ttl_ms BIGINT, runtime_ms BIGINT);
         CREATE INDEX iw_task_transitions_task ON iw_task_transitions (task_id, seq);
         CREATE UNIQUE INDEX iw_task_transitions_one_terminal ON iw_task_transitions (task_id) WHERE to_status IN ('done', 'failed');
         INSERT INTO iw_tasks (id, task_type, status, created_at, updated_at, result_path) VALUES ('old', 'image', 'done', 1, 3, '/r');
         INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES
             ('old', NULL, 'pending', 'created', 'api', 1),
             ('old', 'pending', 'processing', 'claimed', 'w', 2),
             ('old', 'processing', 'done', 'completed', 'w', 3);",
    )
    .unwrap();
    let clock = ManualClock::new(T0);
    let (l, store) = life(&url, &clock);
    // Connecting again (another replica) finds nothing left to change.
    drop(life(&url, &clock));
    let collations: Vec<(String, String)> = raw
        .query(
            "SELECT a.attrelid::regclass::text, c.collname::text FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
             WHERE (a.attrelid = 'iw_tasks'::regclass AND a.attname = 'id')
                OR (a.attrelid = 'iw_task_transitions'::regclass AND a.attname = 'task_id') ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        collations,
        [
            ("iw_task_transitions".to_owned(), "C".to_owned()),
            ("iw_tasks".to_owned(), "C".to_owned())
        ]
    );
    let indexes: Vec<String> = raw
        .query(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'iw_task_transitions'::regclass ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        indexes,
        ["iw_task_transitions_by_task", "iw_task_transitions_pkey"]
    );
    assert_eq!(l.get("old").unwrap().unwrap().status, TaskStatus::Done);
    upgraded_history::assert_history_kept_and_one_terminal_row(store.as_ref(), |sql| {
        store.execute_raw(sql).map(drop)
    });
    // The history read uses the new index.
    raw.batch_execute("SET enable_seqscan = off").unwrap();
    let plan: Vec<String> = raw
        .query(
            "EXPLAIN SELECT * FROM iw_task_transitions WHERE task_id = 'old' ORDER BY seq",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.join(" | ").contains("iw_task_transitions_by_task"),
        "{plan:?}"
    );
    // An older build sharing the database (a rolling upgrade) recreates its partial index;
    // a refusal it raises is still a typed invalid_transition.
    raw.batch_execute("DROP INDEX iw_task_transitions_by_task; CREATE UNIQUE INDEX iw_task_transitions_one_terminal ON iw_task_transitions (task_id) WHERE to_status IN ('done', 'failed')")
        .unwrap();
    assert_eq!(
        store
            .execute_raw("INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES ('old', 'processing', 'failed', 'x', 'y', 6)")
            .unwrap_err()
            .code(),
        ErrorCode::InvalidTransition
    );
}

#[test]
fn thirty_two_concurrent_sweepers_over_100_trials() {
    let Some(url) = schema_url("race") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let (l, store) = life(&url, &clock);
    let sweepers: Vec<_> = (0..32).map(|_| life(&url, &clock).0).collect();
    for trial in 0..100 {
        clock.set_ms(T0 + trial * 100 * MIN);
        let ids: Vec<String> = (0..20).map(|i| format!("t{trial}-{i}")).collect();
        let mut leases = Vec::new();
        for id in &ids {
            l.create(id, "image").unwrap();
            leases.push(l.claim(id, "w").unwrap().lease_id);
        }
        clock.advance_ms(10 * MIN + 1);
        let failed = AtomicUsize::new(0);
        let completed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for sw in &sweepers {
                let failed = &failed;
                s.spawn(move || {
                    failed.fetch_add(sw.sweep().unwrap().failed.len(), Ordering::SeqCst)
                });
            }
            let (ids, leases, completed, store) = (&ids, &leases, &completed, &store);
            s.spawn(move || {
                for i in (0..ids.len()).step_by(2) {
                    if matches!(
                        store.complete(&ids[i], &leases[i], "/r", "w").unwrap(),
                        Completion::Applied { .. }
                    ) {
                        completed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        });
        assert_eq!(
            failed.load(Ordering::SeqCst) + completed.load(Ordering::SeqCst),
            ids.len(),
            "trial {trial}"
        );
        for id in &ids {
            assert_eq!(
                l.transitions(id)
                    .unwrap()
                    .iter()
                    .filter(|t| t.to_status.is_terminal())
                    .count(),
                1,
                "trial {trial} {id}"
            );
        }
    }
}

#[test]
fn a_last_batch_that_is_exactly_full_ends_the_sweep_on_postgres() {
    let Some(url) = schema_url("exact_batches") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let mut c = PolicyConfig::default();
    c.stale.sweep_batch_size = 7;
    let (l, _) = life_with(&url, &clock, &c);
    for i in 0..14 {
        l.create(&format!("t{i}"), "image").unwrap();
        l.claim(&format!("t{i}"), "w").unwrap();
    }
    clock.set_ms(T0 + 11 * MIN);
    let r = l.sweep().unwrap();
    assert_eq!(
        (r.failed.len(), r.batches),
        (14, 2),
        "no third batch to find nothing"
    );
    for i in 0..8 {
        l.create(&format!("p{i}"), "image").unwrap();
    }
    clock.set_ms(T0 + 14 * MIN);
    let r = l.sweep().unwrap();
    assert_eq!((r.failed.len(), r.batches), (8, 2));
}

#[test]
fn heartbeat_timeout_on_postgres() {
    let Some(url) = schema_url("heartbeat") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let mut c = PolicyConfig::default();
    c.stale.heartbeat_timeout_s = 120;
    let (l, _) = life_with(&url, &clock, &c);
    l.create("silent", "video").unwrap();
    l.claim("silent", "w").unwrap();
    l.create("alive", "video").unwrap();
    let alive = l.claim("alive", "w").unwrap();
    clock.set_ms(T0 + 100_000);
    l.heartbeat("alive", &alive.lease_id).unwrap();
    clock.set_ms(T0 + 120_000);
    assert!(l.sweep().unwrap().failed.is_empty());
    clock.set_ms(T0 + 120_001);
    let r = l.sweep().unwrap();
    assert_eq!(r.failed.len(), 1);
    assert_eq!(
        (
            r.failed[0].task_id.as_str(),
            r.failed[0].reason.as_str(),
            r.failed[0].ttl_ms
        ),
        ("silent", "heartbeat_timeout", 120_000)
    );
    let tr = l.transitions("silent").unwrap();
    let last = tr.last().unwrap();
    assert_eq!(
        (last.reason.as_str(), last.ttl_ms, last.runtime_ms),
        ("heartbeat_timeout", Some(120_000), Some(120_001))
    );
    assert_eq!(
        l.get("alive").unwrap().unwrap().status,
        TaskStatus::Processing
    );
}

/// The server kills the sweeper's own backend at three points: before the first row is
/// updated, after the update but before the transition rows, and inside COMMIT (a deferred
/// constraint trigger). Nothing is half written, and the next sweep (on a new connection
/// the store opens by itself) converges.
#[test]
fn killed_backend_mid_sweep_leaves_no_partial_state_and_the_next_sweep_converges() {
    let points = [
        (
            "before_update",
            "CREATE TRIGGER crash BEFORE UPDATE ON iw_tasks FOR EACH ROW WHEN (NEW.status = 'failed') EXECUTE FUNCTION iw_crash()",
        ),
        (
            "between_update_and_audit",
            "CREATE TRIGGER crash BEFORE INSERT ON iw_task_transitions FOR EACH ROW WHEN (NEW.to_status = 'failed') EXECUTE FUNCTION iw_crash()",
        ),
        (
            "during_commit",
            "CREATE CONSTRAINT TRIGGER crash AFTER INSERT ON iw_task_transitions DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.to_status = 'failed') EXECUTE FUNCTION iw_crash()",
        ),
    ];
    for (point, trigger) in points {
        let Some(url) = schema_url(point) else {
            return;
        };
        let clock = ManualClock::new(T0);
        let (l, store) = life(&url, &clock);
        for i in 0..5 {
            l.create(&format!("t{i}"), "image").unwrap();
            l.claim(&format!("t{i}"), "w").unwrap();
        }
        let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!(
                "CREATE OR REPLACE FUNCTION iw_crash() RETURNS trigger AS $$
                 BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$ LANGUAGE plpgsql;
                 {trigger};"
            ))
            .unwrap();
        clock.set_ms(T0 + 10 * MIN + 1);
        let err = l.sweep().unwrap_err();
        assert_eq!(err.code(), ErrorCode::DependencyUnavailable, "{point}");
        for i in 0..5 {
            let id = format!("t{i}");
            assert_eq!(
                l.get(&id).unwrap().unwrap().status,
                TaskStatus::Processing,
                "{point}: {id} rolled back"
            );
            assert!(
                l.transitions(&id)
                    .unwrap()
                    .iter()
                    .all(|t| !t.to_status.is_terminal()),
                "{point}: no orphan transition row"
            );
        }
        admin
            .batch_execute("DROP TRIGGER crash ON iw_task_transitions; ")
            .unwrap_or_else(|_| {
                admin
                    .batch_execute("DROP TRIGGER crash ON iw_tasks")
                    .unwrap()
            });
        assert_eq!(l.sweep().unwrap().failed.len(), 5, "{point}");
        for i in 0..5 {
            assert_eq!(
                l.transitions(&format!("t{i}"))
                    .unwrap()
                    .iter()
                    .filter(|t| t.to_status.is_terminal())
                    .count(),
                1,
                "{point}"
            );
        }
        drop(store);
    }
}

/// Child body of the 32-process trial: a sweeper.
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn pg_trial_sweeper_child() {
    let Ok(url) = std::env::var("IW_TRIAL_PG") else {
        return;
    };
    let clock = ManualClock::new(trials::T0);
    trials::sweeper(&life(&url, &clock).0, &clock);
}

/// Child body of the 32-process trial: the worker.
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn pg_trial_worker_child() {
    let Ok(url) = std::env::var("IW_TRIAL_PG") else {
        return;
    };
    let clock = ManualClock::new(trials::T0);
    trials::worker(life(&url, &clock).1.as_ref(), &clock);
}

/// 32 sweeper processes and a worker process over 100 trials of 20 tasks on PostgreSQL:
/// each task failed by exactly one sweeper or completed by the worker, never both, with
/// exactly one terminal transition row.
#[test]
fn thirty_two_sweeper_processes_over_100_trials_on_postgres() {
    let Some(url) = schema_url("procs") else {
        return;
    };
    let clock = ManualClock::new(trials::T0);
    let (l, _) = life(&url, &clock);
    trials::seed(&l, &clock);
    let outputs = trials::run_children(
        "pg_trial_sweeper_child",
        "pg_trial_worker_child",
        ("IW_TRIAL_PG", &url),
    );
    trials::verify(&outputs, &l);
}

#[test]
fn pg_corrupt_row_is_dependency_unavailable_not_another_state() {
    let Some(url) = schema_url("corrupt") else {
        return;
    };
    let clock = ManualClock::new(T0);
    let (life, store) = life(&url, &clock);
    life.create("t1", "image").unwrap();
    store
        .execute_raw("INSERT INTO iw_task_transitions (task_id, from_status, to_status, reason, actor, at) VALUES ('t1', 'pending', 'exploded', 'x', 'y', 7)")
        .unwrap();
    let e = life.transitions("t1").unwrap_err();
    assert_eq!(e.code(), ErrorCode::DependencyUnavailable, "{e:?}");
    assert_eq!(
        e.metadata()
            .and_then(|m| m.get("reason"))
            .and_then(|v| v.as_str()),
        Some("corrupt_row")
    );
    assert!(!e.to_json().to_string().contains("exploded"));
}
