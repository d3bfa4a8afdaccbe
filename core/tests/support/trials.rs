//! The multi-process exactly-once trial shared by the SQLite and PostgreSQL fault tests:
//! 100 trials of 20 image tasks, each trial's tasks claimed 100 minutes after the previous
//! one's; sweeper processes sweep once per trial just past that trial's deadline while a
//! worker process completes the even tasks. Children print `SWEPT id` / `DONE id`.

use std::collections::{HashMap, HashSet};
use std::process::{Command, Output, Stdio};

use inferwarden::clock::ManualClock;
use inferwarden::lifecycle::{Completion, Lifecycle, TaskStatus, TaskStore};

pub const T0: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;
pub const TRIALS: i64 = 100;
pub const PER_TRIAL: i64 = 20;
pub const SWEEPER_PROCESSES: usize = 32;

fn trial_now(trial: i64) -> i64 {
    T0 + trial * 100 * MIN + 10 * MIN + 1
}

/// Creates and claims every trial's tasks.
pub fn seed(life: &Lifecycle, clock: &ManualClock) {
    for trial in 0..TRIALS {
        clock.set_ms(T0 + trial * 100 * MIN);
        for i in 0..PER_TRIAL {
            let id = format!("t{trial}-{i}");
            life.create(&id, "image").unwrap();
            life.claim(&id, "w").unwrap();
        }
    }
}

/// Child body: one sweep per trial, printing every task failed.
pub fn sweeper(life: &Lifecycle, clock: &ManualClock) {
    for trial in 0..TRIALS {
        clock.set_ms(trial_now(trial));
        for t in life.sweep().unwrap().failed {
            println!("SWEPT {}", t.task_id);
        }
    }
}

/// Child body: completes the even tasks of each trial, printing every completion applied.
pub fn worker(store: &dyn TaskStore, clock: &ManualClock) {
    for trial in 0..TRIALS {
        clock.set_ms(trial_now(trial));
        for i in (0..PER_TRIAL).step_by(2) {
            let id = format!("t{trial}-{i}");
            let lease = store.get(&id).unwrap().unwrap().lease_id.unwrap();
            if matches!(
                store.complete(&id, &lease, "/r", "w").unwrap(),
                Completion::Applied { .. }
            ) {
                println!("DONE {id}");
            }
        }
    }
}

/// Runs 32 sweeper children and one worker child of the current test binary (the named
/// `#[ignore]`d tests) with `env`, and returns their outputs.
pub fn run_children(sweeper_test: &str, worker_test: &str, env: (&str, &str)) -> Vec<Output> {
    let spawn = |test: &str| {
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
    };
    let mut children: Vec<_> = (0..SWEEPER_PROCESSES)
        .map(|_| spawn(sweeper_test))
        .collect();
    children.push(spawn(worker_test));
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

fn tagged<'a>(out: &'a str, tag: &str) -> Vec<&'a str> {
    // libtest may print its own "test NAME ... " prefix on the first line.
    out.lines()
        .filter_map(|l| l.split(tag).nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .collect()
}

/// Every task ended exactly once: failed by exactly one sweeper or completed by the worker,
/// never both, in the matching status, with exactly one terminal transition row.
pub fn verify(outputs: &[Output], life: &Lifecycle) {
    let mut swept: HashMap<String, usize> = HashMap::new();
    let mut done = HashSet::new();
    for out in outputs {
        assert!(
            out.status.success(),
            "child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        for id in tagged(&stdout, "SWEPT ") {
            *swept.entry(id.to_owned()).or_default() += 1;
        }
        for id in tagged(&stdout, "DONE ") {
            assert!(done.insert(id.to_owned()), "{id} completed twice");
        }
    }
    assert!(swept.values().all(|n| *n == 1), "a task was failed twice");
    for trial in 0..TRIALS {
        for i in 0..PER_TRIAL {
            let id = format!("t{trial}-{i}");
            let (s, d) = (swept.contains_key(&id), done.contains(&id));
            assert!(s ^ d, "{id}: swept={s} done={d}");
            let terminal = life
                .transitions(&id)
                .unwrap()
                .iter()
                .filter(|t| t.to_status.is_terminal())
                .count();
            assert_eq!(terminal, 1, "{id}");
            let want = if d {
                TaskStatus::Done
            } else {
                TaskStatus::Failed
            };
            assert_eq!(life.get(&id).unwrap().unwrap().status, want, "{id}");
        }
    }
    assert_eq!(swept.len() + done.len(), (TRIALS * PER_TRIAL) as usize);
}
