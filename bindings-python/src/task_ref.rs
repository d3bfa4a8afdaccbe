//! `parse_task_ref` and the `TaskRef` value class.
//!
//! The parts are kept as Python strings: a local id's task id is the argument itself (one
//! reference more, no copy), a remote id's parts are the two new strings its getters return,
//! and the kind is an interned constant. So a parse allocates the result object and, for a
//! remote id, two strings, and a getter allocates nothing.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::errors::to_py_err;

/// A parsed public task id.
#[pyclass(frozen, freelist = 64, module = "inferwarden._native")]
pub struct TaskRef {
    /// The workspace for remote ids, else `None`.
    workspace: Option<Py<PyString>>,
    /// The task id part.
    task_id: Py<PyString>,
}

#[pymethods]
impl TaskRef {
    /// `"local"` or `"remote"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> &Bound<'py, PyString> {
        if self.workspace.is_some() {
            intern!(py, "remote")
        } else {
            intern!(py, "local")
        }
    }

    /// The workspace for remote ids, else `None`.
    #[getter]
    fn workspace(&self, py: Python<'_>) -> Option<Py<PyString>> {
        self.workspace.as_ref().map(|w| w.clone_ref(py))
    }

    /// The task id part.
    #[getter]
    fn task_id(&self, py: Python<'_>) -> Py<PyString> {
        self.task_id.clone_ref(py)
    }

    /// Whether the task belongs to another worker account.
    #[getter]
    fn is_remote(&self) -> bool {
        self.workspace.is_some()
    }

    /// The public id (`workspace::task_id` or `task_id`).
    fn public_id(&self, py: Python<'_>) -> PyResult<String> {
        let task = self.task_id.bind(py).to_str()?;
        Ok(match &self.workspace {
            Some(ws) => format!("{}::{task}", ws.bind(py).to_str()?),
            None => task.to_owned(),
        })
    }

    /// Equal when both parts are equal (another type compares unequal).
    fn __eq__(&self, py: Python<'_>, other: PyRef<'_, Self>) -> PyResult<bool> {
        let same_workspace = match (&self.workspace, &other.workspace) {
            (None, None) => true,
            (Some(a), Some(b)) => a.bind(py).to_str()? == b.bind(py).to_str()?,
            _ => false,
        };
        Ok(same_workspace && self.task_id.bind(py).to_str()? == other.task_id.bind(py).to_str()?)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let task = self.task_id.bind(py).to_str()?;
        Ok(match &self.workspace {
            Some(ws) => format!(
                "TaskRef(kind='remote', workspace={:?}, task_id={task:?})",
                ws.bind(py).to_str()?
            ),
            None => format!("TaskRef(kind='local', task_id={task:?})"),
        })
    }
}

/// Parses a public task id; raises `ProxyTargetInvalidError` with `metadata["rule"]`.
#[pyfunction]
pub fn parse_task_ref(py: Python<'_>, task_id: &Bound<'_, PyString>) -> PyResult<TaskRef> {
    // A string that is not valid Unicode (a lone surrogate) is read with U+FFFD in its place,
    // as Node reads it, so the core refuses it with `proxy_target_invalid` like any other
    // character outside the id alphabet.
    let lossy;
    let raw = match task_id.to_str() {
        Ok(s) => s,
        Err(_) => {
            lossy = task_id.to_string_lossy();
            &*lossy
        }
    };
    match inferwarden::parse_task_ref(raw) {
        Ok(r) => Ok(match r.workspace() {
            // A local id is the whole argument.
            None if r.task_id().len() == raw.len() => TaskRef {
                workspace: None,
                task_id: task_id.clone().unbind(),
            },
            None => TaskRef {
                workspace: None,
                task_id: PyString::new(py, r.task_id()).unbind(),
            },
            Some(ws) => TaskRef {
                workspace: Some(PyString::new(py, ws).unbind()),
                task_id: PyString::new(py, r.task_id()).unbind(),
            },
        }),
        Err(e) => Err(to_py_err(py, e)),
    }
}
