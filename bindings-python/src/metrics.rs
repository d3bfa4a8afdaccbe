//! `inferwarden.metrics`: the core's process-wide metrics as OpenMetrics text, the family
//! list (names, types, label names) and the recording switch. Conversion only.

use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The exposition of every family now (OpenMetrics text, ending with `# EOF`).
#[pyfunction]
pub fn metrics_render(py: Python<'_>) -> String {
    py.detach(inferwarden::metrics::render)
}

/// `metrics_render` as an asyncio future, made on the native runtime's blocking pool (the
/// session stores' counts are queries), so the event loop never waits on a store.
#[pyfunction]
pub fn metrics_render_async(py: Python<'_>) -> PyResult<Py<PyAny>> {
    crate::aio::spawn(
        py,
        inferwarden::runtime::blocking(inferwarden::metrics::render),
        |py, text| Ok(pyo3::types::PyString::new(py, &text).into_any().unbind()),
    )
}

/// Every family: `{"name", "type", "help", "labels"}` in exposition order.
#[pyfunction]
pub fn metrics_families(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    inferwarden::metrics::families()
        .into_iter()
        .map(|f| {
            let d = PyDict::new(py);
            d.set_item("name", f.name)?;
            d.set_item("type", f.kind.as_str())?;
            d.set_item("help", f.help)?;
            d.set_item("labels", f.labels.to_vec())?;
            Ok(d)
        })
        .collect()
}

/// Turns recording on or off for the whole process.
#[pyfunction]
pub fn metrics_set_enabled(on: bool) {
    inferwarden::metrics::set_enabled(on);
}

/// The content type to serve the exposition with.
#[pyfunction]
pub fn metrics_content_type() -> &'static str {
    inferwarden::metrics::CONTENT_TYPE
}
