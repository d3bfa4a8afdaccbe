//! The task lifecycle against a state-machine model (property-based, proptest): random
//! interleavings of create, claim, heartbeat, complete, fail, clock advances and sweeps by
//! three workers and a sweeper, on the SQLite store and (when the test command started it)
//! PostgreSQL. Every call's outcome (the claim, the
//! typed `Completion`, the error code) and every task's state must be what the model says;
//! each sweep fails exactly the tasks the model finds stale, for the model's reason; a
//! terminal task never changes again and has exactly one terminal transition row.
#![cfg(feature = "sqlite")]

#[path = "support/services.rs"]
mod services;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::ManualClock;
use inferwarden::config::PolicyConfig;
#[cfg(feature = "postgres")]
use inferwarden::lifecycle::PostgresTaskStore;
use inferwarden::lifecycle::{
    Completion, Lifecycle, SqliteTaskStore, TaskStatus, TaskStore, TimeSource,
};
use inferwarden::ErrorCode;
use proptest::prelude::*;

const T0: i64 = 1_800_000_000_000;
const TTL_MS: i64 = 600_000;
const PENDING_MS: i64 = 120_000;
const HEARTBEAT_MS: i64 = 60_000;
const TASKS: usize = 4;
const WORKERS: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    Create(usize),
    Claim(usize, usize),
    Heartbeat(usize, usize),
    Complete(usize, usize),
    Fail(usize, usize),
    Advance(i64),
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    let task = 0..TASKS;
    let worker = 0..WORKERS;
    prop_oneof![
        2 => task.clone().prop_map(Op::Create),
        3 => (task.clone(), worker.clone()).prop_map(|(t, w)| Op::Claim(t, w)),
        2 => (task.clone(), worker.clone()).prop_map(|(t, w)| Op::Heartbeat(t, w)),
        2 => (task.clone(), worker.clone()).prop_map(|(t, w)| Op::Complete(t, w)),
        1 => (task, worker).prop_map(|(t, w)| Op::Fail(t, w)),
        2 => prop_oneof![
            Just(1_000i64),
            Just(HEARTBEAT_MS - 1),
            Just(HEARTBEAT_MS),
            Just(HEARTBEAT_MS + 1),
            Just(PENDING_MS + 1),
            Just(TTL_MS),
        ]
        .prop_map(Op::Advance),
        2 => Just(Op::Sweep),
    ]
}

/// The model's view of one task.
#[derive(Debug, Clone)]
struct Task {
    status: TaskStatus,
    created: i64,
    lease: Option<String>,
    deadline: Option<i64>,
    heartbeat: Option<i64>,
    result: Option<String>,
    error: Option<String>,
    finished: Option<i64>,
}

#[derive(Default)]
struct Model {
    tasks: BTreeMap<usize, Task>,
    /// The lease each worker last got for each task.
    leases: HashMap<(usize, usize), String>,
}

impl Model {
    /// What a report that matched no row gets (the store's rule, restated).
    fn miss(t: &Task, lease: &str, target: TaskStatus, value: &str, now: i64) -> Completion {
        match t.status {
            TaskStatus::Failed
                if target == TaskStatus::Failed
                    && t.lease.as_deref() == Some(lease)
                    && t.error.as_deref() == Some(value) =>
            {
                Completion::Repeated
            }
            TaskStatus::Failed => Completion::AlreadyFailed {
                error_code: t.error.clone().unwrap(),
                late_by_ms: if t.error.as_deref() == Some("stale_timeout") {
                    now - t.deadline.unwrap()
                } else {
                    now - t.finished.unwrap()
                },
            },
            TaskStatus::Done
                if target == TaskStatus::Done
                    && t.lease.as_deref() == Some(lease)
                    && t.result.as_deref() == Some(value) =>
            {
                Completion::Repeated
            }
            TaskStatus::Done => Completion::AlreadyDone,
            TaskStatus::Processing => Completion::LeaseMismatch,
            TaskStatus::Pending => Completion::NotProcessing,
        }
    }

