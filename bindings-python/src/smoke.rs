//! The live contract smoke runner for Python: `smoke_run(...)` runs on the shared runtime
//! with the GIL released and returns a `SmokeReport`.

use inferwarden::smoke::{key_from, run, SmokeOptions, SmokeReport as CoreReport};
use pyo3::prelude::*;

use crate::aio;
use crate::convert::{py_to_json, to_py_json};
use crate::errors::to_py_err;

/// The outcome of a smoke run.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct SmokeReport {
    inner: CoreReport,
}

#[pymethods]
impl SmokeReport {
    /// Every check: `{id, title, status, detail, duration_ms}`.
    #[getter]
    fn checks(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_json(py, &self.inner.checks)
    }

    #[getter]
    fn passed(&self) -> usize {
        self.inner.passed
    }

    #[getter]
    fn failed(&self) -> usize {
        self.inner.failed
    }

    #[getter]
    fn skipped(&self) -> usize {
        self.inner.skipped
    }

    #[getter]
    fn run_id(&self) -> &str {
        &self.inner.run_id
    }

    /// 0 when nothing failed, else 1.
    #[getter]
    fn exit_code(&self) -> i32 {
        self.inner.exit_code()
    }

    /// Ids of the failed checks.
    fn failed_ids(&self) -> Vec<String> {
        self.inner
            .failed_ids()
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn to_text(&self) -> String {
        self.inner.to_text()
    }

    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    fn to_junit(&self) -> String {
        self.inner.to_junit()
    }

    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_json(py, &self.inner)
    }
}

/// Runs the smoke checks (blocking; the GIL is released except to call `progress`).
#[pyfunction]
#[pyo3(signature = (base_url, *, api_key=None, api_key_env=None, admin_key=None, admin_key_env=None, allowed_origin=None, denied_origin=None, rate_limit=None, generation=None, poll_timeout=120.0, request_timeout=10.0, release=false, progress=None))]
#[allow(clippy::too_many_arguments)]
pub fn smoke_run(
    py: Python<'_>,
    base_url: &str,
    api_key: Option<String>,
    api_key_env: Option<String>,
    admin_key: Option<String>,
    admin_key_env: Option<String>,
    allowed_origin: Option<String>,
    denied_origin: Option<String>,
    rate_limit: Option<u32>,
    generation: Option<&Bound<'_, PyAny>>,
    poll_timeout: f64,
    request_timeout: f64,
    release: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<SmokeReport> {
    let mut options = SmokeOptions::new(base_url).map_err(|e| to_py_err(py, e))?;
    options.api_key = key_from(api_key, api_key_env.as_deref());
    options.admin_key = key_from(admin_key, admin_key_env.as_deref());
    options.allowed_origin = allowed_origin;
    options.denied_origin = denied_origin;
    options.rate_limit = rate_limit;
    options.poll_timeout_s = poll_timeout;
    options.request_timeout_s = request_timeout;
    options.release = release;
    if let Some(g) = generation {
        options.generation = Some(py_to_json(g, 0).ok_or_else(|| {
            to_py_err(
                py,
                inferwarden::Error::with_detail(
                    inferwarden::ErrorCode::ValidationError,
                    "generation must be a JSON-like dict",
                ),
            )
        })?);
    }
    let report = aio::block_on(py, async move {
        let say = move |line: &str| {
            if let Some(cb) = &progress {
                Python::attach(|py| {
                    if let Err(e) = cb.call1(py, (line,)) {
                        e.write_unraisable(py, None);
                    }
                });
            }
        };
        Ok(run(&options, &say).await)
    })?;
    Ok(SmokeReport { inner: report })
}
