//! The model catalogue and request validation as a Python class.

use inferwarden::catalogue::{
    plan_request_shaped, validate_request_shaped, Catalogue as CoreCatalogue, CatalogueOptions,
    PayloadSource, RequestPlan, RequestShape, ValidatedRequest,
};
use inferwarden::{Error, ErrorCode};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert::{json_to_py, to_py_json};
use crate::errors::{guard, to_py_err};
use crate::request_view::{read, PyRequestValue};

/// A parsed `inference_settings.json`.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Catalogue {
    inner: CoreCatalogue,
    /// Python strings for every parameter name, model id, kind and mode name, made once:
    /// building the result then reuses them (and their cached hashes) instead of creating a
    /// string per key per call.
    keys: Keys,
}

/// The ready-made Python strings, found by the address of the catalogue's own text (what a
/// plan names: no hashing or comparing of the text), else by the text itself.
struct Keys {
    /// By (address, length) of the name's text inside the catalogue, which is never changed
    /// while the `Catalogue` lives (the class is frozen).
    by_address: rustc_hash::FxHashMap<(usize, usize), Py<PyString>>,
    /// By text, for a name given from elsewhere.
    by_text: rustc_hash::FxHashMap<String, Py<PyString>>,
}

impl Keys {
    /// Keys for every name of `catalogue` (the texts that stay where they are).
    fn of(py: Python<'_>, catalogue: &CoreCatalogue) -> Self {
        let names: Vec<&String> = catalogue
            .common
            .keys()
            .chain(catalogue.models().flat_map(|(_, m)| {
                m.parameters
                    .keys()
                    .chain(m.fixed_parameters.keys())
                    .chain(m.modes.keys())
                    .chain([&m.id, &m.kind])
            }))
            .collect();
        let mut by_text = rustc_hash::FxHashMap::default();
        let mut by_address = rustc_hash::FxHashMap::default();
        for name in names {
            let k = by_text
                .entry(name.clone())
                .or_insert_with(|| PyString::intern(py, name).unbind());
            by_address.insert((name.as_ptr() as usize, name.len()), k.clone_ref(py));
        }
        Keys {
            by_address,
            by_text,
        }
    }
}

/// The ready-made Python string for `s`, or a new one.
fn key<'py>(py: Python<'py>, keys: &Keys, s: &str) -> Bound<'py, PyString> {
    let found = keys
        .by_address
        .get(&(s.as_ptr() as usize, s.len()))
        .or_else(|| keys.by_text.get(s));
    match found {
        Some(k) => k.bind(py).clone(),
        None => PyString::new(py, s),
    }
}

#[pymethods]
impl Catalogue {
    /// Parses catalogue JSON text; structural errors are `ConfigInvalidError` with the path.
    /// `request_shape`: `nested` (default) or `flat`, the shape `validate_request` expects;
    /// `invalid_values`: `refuse` (default: a default or fixed value validation would reject
    /// is a `ConfigInvalidError` naming its path and line) or `warn` (reported by `check()`,
    /// never filled into a payload).
    #[staticmethod]
    #[pyo3(signature = (text, *, request_shape="nested", invalid_values="refuse"))]
    fn from_json(
        py: Python<'_>,
        text: &str,
        request_shape: &str,
        invalid_values: &str,
    ) -> PyResult<Self> {
        let inner = guard(py, || {
            let options = CatalogueOptions::parse(Some(request_shape), Some(invalid_values))?;
            CoreCatalogue::from_json_with(text, options)
        })?;
        // The addresses are of `inner`'s own strings, whose text stays where it is when
        // `inner` moves into the class.
        let keys = Keys::of(py, &inner);
        Ok(Catalogue { inner, keys })
    }

