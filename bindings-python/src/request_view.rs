//! A request dict as the core validator's `RequestValue`, read in place: dicts are walked
//! without building JSON, scalars are read from their Python objects, and exact
//! `str`/`int`/`float` objects are handed back as they are when the value goes into the
//! payload. Lists and tuples (and anything inside them) are converted to JSON as before, so
//! the validator sees exactly what it would have seen from `py_to_json`. Which fields mean
//! what is the validator's business: this module only answers what a value is.

use inferwarden::catalogue::RequestValue;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use serde_json::{Number, Value};

use crate::convert::{json_to_py, py_to_json};

/// Deepest nesting accepted (as `py_to_json`).
const MAX_DEPTH: usize = 64;

/// One value of the request.
pub enum PyRequestValue<'py> {
    /// `None`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int` or `float`; the object when its type is exactly `int`/`float`.
    Number(Number, Option<Bound<'py, PyAny>>),
    /// `str` (its UTF-8 form checked when read); whether its type is exactly `str`.
    Str(Bound<'py, PyString>, bool),
    /// A list or tuple, converted.
    Json(Value),
    /// A dict, walked in place (keys checked to be `str` with a UTF-8 form when read).
    Object(Vec<(Bound<'py, PyString>, PyRequestValue<'py>)>),
}

/// Reads `obj`; `None` when it (or anything in it) is not JSON-like: the caller's typed
/// error.
pub fn read<'py>(obj: &Bound<'py, PyAny>) -> Option<PyRequestValue<'py>> {
    read_at(obj, 0)
}

fn read_at<'py>(obj: &Bound<'py, PyAny>, depth: usize) -> Option<PyRequestValue<'py>> {
    if depth > MAX_DEPTH {
        return None;
    }
    if obj.is_none() {
        return Some(PyRequestValue::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Some(PyRequestValue::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        s.to_str().ok()?;
        let exact = obj.cast_exact::<PyString>().is_ok();
        return Some(PyRequestValue::Str(s.clone(), exact));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        let exact = obj.cast_exact::<PyInt>().is_ok().then(|| obj.clone());
        let n = i
            .extract::<i64>()
            .ok()
            .map(Number::from)
            .or_else(|| i.extract::<u64>().ok().map(Number::from))?;
        return Some(PyRequestValue::Number(n, exact));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let exact = obj.cast_exact::<PyFloat>().is_ok().then(|| obj.clone());
        return Number::from_f64(f.value()).map(|n| PyRequestValue::Number(n, exact));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut fields = Vec::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k.cast_into::<PyString>().ok()?;
            key.to_str().ok()?;
            fields.push((key, read_at(&v, depth + 1)?));
        }
        return Some(PyRequestValue::Object(fields));
    }
    py_to_json(obj, depth).map(PyRequestValue::Json)
}

/// The text of a string read by [`read`]: its UTF-8 form was made there and Python keeps
/// it, so this cannot fail afterwards.
fn text<'a>(s: &'a Bound<'_, PyString>) -> &'a str {
    s.to_str().unwrap_or_default()
}

impl<'py> PyRequestValue<'py> {
    /// The Python object for the payload: the request's own object when it is exactly a
    /// `str`/`int`/`float` (or `None`/`bool`), else a new one made from its JSON (so a
    /// caller's list or dict is never shared with the result).
    pub fn to_py(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use pyo3::IntoPyObjectExt;
        match self {
            PyRequestValue::Null => Ok(py.None().into_bound(py)),
            PyRequestValue::Bool(b) => b.into_bound_py_any(py),
            PyRequestValue::Number(_, Some(obj)) => Ok(obj.clone()),
            PyRequestValue::Str(s, true) => Ok(s.clone().into_any()),
            other => json_to_py(py, &other.to_json()),
        }
    }
}

impl RequestValue for PyRequestValue<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            PyRequestValue::Str(s, _) => Some(text(s)),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            PyRequestValue::Number(n, _) => n.as_f64(),
            _ => None,
        }
    }

    fn is_float(&self) -> bool {
        matches!(self, PyRequestValue::Number(n, _) if n.is_f64())
    }

    fn is_array(&self) -> bool {
        matches!(self, PyRequestValue::Json(Value::Array(_)))
    }

    fn fields(&self) -> Option<Vec<(&str, &Self)>> {
        match self {
            PyRequestValue::Object(fields) => {
                Some(fields.iter().map(|(k, v)| (text(k), v)).collect())
            }
            _ => None,
        }
    }

    fn field(&self, name: &str) -> Option<&Self> {
        match self {
            PyRequestValue::Object(fields) => {
                fields.iter().find(|(k, _)| text(k) == name).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    fn equals_json(&self, other: &Value) -> bool {
        match (self, other) {
            (PyRequestValue::Null, Value::Null) => true,
            (PyRequestValue::Bool(a), Value::Bool(b)) => a == b,
            (PyRequestValue::Number(a, _), Value::Number(b)) => a == b,
            (PyRequestValue::Str(a, _), Value::String(b)) => text(a) == b.as_str(),
            (PyRequestValue::Json(a), b) => a == b,
            (PyRequestValue::Object(_), Value::Object(_)) => &self.to_json() == other,
            _ => false,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            PyRequestValue::Null => Value::Null,
            PyRequestValue::Bool(b) => Value::Bool(*b),
            PyRequestValue::Number(n, _) => Value::Number(n.clone()),
            PyRequestValue::Str(s, _) => Value::String(text(s).to_owned()),
            PyRequestValue::Json(v) => v.clone(),
            PyRequestValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (text(k).to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}
