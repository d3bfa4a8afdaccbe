//! The one place where core errors become Python exceptions (polars-style).
//!
//! The exception classes live in `inferwarden.errors` (built from [`list_all_errors`]); this
//! module looks the class up by code and raises an instance carrying `code`, `detail`,
//! `user_action`, `http_status` and `metadata`. Panics caught at the boundary become
//! `InternalError`.

use std::panic::{catch_unwind, AssertUnwindSafe};

use inferwarden::{Error, ErrorCode};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::convert::json_to_py;

static CLASS_BY_CODE: PyOnceLock<Py<PyDict>> = PyOnceLock::new();

fn class_table(py: Python<'_>) -> PyResult<&Bound<'_, PyDict>> {
    let table = CLASS_BY_CODE.get_or_try_init(py, || -> PyResult<Py<PyDict>> {
        let module = py.import("inferwarden.errors")?;
        let table = module.getattr("CLASS_BY_CODE")?.cast_into::<PyDict>()?;
        Ok(table.unbind())
    })?;
    Ok(table.bind(py))
}

/// Converts a core error into the matching Python exception.
pub fn to_py_err(py: Python<'_>, err: Error) -> PyErr {
    match build_exception(py, &err) {
        Ok(e) => e,
        // The exception tree could not be imported: never lose the code.
        Err(import_err) => import_err,
    }
}

fn build_exception(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let table = class_table(py)?;
    let class = table.get_item(err.code_str())?.ok_or_else(|| {
        pyo3::exceptions::PyRuntimeError::new_err(format!(
            "no exception class for {}",
            err.code_str()
        ))
    })?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("code", err.code_str())?;
    kwargs.set_item("user_action", err.user_action())?;
    kwargs.set_item("http_status", err.http_status())?;
    match err.metadata() {
        Some(m) => kwargs.set_item(
            "metadata",
            json_to_py(py, &serde_json::Value::Object(m.clone()))?,
        )?,
        None => kwargs.set_item("metadata", PyDict::new(py))?,
    }
    let instance = class.call((err.detail(),), Some(&kwargs))?;
    Ok(PyErr::from_value(instance))
}

/// Runs `f`, turning a core error into its exception and a panic into `InternalError`.
pub fn guard<T>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py_err(py, e)),
        Err(_) => Err(to_py_err(
            py,
            Error::with_detail(ErrorCode::InternalError, "panic in inferwarden core"),
        )),
    }
}

/// Every error code as a list of dicts (`code`, `http_status`, `family`, `family_class`,
/// `class_name`, `default_detail`, `user_action`).
#[pyfunction]
pub fn list_all_errors(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let rows = PyList::empty(py);
    for spec in inferwarden::list_all_errors() {
        let d = PyDict::new(py);
        d.set_item("code", spec.code)?;
        d.set_item("http_status", spec.http_status)?;
        d.set_item("family", spec.family.as_str())?;
        d.set_item("family_class", spec.family.class_name())?;
        d.set_item("class_name", spec.class_name)?;
        d.set_item("default_detail", spec.default_detail)?;
        d.set_item("user_action", spec.user_action)?;
        rows.append(d)?;
    }
    Ok(rows)
}

/// The legacy-code migration map as `(legacy, code)` pairs.
#[pyfunction]
pub fn legacy_codes(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let rows = PyList::empty(py);
    for (legacy, code) in inferwarden::legacy::LEGACY_CODES {
        rows.append(PyTuple::new(py, [legacy, code.code()])?)?;
    }
    Ok(rows)
}

/// Builds (does not raise) the exception for `code` with an optional detail; accepts legacy
/// codes. Unknown codes raise `ValueError`.
#[pyfunction]
#[pyo3(signature = (code, detail=None))]
pub fn error_for_code(py: Python<'_>, code: &str, detail: Option<String>) -> PyResult<Py<PyAny>> {
    let c = ErrorCode::from_code(code)
        .or_else(|| inferwarden::legacy::from_legacy_code(code))
        .ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!("unknown error code {code:?}"))
        })?;
    let err = match detail {
        Some(d) => Error::with_detail(c, d),
        None => Error::new(c),
    };
    Ok(to_py_err(py, err).into_value(py).into_any())
}
