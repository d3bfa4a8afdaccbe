//! The scheduling policy of the runtime's threads (feature `tokio`): they never take the CPU
//! from the application's own threads when they wake up.
//!
//! A binding's caller decides on an event loop (asyncio, Node's JS thread): that one thread
//! serves every request, and its latency is the service's latency. The runtime's threads
//! (its workers and its blocking pool, where a decision waits on PostgreSQL or Redis) wake
//! up once per store reply. Under Linux's default policy (`SCHED_OTHER`) a thread that wakes
//! may preempt the thread that is running; on a worker limited to one CPU that is the event
//! loop, in the middle of another request, each time a reply arrives. Measured on a 2-vCPU
//! VM (BENCHMARKS.md, fourteenth session): with a PostgreSQL + Redis route at half its
//! throughput, a trivial route's p99 rose by a median of +1.6 ms over ten rounds (4 rounds
//! above +2 ms); with the runtime's threads in `SCHED_BATCH`, +0.5 ms (1 round above).
//!
//! `SCHED_BATCH` (Linux) keeps the normal weight, so the runtime's threads get the same
//! share of the CPU as before and are never starved; only wake-up preemption is given up:
//! a woken thread runs when the running one sleeps (the event loop waiting for I/O) or its
//! slice ends. Any thread may switch itself between `SCHED_OTHER` and `SCHED_BATCH` without
//! privileges. Elsewhere (macOS, Windows) nothing changes. A system that refuses the change
//! (a seccomp filter) only gives up the gain; [`current_thread_policy`] tells.
//!
//! Like any policy, it is inherited: a thread or process started from one of the runtime's
//! threads (a subprocess spawned by a blocking task) starts in `SCHED_BATCH` too. An
//! application running under a real-time policy gets its runtime threads in `SCHED_BATCH`
//! unless it sets `INFERWARDEN_RUNTIME_SCHED=normal`.
//!
//! The cost, measured in the same session: a route that waits on a store and is itself
//! saturated on one CPU (the loop never sleeps) sees its own p99 rise (7.1 to 11.8 ms at 16
//! connections), since a woken decision waits for the loop's slice to end; its throughput is
//! unchanged. A deployment that prefers the old behaviour sets
//! `INFERWARDEN_RUNTIME_SCHED=normal` ([`RuntimeThreads`]) before the runtime starts.
#![allow(unsafe_code)]

use crate::error::{Error, ErrorCode};

/// The environment variable that chooses the runtime threads' policy: `batch` (the default
/// when unset or empty) or `normal` (change nothing). Read when a runtime is built.
pub const POLICY_ENV: &str = "INFERWARDEN_RUNTIME_SCHED";

/// What the runtime's threads do when they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeThreads {
    /// `SCHED_BATCH` on Linux: no wake-up preemption (the default).
    Batch,
    /// Change nothing: the thread keeps the policy it inherited from the thread that started
    /// it (`SCHED_OTHER` unless the application set another).
    Normal,
}

impl RuntimeThreads {
    /// The choice in [`POLICY_ENV`]; `config_invalid` (with `metadata.field` naming the
    /// variable) for any value but `batch`, `normal` or empty.
    pub fn from_env() -> Result<RuntimeThreads, Error> {
        RuntimeThreads::parse_os(std::env::var_os(POLICY_ENV).as_deref())
    }

    /// Parses a value of [`POLICY_ENV`] as the environment holds it (`None`: unset); a value
    /// that is not UTF-8 is `config_invalid`, never taken for unset.
    pub fn parse_os(value: Option<&std::ffi::OsStr>) -> Result<RuntimeThreads, Error> {
        match value.map(|v| v.to_str()) {
            None => RuntimeThreads::parse(None),
            Some(Some(text)) => RuntimeThreads::parse(Some(text)),
            Some(None) => Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("{POLICY_ENV} must be `batch` or `normal`, not a value that is not UTF-8"),
            )
            .meta("field", POLICY_ENV)),
        }
    }

    /// Parses a value of [`POLICY_ENV`] (`None`: unset).
    pub fn parse(value: Option<&str>) -> Result<RuntimeThreads, Error> {
        match value.map(str::trim) {
            None | Some("") | Some("batch") => Ok(RuntimeThreads::Batch),
            Some("normal") => Ok(RuntimeThreads::Normal),
            Some(other) => Err(Error::with_detail(
                ErrorCode::ConfigInvalid,
                format!("{POLICY_ENV} must be `batch` or `normal`, not {other:?}"),
            )
            .meta("field", POLICY_ENV)),
        }
    }

    /// Applies the choice to the calling thread; returns the thread's policy afterwards.
    pub fn apply_to_current_thread(self) -> SchedPolicy {
        match self {
            RuntimeThreads::Batch => yield_to_application_threads(),
            RuntimeThreads::Normal => current_thread_policy(),
        }
    }
}

/// A thread's scheduling policy as far as the runtime cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedPolicy {
    /// Linux `SCHED_OTHER`: the default time-sharing policy.
    Normal,
    /// Linux `SCHED_BATCH`: time sharing without wake-up preemption.
    Batch,
    /// Any other policy (real-time, `SCHED_IDLE`), or one that could not be read.
    Other,
    /// Not Linux: the policy is not read or changed.
    Unsupported,
}

/// Puts the calling thread in `SCHED_BATCH` (Linux; nothing elsewhere). What every thread of
/// [`crate::runtime::build`]'s runtime runs when it starts, unless [`POLICY_ENV`] says
/// `normal`. Returns the policy the thread
/// has afterwards: `Normal` when the system refused the change (a seccomp filter), which
/// only gives up the latency gain.
pub fn yield_to_application_threads() -> SchedPolicy {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // The system call itself, not libc's wrapper: musl's wrappers are stubs that fail
        // with ENOSYS. SAFETY: `param` is a valid, initialised `sched_param` that outlives
        // the call; pid 0 names the calling thread; the kernel only reads `param`.
        unsafe {
            libc::syscall(
                libc::SYS_sched_setscheduler,
                0 as libc::pid_t,
                libc::SCHED_BATCH,
                &param as *const libc::sched_param,
            );
        }
    }
    current_thread_policy()
}

/// The calling thread's scheduling policy.
pub fn current_thread_policy() -> SchedPolicy {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: no argument but pid 0 (the calling thread); returns the policy or -1. The
        // system call itself, as above. `SCHED_RESET_ON_FORK` may be or-ed into the result.
        let policy = unsafe { libc::syscall(libc::SYS_sched_getscheduler, 0 as libc::pid_t) };
        match policy.max(-1) as libc::c_int & !libc::SCHED_RESET_ON_FORK {
            libc::SCHED_OTHER => SchedPolicy::Normal,
            libc::SCHED_BATCH => SchedPolicy::Batch,
            _ => SchedPolicy::Other,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        SchedPolicy::Unsupported
    }
}
