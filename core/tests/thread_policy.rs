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
    // The configuration's environment overrides leave the variable alone.
    assert!(inferwarden::config::RESERVED_ENV_VARS.contains(&POLICY_ENV));
}

#[test]
fn normal_leaves_a_thread_as_it_was() {
    use inferwarden::thread_policy::RuntimeThreads;
    let policy = std::thread::spawn(|| {
        let before = current_thread_policy();
        (before, RuntimeThreads::Normal.apply_to_current_thread())
    })
    .join()
    .unwrap();
    assert_eq!(policy.0, policy.1);
    assert_ne!(policy.1, SchedPolicy::Batch);
}
