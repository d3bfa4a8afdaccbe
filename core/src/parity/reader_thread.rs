//! The thread sources are read on. Parsers and tree walks recurse, and a hostile, deeply
//! nested source must not overflow the caller's stack, so every file is read on a thread
//! with a 256 MiB stack. One such thread is kept idle between files and reused, instead of
//! starting a thread and mapping a stack for every file (a check reads dozens of files, a
//! build plugin's watch mode re-reads them on every change).
//!
//! A job that panics ends with no result ([`Running::wait`] gives `None`); the thread
//! survives it. A caller that stops waiting for a job ([`Running`] dropped unfinished: a
//! parse past its budget) leaves that thread to its job; when the job ends the thread
//! exits, and the next file gets a new thread.

use std::panic::AssertUnwindSafe;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A reader thread's job queue.
struct Reader {
    jobs: mpsc::Sender<Job>,
}

/// The reader thread kept between files (at most one).
static IDLE: Mutex<Option<Reader>> = Mutex::new(None);

/// The stack every reader thread gets.
const STACK: usize = 256 << 20;

/// A job under way on a reader thread.
pub(super) struct Running<T> {
    result: mpsc::Receiver<T>,
    reader: Option<Reader>,
}

/// Why [`Running::wait_for`] has no result.
pub(super) enum NoResult {
    /// The job is still running when the budget passed.
    StillRunning,
    /// The job panicked.
    Failed,
}

impl<T> Running<T> {
    /// Waits for the job's result; `None` when it panicked. The thread is kept for the next
    /// file.
    pub(super) fn wait(mut self) -> Option<T> {
        let out = self.result.recv().ok();
        self.keep_reader();
        out
    }

    /// Waits at most `budget` for the job's result. After [`NoResult::StillRunning`], call
    /// [`Running::wait`] to take a result after all, or drop this to leave the job running.
    pub(super) fn wait_for(&mut self, budget: Duration) -> Result<T, NoResult> {
        match self.result.recv_timeout(budget) {
            Ok(out) => {
                self.keep_reader();
                Ok(out)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => Err(NoResult::StillRunning),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.keep_reader();
                Err(NoResult::Failed)
            }
        }
    }

    /// Makes this job's thread the idle one (unless one is idle already: then it exits).
    fn keep_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            if let Ok(mut idle) = IDLE.lock() {
                if idle.is_none() {
                    *idle = Some(reader);
                }
            }
        }
    }
}

/// Starts `job` on the idle reader thread, or on a new one; `None` when no thread could be
/// started.
pub(super) fn start<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> Option<Running<T>> {
    let (tx, result) = mpsc::channel();
    let mut job: Job = Box::new(move || {
        // A panic drops `tx` unsent: the caller sees no result.
        if let Ok(out) = std::panic::catch_unwind(AssertUnwindSafe(job)) {
            let _ = tx.send(out);
        }
    });
    let idle = IDLE.lock().ok().and_then(|mut idle| idle.take());
    if let Some(reader) = idle {
        match reader.jobs.send(job) {
            Ok(()) => {
                return Some(Running {
                    result,
                    reader: Some(reader),
                })
            }
            // Its thread is gone: start another with the job.
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    let (jobs, queue) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("inferwarden-parity-reader".into())
        .stack_size(STACK)
        .spawn(move || {
            while let Ok(job) = queue.recv() {
                job();
            }
        })
        .ok()?;
    jobs.send(job).ok()?;
    Some(Running {
        result,
        reader: Some(Reader { jobs }),
    })
}

/// The id of the reader thread a job runs on now (a job of its own): how tests see the
/// thread reused between files.
#[cfg(feature = "test-hooks")]
pub fn reader_thread_id() -> Option<std::thread::ThreadId> {
    start(|| std::thread::current().id())?.wait()
}
