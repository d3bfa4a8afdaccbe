//! The one tokio runtime a process's bindings share (feature `tokio`), created lazily on
//! first use: multi-threaded, at most four worker threads named `inferwarden-rt`, with I/O
//! and timers enabled.
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

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// A runtime configured the way the bindings use it (Node hands one to napi-rs).
pub fn build() -> Result<Runtime, Error> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get().clamp(1, 4))
        .unwrap_or(2);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("inferwarden-rt")
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
/// module documentation) or when it could not be started.
pub fn shared() -> Result<&'static Runtime, Error> {
    let shared = SHARED.get_or_init(|| {
        build()
            .map(|runtime| Shared {
                pid: std::process::id(),
                runtime,
            })
            .map_err(|e| e.detail().to_owned())
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
        Err(detail) => Err(Error::with_detail(ErrorCode::InternalError, detail.clone())),
    }
}

/// Runs `future` to completion on the shared runtime from synchronous code (the bindings'
/// blocking calls; never from inside the runtime).
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output, Error> {
    Ok(shared()?.block_on(future))
}

/// The runtime whose blocking pool takes blocking work started here: the one the caller runs
/// on (napi-rs's in Node), or the shared runtime outside any (a Python event loop's thread).
pub fn pool() -> Result<tokio::runtime::Handle, Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(here) => Ok(here),
        Err(_) => Ok(shared()?.handle().clone()),
    }
}

/// Runs the blocking function `f` on the blocking pool of the runtime this is awaited on
/// (napi-rs's in Node), or of the shared runtime outside one, so an async caller's executor
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
