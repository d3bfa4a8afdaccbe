//! Running core futures for Python: blocking calls run on the shared runtime with the GIL
//! released; `*_async` calls return an asyncio future (made by `inferwarden._aio.slot`)
//! that the loop settles when the runtime reports the call done through the loop's
//! [`Completions`] (no GIL taken on a runtime thread). Every future is settled exactly
//! once, whatever happens to its task (see [`Completer`]). Cancelling a `spawn`ed call's
//! future aborts the Rust task. The runtime's fork check turns use after `fork()` into
//! `InternalError` instead of a hang.

use std::future::Future;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use inferwarden::error::{Error, ErrorCode};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::errors::to_py_err;

/// Converts a core value into a Python object once the GIL is held again.
pub type Convert<T> = fn(Python<'_>, T) -> PyResult<Py<PyAny>>;

/// Runs `future` to completion with the GIL released.
pub fn block_on<T: Send, F>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = Result<T, Error>> + Send,
{
    py.detach(move || inferwarden::runtime::block_on(future).and_then(|r| r))
        .map_err(|e| to_py_err(py, e))
}

/// An asyncio future on the running loop already holding `value` (for a call that
/// completed inline). Must be called with a running loop.
pub fn ready(py: Python<'_>, value: Py<PyAny>) -> PyResult<Py<PyAny>> {
    Ok(aio_function(py, &READY, "ready")?.call1((value,))?.unbind())
}

static READY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static SLOT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `inferwarden._aio.<name>`, looked up once per process (an import per call costs more
/// than the rest of an inline decision's future).
fn aio_function<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyAny>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    let f = cell.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("inferwarden._aio")?.getattr(name)?.unbind())
    })?;
    Ok(f.bind(py))
}

/// Aborts the Rust task when its asyncio future is cancelled.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct AbortOnCancel {
    handle: tokio::task::AbortHandle,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.handle.abort();
        }
        Ok(())
    }
}

/// A settled call's outcome, converted to Python on the event loop's thread.
type Settle = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// The completions of one event loop: runtime threads push settled calls here and write a
/// byte to a socket the loop watches (`loop.add_reader`) when the queue was empty; the loop
/// then takes them all and converts them. A runtime thread never takes the GIL, so a
/// completion never waits for the loop to release it (the interpreter's 5 ms switch
/// interval) and never slows the loop.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Completions {
    ready: Arc<Mutex<Vec<(u64, Settle)>>>,
    wake: Arc<UnixStream>,
    read: UnixStream,
    next: AtomicU64,
}

#[pymethods]
impl Completions {
    #[new]
    fn new() -> PyResult<Self> {
        let (read, wake) = UnixStream::pair()?;
        read.set_nonblocking(true)?;
        wake.set_nonblocking(true)?;
        Ok(Completions {
            ready: Arc::new(Mutex::new(Vec::new())),
            wake: Arc::new(wake),
            read,
            next: AtomicU64::new(0),
        })
    }

    /// The descriptor the loop watches.
    fn fileno(&self) -> i32 {
        self.read.as_raw_fd()
    }

    /// A fresh call id.
    fn next_id(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Clears the wake-up bytes, then returns `(id, result, error)` for every settled call.
    fn take(&self, py: Python<'_>) -> Vec<(u64, Py<PyAny>, Py<PyAny>)> {
        let mut buf = [0u8; 4096];
        while let Ok(n) = (&self.read).read(&mut buf) {
            if n < buf.len() {
                break;
            }
        }
        let settled = match self.ready.lock() {
            Ok(mut q) => std::mem::take(&mut *q),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        settled
            .into_iter()
            .map(|(id, settle)| match settle(py) {
                Ok(v) => (id, v, py.None()),
                Err(e) => (id, py.None(), e.into_value(py).into_any()),
            })
            .collect()
    }
}

/// The runtime's side of one pending asyncio future: [`Completer::complete`] settles it
/// from any thread (through the loop's [`Completions`], no GIL taken). A completer dropped
/// unused (its task panicked, was aborted, or the runtime shut down) settles the future with
/// `internal_error`, so an awaited call always ends.
pub struct Completer {
    id: u64,
    ready: Arc<Mutex<Vec<(u64, Settle)>>>,
    wake: Arc<UnixStream>,
    settled: bool,
}

impl Completer {
    /// Queues the outcome (`convert`ed on the loop's thread) and wakes the loop.
    pub fn complete<T: Send + 'static>(mut self, outcome: Result<T, Error>, convert: Convert<T>) {
        self.settle(Box::new(move |py| match outcome {
            Ok(v) => convert(py, v),
            Err(e) => Err(to_py_err(py, e)),
        }));
    }

    fn settle(&mut self, settle: Settle) {
        self.settled = true;
        // Only the push that finds the queue empty wakes the loop, and it writes the
        // wake-up byte before it lets go of the queue: a completion that finds an entry
        // there knows that entry's byte is already written, and the loop's `take` (which
        // reads the bytes, then empties the whole queue under the same lock) will take it
        // too. Written after the unlock instead, a thread preempted between the two (the
        // unlock can wake a waiter that takes the CPU) would hold back every completion
        // queued behind it until it ran again. A poisoned queue (a panic while another
        // thread held it) still takes the entry: the queue is only pushed to and emptied,
        // so its state is whole.
        let mut q = self.ready.lock().unwrap_or_else(|p| p.into_inner());
        q.push((self.id, settle));
        if q.len() == 1 {
            let _ = (&*self.wake).write(&[1]);
        }
        drop(q);
    }
}

impl Drop for Completer {
    fn drop(&mut self) {
        if !self.settled {
            self.settle(Box::new(|py| {
                Err(to_py_err(
                    py,
                    Error::with_detail(
                        ErrorCode::InternalError,
                        "the native call ended without a result",
                    ),
                ))
            }));
        }
    }
}

/// A new asyncio future on the running loop and the [`Completer`] that settles it. Must be
/// called with a running loop.
pub fn pending(py: Python<'_>) -> PyResult<(Py<PyAny>, Completer)> {
    let slot = aio_function(py, &SLOT, "slot")?.call0()?;
    let (fut, id, completions): (Py<PyAny>, u64, Py<Completions>) = slot.extract()?;
    let c = completions.get();
    Ok((
        fut,
        Completer {
            id,
            ready: c.ready.clone(),
            wake: c.wake.clone(),
            settled: false,
        },
    ))
}

/// Aborts `handle`'s task when the asyncio future `fut` is cancelled.
pub fn abort_on_cancel(
    py: Python<'_>,
    fut: &Py<PyAny>,
    handle: tokio::task::AbortHandle,
) -> PyResult<()> {
    let abort = Py::new(py, AbortOnCancel { handle })?;
    fut.call_method1(py, "add_done_callback", (abort,))?;
    Ok(())
}

/// Spawns `future` on the shared runtime and returns an asyncio future for its result
/// (`convert`ed) or its error (the mapped exception), settled through the loop's
/// [`Completions`]. Must be called with a running loop.
pub fn spawn<T, F>(py: Python<'_>, future: F, convert: Convert<T>) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    let runtime = inferwarden::runtime::shared().map_err(|e| to_py_err(py, e))?;
    let (fut, completer) = pending(py)?;
    let task = runtime.spawn(async move { completer.complete(future.await, convert) });
    abort_on_cancel(py, &fut, task.abort_handle())?;
    Ok(fut)
}
