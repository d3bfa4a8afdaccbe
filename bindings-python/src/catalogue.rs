//! The model catalogue and request validation as a Python class.

use inferwarden::catalogue::{validate_request, Catalogue as CoreCatalogue};
use inferwarden::{Error, ErrorCode};
use pyo3::prelude::*;

use crate::convert::{py_to_json, to_py_json};
use crate::errors::{guard, to_py_err};

/// A parsed `inference_settings.json`.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Catalogue {
    inner: CoreCatalogue,
}

#[pymethods]
impl Catalogue {
    /// Parses catalogue JSON text; structural errors are `ConfigInvalidError` with the path.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        Ok(Catalogue {
            inner: guard(py, || CoreCatalogue::from_json(text))?,
        })
    }

    /// Self-checks: `{"errors": [{path, message}], "warnings": [...]}`.
    fn check(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (errors, warnings) = self.inner.check();
        to_py_json(
            py,
            &serde_json::json!({"errors": errors, "warnings": warnings}),
        )
    }

    /// Validates a `POST /generate` body given as a dict (`{"model", "type"?, "mode"?,
    /// "parameters"}`); returns `{model_id, kind, mode, payload}` or raises
    /// `RequestValidationError` with every violation in `metadata["violations"]`.
    fn validate_request(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let value = py_to_json(request, 0).ok_or_else(|| {
            to_py_err(
                py,
                Error::with_detail(
                    ErrorCode::ValidationError,
                    "the request must be JSON-like (dict, list, str, int, float, bool, None)",
                ),
            )
        })?;
        let ok = guard(py, || validate_request(&self.inner, &value))?;
        to_py_json(py, &ok)
    }

    /// Validates a `POST /generate` body given as JSON text (`{"model", "type"?, "mode"?,
    /// "parameters"}`); returns `{model_id, kind, mode, payload}` with defaults and fixed values,
    /// or raises `RequestValidationError` with every violation in `metadata["violations"]`.
    fn validate_request_json(&self, py: Python<'_>, request: &str) -> PyResult<Py<PyAny>> {
        let value: serde_json::Value = serde_json::from_str(request).map_err(|_| {
            to_py_err(
                py,
                Error::with_detail(ErrorCode::ValidationError, "the request is not JSON"),
            )
        })?;
        let ok = guard(py, || validate_request(&self.inner, &value))?;
        to_py_json(py, &ok)
    }
}
