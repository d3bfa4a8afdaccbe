//! The one tokio runtime a process's bindings share (feature `tokio`), created lazily on
//! first use: multi-threaded, at most four worker threads named `inferwarden-rt`, with I/O
//! and timers enabled. Its threads (workers and blocking pool) run in `SCHED_BATCH` on Linux,
//! so they never preempt the application's event loop when a store reply wakes them
//! ([`crate::thread_policy`]). Both bindings use [`shared`] (Node: every promise, from the
//! main thread or a worker thread).
//!
//! Fork safety: a forked child inherits the runtime's memory but none of its threads, so a
//! future handed to it would never run and the caller would hang. [`shared`] remembers the
//! process id that created the runtime and refuses (`internal_error`, metadata
//! `reason: used_after_fork`) when called from any other process. Create the clients that
//! use it after forking (gunicorn `post_fork`, or a `--preload`-free start), never before.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

use crate::error::{Error, ErrorCode};

struct Shared {
    pid: u32,
    runtime: Runtime,
}

static SHARED: OnceLock<Result<Shared, Error>> = OnceLock::new();

/// A runtime configured the way the bindings use it ([`shared`] is one): every
/// thread it starts, worker or blocking, first gives up wake-up preemption
/// ([`crate::thread_policy`]), unless `INFERWARDEN_RUNTIME_SCHED=normal`; another value of
/// that variable is `config_invalid`.
pub fn build() -> Result<Runtime, Error> {
    let threads = crate::thread_policy::RuntimeThreads::from_env()?;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get().clamp(1, 4))
        .unwrap_or(2);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("inferwarden-rt")
        .on_thread_start(move || {
            threads.apply_to_current_thread();
        })
        .enable_all()
        .build()
        .map_err(|_| {
            Error::with_detail(
                ErrorCode::InternalError,
                "the async runtime could not be started",
            )
        })
}

/// The process-wide runtime, created on first use; `internal_error` after a fork (see the
/// module documentation). When it could not be built, [`build`]'s error on every call
/// (`config_invalid` for a bad `INFERWARDEN_RUNTIME_SCHED`, else `internal_error`).
pub fn shared() -> Result<&'static Runtime, Error> {
    let shared = SHARED.get_or_init(|| {
        build().map(|runtime| Shared {
            pid: std::process::id(),
            runtime,
        })
    });
    match shared {
        Ok(s) if s.pid == std::process::id() => Ok(&s.runtime),
        Ok(s) => Err(Error::with_detail(
            ErrorCode::InternalError,
            format!(
                "the inferwarden async runtime was started in process {} and cannot run in \
                 forked process {}; create clients after fork",
                s.pid,
                std::process::id()
            ),
        )
        .meta("reason", "used_after_fork")),
        Err(error) => Err(error.clone()),
    }
}

/// Runs `future` to completion on the shared runtime from synchronous code (the bindings'
/// blocking calls; never from inside the runtime).
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Error> {
    Ok(shared()?.block_on(future))
}

/// The runtime whose blocking pool takes blocking work started here: the one the caller runs
/// on (the shared one, inside a binding's future), or the shared runtime outside any (a
/// Python event loop's thread, Node's JS thread).
pub fn pool() -> Result<tokio::runtime::Handle, Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(here) => Ok(here),
        Err(_) => Ok(shared()?.handle().clone()),
    }
}

/// Runs the blocking function `f` on the blocking pool of the runtime this is awaited on
/// (the shared one, in the bindings), or of the shared runtime outside one, so an async caller's executor
/// never waits on it (e.g. `blocking(inferwarden::metrics::render)`, whose session counts
/// are store queries). `internal_error` when `f` panics or the runtime is gone.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    pool()?.spawn_blocking(f).await.map_err(|_| {
        Error::with_detail(
            ErrorCode::InternalError,
            "a blocking call on the runtime did not complete",
        )
    })
}