    /// The tasks a sweep at `now` fails, with the reason (the stale pass runs first).
    fn stale(&self, now: i64) -> BTreeSet<(usize, String)> {
        let mut out = BTreeSet::new();
        for (i, t) in &self.tasks {
            let reason = match t.status {
                TaskStatus::Processing if t.deadline.unwrap() < now => "stale_timeout",
                TaskStatus::Processing if t.heartbeat.unwrap() < now - HEARTBEAT_MS => {
                    "heartbeat_timeout"
                }
                TaskStatus::Pending if t.created < now - PENDING_MS => "worker_start_timeout",
                _ => continue,
            };
            out.insert((*i, reason.to_owned()));
        }
        out
    }
}

fn id(t: usize) -> String {
    format!("task-{t}")
}

/// A fresh SQLite task store in a temporary directory (removed by the caller).
fn sqlite_store(clock: &ManualClock) -> (Arc<dyn TaskStore>, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!(
        "iw_lifecycle_model_{}_{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteTaskStore::open(
        dir.join("tasks.db"),
        TimeSource::Injected(Arc::new(clock.clone())),
    )
    .unwrap();
    (Arc::new(store), dir)
}

fn run(ops: &[Op], store: Arc<dyn TaskStore>, clock: ManualClock) {
    let mut config = PolicyConfig::default();
    config.stale.processing_ttl_s = BTreeMap::from([("image".to_owned(), (TTL_MS / 1000) as u64)]);
    config.stale.pending_start_timeout_s = (PENDING_MS / 1000) as u64;
    config.stale.heartbeat_timeout_s = (HEARTBEAT_MS / 1000) as u64;
    let life = Lifecycle::new(
        store,
        &config,
        Arc::new(MemoryAuditSink::new()),
        Arc::new(clock.clone()),
    );
    let mut m = Model::default();
    let mut now = T0;
    for (step, op) in ops.iter().enumerate() {
        let lease_of = |m: &Model, t: usize, w: usize| {
            m.leases
                .get(&(w, t))
                .cloned()
                .unwrap_or_else(|| format!("never-claimed-{w}"))
        };
        match *op {
            Op::Create(t) => {
                let got = life.create(&id(t), "image");
                match m.tasks.entry(t) {
                    std::collections::btree_map::Entry::Occupied(_) => assert_eq!(
                        got.unwrap_err().code(),
                        ErrorCode::InvalidTransition,
                        "{step}"
                    ),
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        assert_eq!(got.unwrap().status, TaskStatus::Pending, "{step}");
                        slot.insert(Task {
                            status: TaskStatus::Pending,
                            created: now,
                            lease: None,
                            deadline: None,
                            heartbeat: None,
                            result: None,
                            error: None,
                            finished: None,
                        });
                    }
                }
            }
            Op::Claim(t, w) => {
                let got = life.claim(&id(t), &format!("w{w}"));
                match m.tasks.get_mut(&t) {
                    None => assert_eq!(got.unwrap_err().code(), ErrorCode::TaskNotFound),
                    Some(task) if task.status == TaskStatus::Pending => {
                        let claim = got.unwrap_or_else(|e| panic!("step {step}: {e:?}"));
                        assert_eq!(claim.stale_deadline, now + TTL_MS);
                        task.status = TaskStatus::Processing;
                        task.lease = Some(claim.lease_id.clone());
                        task.deadline = Some(now + TTL_MS);
                        task.heartbeat = Some(now);
                        m.leases.insert((w, t), claim.lease_id);
                    }
                    Some(_) => {
                        assert_eq!(
                            got.unwrap_err().code(),
                            ErrorCode::InvalidTransition,
                            "{step}"
                        )
                    }
                }
            }
            Op::Heartbeat(t, w) | Op::Complete(t, w) | Op::Fail(t, w) => {
                let lease = lease_of(&m, t, w);
                let worker = format!("w{w}");
                let path = format!("/results/{w}.png");
                let (got, target, value) = match op {
                    Op::Heartbeat(..) => {
                        (life.heartbeat(&id(t), &lease), TaskStatus::Processing, "")
                    }
                    Op::Complete(..) => (
                        life.complete(&id(t), &lease, &path, &worker),
                        TaskStatus::Done,
                        path.as_str(),
                    ),
                    _ => (
                        life.fail(&id(t), &lease, "worker_oom", "out of memory", &worker),
                        TaskStatus::Failed,
                        "worker_oom",
                    ),
                };
                let Some(task) = m.tasks.get_mut(&t) else {
                    assert_eq!(got.unwrap_err().code(), ErrorCode::TaskNotFound, "{step}");
                    continue;
                };
                let applies = task.status == TaskStatus::Processing
                    && task.lease.as_deref() == Some(lease.as_str());
                let got = got.unwrap_or_else(|e| panic!("step {step} {op:?}: {e:?}"));
                if applies {
                    assert!(
                        matches!(got, Completion::Applied { .. }),
                        "step {step} {op:?}: {got:?}"
                    );
                    match target {
                        TaskStatus::Processing => task.heartbeat = Some(now),
                        TaskStatus::Done => {
                            task.status = TaskStatus::Done;
                            task.result = Some(value.to_owned());
                            task.finished = Some(now);
                        }
                        _ => {
                            task.status = TaskStatus::Failed;
                            task.error = Some(value.to_owned());
                            task.finished = Some(now);
                        }
                    }
                } else {
                    let want = Model::miss(task, &lease, target, value, now);
                    assert_eq!(got, want, "step {step} {op:?}");
                }
            }
            Op::Advance(ms) => {
                now += ms;
                clock.set_ms(now);
            }
            Op::Sweep => {
                let want = m.stale(now);
                let report = life.sweep().unwrap();
                let got: BTreeSet<(usize, String)> = report
                    .failed
                    .iter()
                    .map(|s| {
                        let t: usize = s.task_id.trim_start_matches("task-").parse().unwrap();
                        (t, s.reason.clone())
                    })
                    .collect();
                assert_eq!(
                    got, want,
                    "step {step}: the sweep fails exactly the stale tasks"
                );
                assert_eq!(report.failed.len(), got.len(), "each task at most once");
                for (t, reason) in want {
                    let task = m.tasks.get_mut(&t).unwrap();
                    task.status = TaskStatus::Failed;
                    task.error = Some(reason);
                    task.finished = Some(now);
                }
            }
        }
        // Every task is where the model says, with one terminal row once terminal.
        for (t, want) in &m.tasks {
            let got = life.get(&id(*t)).unwrap().unwrap();
            assert_eq!(got.status, want.status, "step {step} {op:?}: task {t}");
            assert_eq!(got.lease_id, want.lease, "step {step}: task {t}");
            if matches!(want.status, TaskStatus::Done | TaskStatus::Failed) {
                assert_eq!(got.result_path, want.result, "step {step}: task {t}");
                assert_eq!(got.error_code, want.error, "step {step}: task {t}");
                let terminal = life
                    .transitions(&id(*t))
                    .unwrap()
                    .iter()
                    .filter(|r| matches!(r.to_status, TaskStatus::Done | TaskStatus::Failed))
                    .count();
                assert_eq!(
                    terminal, 1,
                    "step {step}: task {t} has one terminal transition"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    #[test]
    fn random_interleavings_match_the_state_machine(ops in prop::collection::vec(op(), 1..60)) {
        let clock = ManualClock::new(T0);
        let (store, dir) = sqlite_store(&clock);
        run(&ops, store, clock);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(feature = "postgres")]
proptest! {
    // Each case opens a fresh schema: the same model, 100 cases.
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn random_interleavings_match_the_state_machine_on_postgres(
        ops in prop::collection::vec(op(), 1..60)
    ) {
        let Some(schema) = services::isolated_postgres("life_model") else {
            return Ok(());
        };
        let clock = ManualClock::new(T0);
        let store = PostgresTaskStore::connect(
            &schema.url,
            TimeSource::Injected(Arc::new(clock.clone())),
        )
        .unwrap();
        run(&ops, Arc::new(store), clock);
    }
}
