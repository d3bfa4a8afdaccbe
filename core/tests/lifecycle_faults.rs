//! Fault tests for the SQLite lifecycle store: a busy database (SQLITE_BUSY), a sweeper
//! process killed before its update, between its update and the transition rows, and during
//! commit, and 32 sweeper processes plus a worker process racing over 100 trials. The child
//! bodies are `#[ignore]`d tests that their parents run with `--ignored --exact`.
#![cfg(feature = "sqlite")]

#[path = "support/trials.rs"]
mod trials;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
use inferwarden::lifecycle::{Lifecycle, SqliteTaskStore, TaskStatus, TimeSource};
use inferwarden::ErrorCode;

const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

fn temp_db(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("iw-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}-{}.db", N.fetch_add(1, Ordering::SeqCst)));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
    }
    p
}

fn lifecycle(store: Arc<SqliteTaskStore>, clock: &ManualClock) -> Lifecycle {
    Lifecycle::new(
        store,
        &PolicyConfig::default(),
        Arc::new(MemoryAuditSink::new()),
        Arc::new(clock.clone()),
    )
}

fn open(path: &Path, clock: &ManualClock) -> Arc<SqliteTaskStore> {
    Arc::new(SqliteTaskStore::open(path, TimeSource::Injected(Arc::new(clock.clone()))).unwrap())
}

fn terminal_rows(life: &Lifecycle, id: &str) -> usize {
    life.transitions(id)
        .unwrap()
        .iter()
        .filter(|t| t.to_status.is_terminal())
        .count()
}

