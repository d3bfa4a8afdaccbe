//! `parse_task_ref` and the `TaskRef` value class.

use pyo3::prelude::*;

use crate::errors::to_py_err;

/// A parsed public task id.
#[pyclass(frozen, eq, module = "inferwarden._native")]
#[derive(PartialEq, Eq)]
pub struct TaskRef {
    /// `"local"` or `"remote"`.
    #[pyo3(get)]
    kind: &'static str,
    /// The workspace for remote ids, else `None`.
    #[pyo3(get)]
    workspace: Option<String>,
    /// The task id part.
    #[pyo3(get)]
    task_id: String,
}

#[pymethods]
impl TaskRef {
    /// Whether the task belongs to another worker account.
    #[getter]
    fn is_remote(&self) -> bool {
        self.workspace.is_some()
    }

    /// The public id (`workspace::task_id` or `task_id`).
    fn public_id(&self) -> String {
        match &self.workspace {
            Some(ws) => format!("{ws}::{}", self.task_id),
            None => self.task_id.clone(),
        }
    }

    fn __repr__(&self) -> String {
        match &self.workspace {
            Some(ws) => format!(
                "TaskRef(kind='remote', workspace={ws:?}, task_id={:?})",
                self.task_id
            ),
            None => format!("TaskRef(kind='local', task_id={:?})", self.task_id),
        }
    }
}

/// Parses a public task id; raises `ProxyTargetInvalidError` with `metadata["rule"]`.
#[pyfunction]
pub fn parse_task_ref(py: Python<'_>, task_id: &str) -> PyResult<TaskRef> {
    match inferwarden::parse_task_ref(task_id) {
        Ok(r) => Ok(TaskRef {
            kind: if r.workspace().is_some() {
                "remote"
            } else {
                "local"
            },
            workspace: r.workspace().map(str::to_owned),
            task_id: r.task_id().to_owned(),
        }),
        Err(e) => Err(to_py_err(py, e)),
    }
}
