//! A request dict as the core validator's `RequestValue`, read in place: the top-level
//! dict and its `parameters` dict are walked without building JSON, scalars are read from
//! their Python objects, and exact `str`/`int`/`float` objects are handed back as they are
//! when the value goes into the payload. Anything else that is JSON-like (lists, tuples,
//! nested dicts, subclasses of the scalar types) is converted to JSON as before, so the
//! validator sees exactly what it would have seen from `py_to_json`.

use inferwarden::catalogue::RequestValue;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};
use serde_json::{Number, Value};

use crate::convert::py_to_json;

/// A dict's items, held so the view can borrow their text.
pub type Items<'py> = Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>;

/// One value of the request.
pub enum PyRequestValue<'a, 'py> {
    /// `None`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `int` or `float`; the object when its type is exactly `int`/`float`.
    Number(Number, Option<&'a Bound<'py, PyAny>>),
    /// `str`; the object when its type is exactly `str`.
    Str(&'a str, Option<&'a Bound<'py, PyAny>>),
    /// Any other JSON-like value, converted.
    Json(Value),
    /// The request or its `parameters`: a dict walked in place.
    Object(Vec<(&'a str, PyRequestValue<'a, 'py>)>),
}

/// Reads one value at nesting `depth`; `None` when it is not JSON-like (the caller's typed
/// error).
fn scalar<'a, 'py>(obj: &'a Bound<'py, PyAny>, depth: usize) -> Option<PyRequestValue<'a, 'py>> {
    if obj.is_none() {
        return Some(PyRequestValue::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Some(PyRequestValue::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let exact = obj.cast_exact::<PyString>().is_ok().then_some(obj);
        return s.to_str().ok().map(|t| PyRequestValue::Str(t, exact));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        let exact = obj.cast_exact::<PyInt>().is_ok().then_some(obj);
        let n = i
            .extract::<i64>()
            .ok()
            .map(Number::from)
            .or_else(|| i.extract::<u64>().ok().map(Number::from))?;
        return Some(PyRequestValue::Number(n, exact));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let exact = obj.cast_exact::<PyFloat>().is_ok().then_some(obj);
        return Number::from_f64(f.value()).map(|n| PyRequestValue::Number(n, exact));
    }
    py_to_json(obj, depth).map(PyRequestValue::Json)
}

/// A dict's items as a view; `None` when a key is not a `str` or a value is not JSON-like.
/// `nested` says which key's dict value is walked in place too (with its items).
pub fn object<'a, 'py>(
    items: &'a Items<'py>,
    nested: Option<(&str, &'a Items<'py>)>,
    depth: usize,
) -> Option<PyRequestValue<'a, 'py>> {
    let mut fields = Vec::with_capacity(items.len());
    for (k, v) in items {
        let key = k.cast::<PyString>().ok()?.to_str().ok()?;
        let value = match nested {
            Some((name, inner)) if name == key => object(inner, None, depth + 1)?,
            _ => scalar(v, depth + 1)?,
        };
        fields.push((key, value));
    }
    Some(PyRequestValue::Object(fields))
}

/// The items of `obj` when it is a dict.
pub fn dict_items<'py>(obj: &Bound<'py, PyAny>) -> Option<Items<'py>> {
    obj.cast::<PyDict>().ok().map(|d| d.iter().collect())
}

impl<'py> PyRequestValue<'_, 'py> {
    /// The Python object for the payload: the request's own object when it is exactly a
    /// `str`/`int`/`float` (or `None`/`bool`), else a new one made from its JSON.
    pub fn to_py(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        use pyo3::IntoPyObjectExt;
        match self {
            PyRequestValue::Null => Ok(py.None().into_bound(py)),
            PyRequestValue::Bool(b) => b.into_bound_py_any(py),
            PyRequestValue::Number(_, Some(obj)) | PyRequestValue::Str(_, Some(obj)) => {
                Ok((*obj).clone())
            }
            other => crate::convert::json_to_py(py, &other.to_json()),
        }
    }
}

impl RequestValue for PyRequestValue<'_, '_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            PyRequestValue::Str(s, _) => Some(s),
            PyRequestValue::Json(v) => v.as_str(),
            _ => None,
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            PyRequestValue::Number(n, _) => n.as_f64(),
            PyRequestValue::Json(v) => v.as_f64(),
            _ => None,
        }
    }

    fn is_array(&self) -> bool {
        matches!(self, PyRequestValue::Json(Value::Array(_)))
    }

    fn fields(&self) -> Option<Vec<(&str, &Self)>> {
        match self {
            PyRequestValue::Object(fields) => Some(fields.iter().map(|(k, v)| (*k, v)).collect()),
            // `Json` never holds an object where the validator asks for fields: the request
            // and its `parameters` are the dicts walked in place.
            _ => None,
        }
    }

    fn field(&self, name: &str) -> Option<&Self> {
        match self {
            PyRequestValue::Object(fields) => {
                fields.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    fn equals_json(&self, other: &Value) -> bool {
        match (self, other) {
            (PyRequestValue::Null, Value::Null) => true,
            (PyRequestValue::Bool(a), Value::Bool(b)) => a == b,
            (PyRequestValue::Number(a, _), Value::Number(b)) => a == b,
            (PyRequestValue::Str(a, _), Value::String(b)) => *a == b.as_str(),
            (PyRequestValue::Json(a), b) => a == b,
            (PyRequestValue::Object(_), b) => &self.to_json() == b,
            _ => false,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            PyRequestValue::Null => Value::Null,
            PyRequestValue::Bool(b) => Value::Bool(*b),
            PyRequestValue::Number(n, _) => Value::Number(n.clone()),
            PyRequestValue::Str(s, _) => Value::String((*s).to_owned()),
            PyRequestValue::Json(v) => v.clone(),
            PyRequestValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}
