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
    /// `str`, with its UTF-8 form (made when read); whether its type is exactly `str`.
    Str(Bound<'py, PyString>, Utf8, bool),
    /// A list or tuple, converted.
    Json(Value),
    /// A dict, walked in place (keys `str`, each with its UTF-8 form made when read).
    Object(Vec<(Bound<'py, PyString>, Utf8, PyRequestValue<'py>)>),
}

/// The UTF-8 form of a `str` the value holds: Python makes it once, keeps it with the
/// string object and never changes it, and the value holds a reference to that object, so
/// it stays valid as long as the value. Kept as a pointer and a length so that reading it
/// again (each field lookup compares keys) is not a call into Python.
#[derive(Clone, Copy)]
pub struct Utf8 {
    ptr: *const u8,
    len: usize,
}

impl Utf8 {
    /// The UTF-8 form of `s`; `None` when it has none (lone surrogates).
    fn of(s: &Bound<'_, PyString>) -> Option<Self> {
        let text = s.to_str().ok()?;
        Some(Utf8 {
            ptr: text.as_ptr(),
            len: text.len(),
        })
    }

    /// The text, for as long as the value holding it is borrowed.
    fn text(&self) -> &str {
        // SAFETY: `of` took these from a valid `&str` of a `str` object the enclosing value
        // keeps alive and Python never changes (see the type's doc).
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.ptr, self.len)) }
    }
}

/// Reads `obj`; `None` when it (or anything in it) is not JSON-like: the caller's typed
/// error.
pub fn read<'py>(obj: &Bound<'py, PyAny>) -> Option<PyRequestValue<'py>> {
    read_at(obj.clone(), 0)
}

/// Reads `obj`, taking it over (an exact `str`, `int` or `float` is kept as it is, with no
/// new reference). Exact types are tested first (a type comparison each), as a request is
/// made of them; subclasses take the general tests after.
fn read_at(obj: Bound<'_, PyAny>, depth: usize) -> Option<PyRequestValue<'_>> {
    if depth > MAX_DEPTH {
        return None;
    }
    if obj.is_exact_instance_of::<PyString>() {
        let s = obj.cast_into::<PyString>().ok()?;
        let text = Utf8::of(&s)?;
        return Some(PyRequestValue::Str(s, text, true));
    }
    if obj.is_exact_instance_of::<PyInt>() {
        let n = int(obj.cast::<PyInt>().ok()?)?;
        return Some(PyRequestValue::Number(n, Some(obj)));
    }
    if obj.is_exact_instance_of::<PyDict>() {
        return dict(obj.cast::<PyDict>().ok()?, depth);
    }
    if obj.is_none() {
        return Some(PyRequestValue::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Some(PyRequestValue::Bool(b.is_true()));
    }
    if obj.is_exact_instance_of::<PyFloat>() {
        let x = obj.cast::<PyFloat>().ok()?.value();
        return Number::from_f64(x).map(|n| PyRequestValue::Number(n, Some(obj)));
    }
    // Subclasses: read as their base type, converted when they go into the payload.
    if let Ok(s) = obj.cast::<PyString>() {
        let text = Utf8::of(s)?;
        return Some(PyRequestValue::Str(s.clone(), text, false));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return int(i).map(|n| PyRequestValue::Number(n, None));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value()).map(|n| PyRequestValue::Number(n, None));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return dict(d, depth);
    }
    py_to_json(&obj, depth).map(PyRequestValue::Json)
}

/// An `int` as a JSON number (`None` beyond 64 bits).
fn int(i: &Bound<'_, PyInt>) -> Option<Number> {
    i.extract::<i64>()
        .ok()
        .map(Number::from)
        .or_else(|| i.extract::<u64>().ok().map(Number::from))
}

/// A dict, walked in place: every key a `str` with a UTF-8 form.
fn dict<'py>(d: &Bound<'py, PyDict>, depth: usize) -> Option<PyRequestValue<'py>> {
    let mut fields = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        let key = k.cast_into::<PyString>().ok()?;
        let text = Utf8::of(&key)?;
        fields.push((key, text, read_at(v, depth + 1)?));
    }
    Some(PyRequestValue::Object(fields))
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
            PyRequestValue::Str(s, _, true) => Ok(s.clone().into_any()),
            other => json_to_py(py, &other.to_json()),
        }
    }
}

impl RequestValue for PyRequestValue<'_> {
    fn as_str(&self) -> Option<&str> {
        match self {
            PyRequestValue::Str(_, s, _) => Some(s.text()),
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
                Some(fields.iter().map(|(_, k, v)| (k.text(), v)).collect())
            }
            _ => None,
        }
    }

    fn is_object(&self) -> bool {
        matches!(self, PyRequestValue::Object(_))
    }

    fn field(&self, name: &str) -> Option<&Self> {
        match self {
            PyRequestValue::Object(fields) => fields
                .iter()
                .find(|(_, k, _)| k.text() == name)
                .map(|(_, _, v)| v),
            _ => None,
        }
    }

    fn equals_json(&self, other: &Value) -> bool {
        match (self, other) {
            (PyRequestValue::Null, Value::Null) => true,
            (PyRequestValue::Bool(a), Value::Bool(b)) => a == b,
            (PyRequestValue::Number(a, _), Value::Number(b)) => a == b,
            (PyRequestValue::Str(_, a, _), Value::String(b)) => a.text() == b.as_str(),
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
            PyRequestValue::Str(_, s, _) => Value::String(s.text().to_owned()),
            PyRequestValue::Json(v) => v.clone(),
            PyRequestValue::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(_, k, v)| (k.text().to_owned(), v.to_json()))
                    .collect(),
            ),
        }
    }
}
