//! The task lifecycle as a Python class (GIL released around every database call).

use std::sync::Arc;

use inferwarden::audit::AuditHandle;
use inferwarden::clock::{Clock, SystemClock};
use inferwarden::lifecycle::Lifecycle as CoreLifecycle;
use inferwarden::Error;
use pyo3::prelude::*;

use crate::config::PolicyConfig;
use crate::convert::to_py_json;
use crate::errors::to_py_err;
use crate::gate::ManualClock;

/// Task lifecycle over a store (`sqlite:PATH`), with the stale policy of a `PolicyConfig`.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Lifecycle {
    inner: Arc<CoreLifecycle>,
    audit: AuditHandle,
}

impl Lifecycle {
    fn call<T: serde::Serialize + Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&CoreLifecycle) -> Result<T, Error> + Send,
    ) -> PyResult<Py<PyAny>> {
        let inner = self.inner.clone();
        let out = py.detach(move || f(&inner)).map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &out)
    }
}

#[pymethods]
impl Lifecycle {
    /// Opens the store at `db`; `clock` injects time for tests (default: the database clock).
    /// `audit`: a store URL or an `AuditLog` (default: `config.audit.store`); a durable log
    /// is maintained by `maintain_audit()` (retention, scheduled checkpoints; run it with each sweep).
    #[new]
    #[pyo3(signature = (config, db, *, clock=None, audit=None))]
    fn new(
        py: Python<'_>,
        config: &PolicyConfig,
        db: String,
        clock: Option<&ManualClock>,
        audit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let clock: Option<Arc<dyn Clock>> = clock.map(|c| Arc::new(c.core().clone()) as _);
        let audit_clock = clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
        let audit = crate::audit::audit_handle(py, audit, config.inner(), audit_clock)?;
        let core_config = config.inner().clone();
        let handle = audit.clone();
        let life = py
            .detach(move || CoreLifecycle::open(&core_config, &db, clock, &handle))
            .map_err(|e| to_py_err(py, e))?;
        Ok(Lifecycle {
            inner: Arc::new(life),
            audit,
        })
    }

    /// Creates a `pending` task; returns the task as a dict.
    fn create(&self, py: Python<'_>, task_id: String, task_type: String) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| l.create(&task_id, &task_type))
    }

    /// `pending -> processing`; returns `{lease_id, started_at, stale_deadline, ttl_ms, attempt}`.
    fn claim(&self, py: Python<'_>, task_id: String, worker: String) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| l.claim(&task_id, &worker))
    }

    /// Progress under the lease; raises `InvalidTransitionError` when refused.
    fn report_progress(
        &self,
        py: Python<'_>,
        task_id: String,
        lease_id: String,
        progress: u8,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| {
            l.report_progress(&task_id, &lease_id, progress)
                .and_then(|c| c.into_result())
        })
    }

    /// A heartbeat under the lease (refreshes `heartbeat_at`, never the deadline); raises
    /// `InvalidTransitionError` when refused.
    fn heartbeat(&self, py: Python<'_>, task_id: String, lease_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| {
            l.heartbeat(&task_id, &lease_id)
                .and_then(|c| c.into_result())
        })
    }

    /// `processing -> done`; returns the outcome (`applied` or `repeated`), raises
    /// `InvalidTransitionError` with `metadata["outcome"]` when refused (a late done after a
    /// stale failure is also recorded as an audit event).
    fn complete(
        &self,
        py: Python<'_>,
        task_id: String,
        lease_id: String,
        result_path: String,
        worker: String,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| {
            l.complete(&task_id, &lease_id, &result_path, &worker)
                .and_then(|c| c.into_result())
        })
    }

    /// `processing -> failed` with an error code and message.
    fn fail(
        &self,
        py: Python<'_>,
        task_id: String,
        lease_id: String,
        code: String,
        message: String,
        worker: String,
    ) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| {
            l.fail(&task_id, &lease_id, &code, &message, &worker)
                .and_then(|c| c.into_result())
        })
    }

    /// One sweep; returns `{sweep_id, swept_at, failed: [...], batches}`.
    fn sweep(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |l| l.sweep())
    }

    /// The task as a dict, or `None`.
    fn get(&self, py: Python<'_>, task_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| l.get(&task_id))
    }

    /// The task's transitions, oldest first.
    fn transitions(&self, py: Python<'_>, task_id: String) -> PyResult<Py<PyAny>> {
        self.call(py, move |l| l.transitions(&task_id))
    }

    /// The newest audit events (up to 10,000; stale transitions, late completions).
    fn audit_events(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = crate::errors::guard(py, || self.audit.recent_json(10_000))?;
        to_py_json(py, &v)
    }

    /// The sweeper's audit maintenance (retention, a due checkpoint); `None` without a
    /// durable log.
    fn maintain_audit(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.call(py, |l| l.maintain_audit())
    }
}
