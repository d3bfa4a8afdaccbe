//! `inferwarden.parity_check(root)`: the catalogue parity check, returning the versioned
//! JSON report as a dict (and the rendered text/SARIF/JUnit/GitHub output on request).

use std::path::PathBuf;

use inferwarden::parity::{check_tree, generate_tree, Format};
use inferwarden::{Error, ErrorCode};
use pyo3::prelude::*;

use crate::convert::to_py_json;
use crate::errors::guard;

/// Checks the platform tree at `root` (its `parity.toml`); returns
/// `{schema_version, catalogue, sources, facts_checked, findings, exit_code, rendered}` where
/// `rendered` is the report in `format` (`text`, `json`, `sarif`, `junit`, `github`).
/// Raises `ConfigInvalidError` for a bad `parity.toml` or catalogue.
#[pyfunction]
#[pyo3(signature = (root, format = "text"))]
pub fn parity_check(py: Python<'_>, root: PathBuf, format: &str) -> PyResult<Py<PyAny>> {
    let format = format.to_owned();
    let value = guard(py, || {
        py.detach(move || {
            let format = Format::parse(&format).ok_or_else(|| {
                Error::with_detail(ErrorCode::ConfigInvalid, format!("unknown format {format}"))
            })?;
            let run = check_tree(&root)?;
            let mut value = inferwarden::error::to_json_value(&run.report)?;
            value["exit_code"] = run.report.exit_code().into();
            value["rendered"] = run.render(format).into();
            Ok(value)
        })
    })?;
    to_py_json(py, &value)
}

/// Generates the mirrors named in `parity.toml` `[generate]` (writing them unless `check`);
/// returns `[{path, status}]` with status `up_to_date`, `stale`, `missing` or `written`.
#[pyfunction]
#[pyo3(signature = (root, check = false))]
pub fn parity_generate(py: Python<'_>, root: PathBuf, check: bool) -> PyResult<Py<PyAny>> {
    let files = guard(py, || py.detach(move || generate_tree(&root, !check)))?;
    to_py_json(py, &files)
}
