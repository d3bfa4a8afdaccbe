//! The runtime's threads give up wake-up preemption (`SCHED_BATCH`, Linux); the threads of
//! the application that calls into it keep their own policy.
#![cfg(all(feature = "tokio", target_os = "linux"))]

use inferwarden::thread_policy::{
    current_thread_policy, yield_to_application_threads, SchedPolicy,
};

#[test]
fn every_thread_of_a_built_runtime_runs_in_batch_and_the_caller_keeps_its_policy() {
    let caller = current_thread_policy();
    let runtime = inferwarden::runtime::build().unwrap();
    let (worker, blocking) = runtime.block_on(async {
        let worker = tokio::spawn(async { current_thread_policy() })
            .await
            .unwrap();
        let blocking = tokio::task::spawn_blocking(current_thread_policy)
            .await
            .unwrap();
        (worker, blocking)
    });
    assert_eq!(worker, SchedPolicy::Batch, "an async worker thread");
    assert_eq!(blocking, SchedPolicy::Batch, "a blocking-pool thread");
    // `block_on` ran the outer future on this (the caller's) thread: unchanged.
    assert_eq!(current_thread_policy(), caller);
}

#[test]
fn blocking_work_handed_to_the_shared_runtime_runs_in_batch() {
    let caller = current_thread_policy();
    let policy =
        inferwarden::runtime::block_on(inferwarden::runtime::blocking(current_thread_policy))
            .unwrap()
            .unwrap();
    assert_eq!(policy, SchedPolicy::Batch);
    assert_eq!(current_thread_policy(), caller);
}

#[test]
fn a_thread_can_put_itself_in_batch_without_privileges() {
    let caller = current_thread_policy();
    let policy = std::thread::spawn(yield_to_application_threads)
        .join()
        .unwrap();
    assert_eq!(policy, SchedPolicy::Batch);
    // Only the thread that asked changed.
    assert_eq!(current_thread_policy(), caller);
}

#[test]
fn the_environment_chooses_batch_or_normal_and_refuses_anything_else() {
    use inferwarden::thread_policy::{RuntimeThreads, POLICY_ENV};
    for (value, want) in [
        (None, RuntimeThreads::Batch),
        (Some(""), RuntimeThreads::Batch),
        (Some("batch"), RuntimeThreads::Batch),
        (Some(" normal "), RuntimeThreads::Normal),
    ] {
        assert_eq!(RuntimeThreads::parse(value).unwrap(), want, "{value:?}");
    }
    for bad in ["BATCH", "idle", "fifo", "0"] {
        let err = RuntimeThreads::parse(Some(bad)).unwrap_err();
        assert_eq!(err.code_str(), "config_invalid", "{bad}");
        assert_eq!(err.metadata().unwrap()["field"], POLICY_ENV);
        assert!(err.detail().contains(bad), "{}", err.detail());
    }
    // As the environment holds it: bytes that are not UTF-8 are refused, not taken for unset.
    use std::os::unix::ffi::OsStrExt;
    let err =
        RuntimeThreads::parse_os(Some(std::ffi::OsStr::from_bytes(b"batch\xff"))).unwrap_err();
    assert_eq!(err.code_str(), "config_invalid");
    assert_eq!(err.metadata().unwrap()["field"], POLICY_ENV);
    assert_eq!(
        RuntimeThreads::parse_os(None).unwrap(),
        RuntimeThreads::Batch
    );
    assert_eq!(
        RuntimeThreads::parse_os(Some("normal".as_ref())).unwrap(),
        RuntimeThreads::Normal
    );
    // The configuration's environment overrides leave the variable alone.
    assert!(inferwarden::config::RESERVED_ENV_VARS.contains(&POLICY_ENV));
}

#[test]
fn normal_changes_nothing_on_a_thread() {
    use inferwarden::thread_policy::RuntimeThreads;
    let policies = std::thread::spawn(|| {
        let batch = yield_to_application_threads();
        (batch, RuntimeThreads::Normal.apply_to_current_thread())
    })
    .join()
    .unwrap();
    // A thread already in batch stays there: `normal` never sets a policy of its own.
    assert_eq!(policies, (SchedPolicy::Batch, SchedPolicy::Batch));
}

/// Set in the child process that `build_reads_the_environment_once_per_runtime` starts.
const CHILD: &str = "INFERWARDEN_TEST_THREAD_POLICY_CHILD";

/// The child's side: builds a runtime under the environment it was given and prints what
/// its threads run in, or the error. Does nothing in an ordinary test run.
#[test]
fn child_builds_a_runtime_under_its_environment() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    match inferwarden::runtime::build() {
        Ok(runtime) => {
            let task = runtime.spawn_blocking(current_thread_policy);
            let policy = runtime.block_on(task).unwrap();
            println!(
                "CHILD-RESULT {policy:?} caller {:?}",
                current_thread_policy()
            );
        }
        Err(e) => println!("CHILD-RESULT {} {}", e.code_str(), e.detail()),
    }
}

fn child(value: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_builds_a_runtime_under_its_environment",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .env(inferwarden::thread_policy::POLICY_ENV, value)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.split_once("CHILD-RESULT ").map(|(_, result)| result))
        .unwrap_or_else(|| panic!("no result in {stdout}"))
        .to_owned()
}

#[test]
fn build_reads_the_environment() {
    let caller = format!("{:?}", current_thread_policy());
    assert_eq!(child("batch"), format!("Batch caller {caller}"));
    assert_eq!(child(""), format!("Batch caller {caller}"));
    // `normal`: the runtime's threads keep the policy they inherit from the caller.
    assert_eq!(child("normal"), format!("{caller} caller {caller}"));
    let refused = child("fifo");
    assert!(
        refused.starts_with("config_invalid INFERWARDEN_RUNTIME_SCHED must be"),
        "{refused}"
    );
}