fn child(test: &str, envs: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        test,
        "--ignored",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

#[test]
fn busy_database_fails_the_sweep_with_a_typed_error_and_halves_the_batch() {
    let path = temp_db("busy");
    let clock = ManualClock::new(T0);
    let store = Arc::new(
        SqliteTaskStore::open_with_busy_timeout(
            &path,
            TimeSource::Injected(Arc::new(clock.clone())),
            Duration::from_millis(150),
        )
        .unwrap(),
    );
    let life = lifecycle(store, &clock);
    for i in 0..6 {
        life.create(&format!("t{i}"), "image").unwrap();
        life.claim(&format!("t{i}"), "w").unwrap();
    }
    clock.set_ms(T0 + 10 * MIN + 1);
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let err = life.sweep().unwrap_err();
    assert_eq!(err.code(), ErrorCode::DependencyUnavailable);
    assert_eq!(
        err.metadata().and_then(|m| m.get("busy")),
        Some(&serde_json::Value::Bool(true)),
        "{err:?}"
    );
    let full = PolicyConfig::default().stale.sweep_batch_size;
    assert_eq!(full, 1000);
    assert_eq!(
        life.current_batch(),
        full / 2,
        "batch halves after a busy sweep"
    );
    let _ = life.sweep().unwrap_err();
    assert_eq!(life.current_batch(), full / 4);
    for i in 0..6 {
        assert_eq!(
            life.get(&format!("t{i}")).unwrap().unwrap().status,
            TaskStatus::Processing
        );
    }
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    let report = life.sweep();
    assert_eq!(report.unwrap().failed.len(), 6, "converges once free");
    assert_eq!(life.current_batch(), full / 2, "batch grows back");
    for i in 0..6 {
        assert_eq!(terminal_rows(&life, &format!("t{i}")), 1);
    }
}

/// Child body: sweeps `IW_CRASH_DB` and aborts the process at `IW_CRASH_POINT`.
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn crash_child() {
    let Ok(path) = std::env::var("IW_CRASH_DB") else {
        return;
    };
    let point = std::env::var("IW_CRASH_POINT").unwrap();
    let clock = ManualClock::new(std::env::var("IW_NOW").unwrap().parse().unwrap());
    let store = open(Path::new(&path), &clock);
    store
        .with_connection(|c| {
            c.create_scalar_function(
                "iw_crash",
                0,
                rusqlite::functions::FunctionFlags::SQLITE_UTF8,
                |_| -> rusqlite::Result<i64> { std::process::abort() },
            )
            .unwrap();
            match point.as_str() {
                // The first stale row is about to be updated.
                "before_update" => c.execute_batch(
                    "CREATE TEMP TRIGGER crash BEFORE UPDATE ON main.iw_tasks WHEN NEW.status = 'failed' BEGIN SELECT iw_crash(); END",
                ),
                // Rows updated, the transition rows not yet written.
                "between_update_and_audit" => c.execute_batch(
                    "CREATE TEMP TRIGGER crash BEFORE INSERT ON main.iw_task_transitions WHEN NEW.to_status = 'failed' BEGIN SELECT iw_crash(); END",
                ),
                // Everything written; the process dies inside COMMIT.
                "during_commit" => {
                    c.commit_hook(Some(|| -> bool { std::process::abort() }));
                    Ok(())
                }
                other => panic!("unknown crash point {other}"),
            }
            .unwrap();
        })
        .unwrap();
    let _ = lifecycle(store, &clock).sweep();
    unreachable!("the sweep should have crashed the process");
}

#[test]
fn a_sweeper_killed_mid_sweep_leaves_no_partial_state_and_the_next_sweep_converges() {
    for point in ["before_update", "between_update_and_audit", "during_commit"] {
        let path = temp_db(point);
        let clock = ManualClock::new(T0);
        let life = lifecycle(open(&path, &clock), &clock);
        for i in 0..5 {
            life.create(&format!("t{i}"), "image").unwrap();
            life.claim(&format!("t{i}"), "w").unwrap();
        }
        let now = T0 + 10 * MIN + 1;
        let out = child(
            "crash_child",
            &[
                ("IW_CRASH_DB", path.display().to_string()),
                ("IW_CRASH_POINT", point.to_owned()),
                ("IW_NOW", now.to_string()),
            ],
        )
        .output()
        .unwrap();
        assert!(
            !out.status.success(),
            "{point}: the child must have died: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A fresh connection sees the database as it was before the killed sweep.
        let fresh = lifecycle(open(&path, &clock), &clock);
        for i in 0..5 {
            let id = format!("t{i}");
            assert_eq!(
                fresh.get(&id).unwrap().unwrap().status,
                TaskStatus::Processing,
                "{point}: {id} rolled back"
            );
            assert_eq!(terminal_rows(&fresh, &id), 0, "{point}: no orphan row");
        }
        clock.set_ms(now);
        assert_eq!(fresh.sweep().unwrap().failed.len(), 5, "{point}");
        for i in 0..5 {
            assert_eq!(terminal_rows(&fresh, &format!("t{i}")), 1, "{point}");
        }
    }
}

/// Child body of the 32-process trial: a sweeper.
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn trial_sweeper_child() {
    let Ok(path) = std::env::var("IW_TRIAL_DB") else {
        return;
    };
    let clock = ManualClock::new(trials::T0);
    trials::sweeper(&lifecycle(open(Path::new(&path), &clock), &clock), &clock);
}

/// Child body of the 32-process trial: the worker.
#[test]
#[ignore = "child-process body: run by its parent test with --ignored"]
fn trial_worker_child() {
    let Ok(path) = std::env::var("IW_TRIAL_DB") else {
        return;
    };
    let clock = ManualClock::new(trials::T0);
    trials::worker(open(Path::new(&path), &clock).as_ref(), &clock);
}

/// 32 sweeper processes and one worker process over 100 trials of 20 tasks: every task ends
/// exactly once (failed by exactly one sweeper, or completed by the worker), with exactly
/// one terminal transition row.
#[test]
fn thirty_two_sweeper_processes_over_100_trials() {
    let path = temp_db("trials");
    let clock = ManualClock::new(trials::T0);
    let life = lifecycle(open(&path, &clock), &clock);
    trials::seed(&life, &clock);
    let outputs = trials::run_children(
        "trial_sweeper_child",
        "trial_worker_child",
        ("IW_TRIAL_DB", &path.display().to_string()),
    );
    trials::verify(&outputs, &life);
}
