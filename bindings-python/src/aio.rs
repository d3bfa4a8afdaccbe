//! Running core futures for Python: blocking calls run on the shared runtime with the GIL
//! released; `*_async` calls return an asyncio future (made by `inferwarden._aio.pending`)
//! that the runtime settles through `loop.call_soon_threadsafe`. Cancelling that future
//! aborts the Rust task. The runtime's fork check turns use after `fork()` into
//! `InternalError` instead of a hang.

use std::future::Future;

use inferwarden::error::Error;
use pyo3::prelude::*;

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
    Ok(py
        .import("inferwarden._aio")?
        .call_method1("ready", (value,))?
        .unbind())
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

/// Spawns `future` on the shared runtime and returns an asyncio future for its result
/// (`convert`ed) or its error (the mapped exception). Must be called with a running loop.
pub fn spawn<T, F>(py: Python<'_>, future: F, convert: Convert<T>) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    F: Future<Output = Result<T, Error>> + Send + 'static,
{
    let runtime = inferwarden::runtime::shared().map_err(|e| to_py_err(py, e))?;
    let pending = py.import("inferwarden._aio")?.call_method0("pending")?;
    let (fut, done): (Py<PyAny>, Py<PyAny>) = pending.extract()?;
    let task = runtime.spawn(async move {
        let outcome = future.await;
        Python::attach(|py| {
            let settled = match outcome {
                Ok(v) => convert(py, v),
                Err(e) => Err(to_py_err(py, e)),
            };
            let args = match settled {
                Ok(v) => (v, py.None()),
                Err(e) => (py.None(), e.into_value(py).into_any()),
            };
            if let Err(e) = done.call1(py, args) {
                e.write_unraisable(py, None);
            }
        });
    });
    let abort = Py::new(
        py,
        AbortOnCancel {
            handle: task.abort_handle(),
        },
    )?;
    fut.call_method1(py, "add_done_callback", (abort,))?;
    Ok(fut)
}