    /// A model's `metadata.vram_min_gb` (key, id or alias), `None` when it states none;
    /// `RequestValidationError` for an unknown model or bad metadata.
    fn vram_min_gb(&self, py: Python<'_>, model: &str) -> PyResult<Option<f64>> {
        guard(py, || self.inner.vram_min_gb(model))
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
    #[pyo3(signature = (request, shape=None))]
    fn validate_request(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        shape: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let not_json = || {
            to_py_err(
                py,
                Error::with_detail(
                    ErrorCode::ValidationError,
                    "the request must be JSON-like (dict, list, str, int, float, bool, None)",
                ),
            )
        };
        let view = read(request).ok_or_else(not_json)?;
        let plan = guard(py, || {
            let shape = match shape {
                Some(s) => RequestShape::parse(s)?,
                None => self.inner.request_shape(),
            };
            plan_request_shaped(&self.inner, &view, shape)
        })?;
        plan_to_py(py, &plan, &self.keys)
    }

    /// Validates a `POST /generate` body given as JSON text (`{"model", "type"?, "mode"?,
    /// "parameters"}`); returns `{model_id, kind, mode, payload}` with defaults and fixed values,
    /// or raises `RequestValidationError` with every violation in `metadata["violations"]`.
    #[pyo3(signature = (request, shape=None))]
    fn validate_request_json(
        &self,
        py: Python<'_>,
        request: &str,
        shape: Option<&str>,
    ) -> PyResult<Py<PyAny>> {
        let value: serde_json::Value = serde_json::from_str(request).map_err(|_| {
            to_py_err(
                py,
                Error::with_detail(ErrorCode::ValidationError, "the request is not JSON"),
            )
        })?;
        let ok = guard(py, || {
            let shape = match shape {
                Some(s) => RequestShape::parse(s)?,
                None => self.inner.request_shape(),
            };
            validate_request_shaped(&self.inner, &value, shape)
        })?;
        validated_to_py(py, &ok, &self.keys)
    }
}

/// `{model_id, kind, mode, payload}` built directly (no intermediate JSON value: this is the
/// hot path of `POST /generate`), with the catalogue's parameter names as ready-made keys.
impl Catalogue {
    /// The core catalogue (for other binding modules).
    pub(crate) fn core(&self) -> &CoreCatalogue {
        &self.inner
    }
}

/// `{model_id, kind, mode, payload}` from a plan over a Python request: sent values are the
/// request's own objects (exact `str`/`int`/`float`), catalogue values are converted.
fn plan_to_py(
    py: Python<'_>,
    plan: &RequestPlan<'_, PyRequestValue<'_>>,
    keys: &Keys,
) -> PyResult<Py<PyAny>> {
    let payload = PyDict::new(py);
    for (name, source) in &plan.payload {
        let value = match source {
            PayloadSource::Sent(v) => v.to_py(py)?,
            PayloadSource::Catalogue(v) => json_to_py(py, v)?,
            PayloadSource::Number(_, v) => json_to_py(py, v)?,
        };
        payload.set_item(key(py, keys, name), value)?;
    }
    let out = PyDict::new(py);
    out.set_item(intern!(py, "model_id"), key(py, keys, plan.model_id))?;
    out.set_item(intern!(py, "kind"), key(py, keys, plan.kind))?;
    out.set_item(intern!(py, "mode"), key(py, keys, plan.mode))?;
    out.set_item(intern!(py, "payload"), payload)?;
    Ok(out.into_any().unbind())
}

fn validated_to_py(py: Python<'_>, ok: &ValidatedRequest, keys: &Keys) -> PyResult<Py<PyAny>> {
    let payload = PyDict::new(py);
    for (k, v) in &ok.payload {
        payload.set_item(key(py, keys, k), json_to_py(py, v)?)?;
    }
    let out = PyDict::new(py);
    out.set_item(intern!(py, "model_id"), key(py, keys, &ok.model_id))?;
    out.set_item(intern!(py, "kind"), key(py, keys, &ok.kind))?;
    out.set_item(intern!(py, "mode"), key(py, keys, &ok.mode))?;
    out.set_item(intern!(py, "payload"), payload)?;
    Ok(out.into_any().unbind())
}

/// `validate_request(catalogue, request, shape=None)`: the module-level form of
/// `Catalogue.validate_request` (one native call, no Python frame in between).
#[pyfunction]
#[pyo3(signature = (catalogue, request, shape=None))]
pub fn validate_request(
    py: Python<'_>,
    catalogue: &Bound<'_, Catalogue>,
    request: &Bound<'_, PyAny>,
    shape: Option<&str>,
) -> PyResult<Py<PyAny>> {
    catalogue.get().validate_request(py, request, shape)
}
