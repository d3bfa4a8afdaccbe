//! The runtime policy configuration as a Python class.

use std::collections::BTreeMap;
use std::path::PathBuf;

use inferwarden::config::{self as core_config, ConfigFormat};
use pyo3::prelude::*;

use crate::convert::json_to_py;
use crate::errors::guard;

/// The validated runtime policy configuration (secrets never leave it).
#[pyclass(frozen, module = "inferwarden._native")]
pub struct PolicyConfig {
    inner: core_config::PolicyConfig,
}

impl PolicyConfig {
    /// The core configuration.
    pub fn inner(&self) -> &core_config::PolicyConfig {
        &self.inner
    }
}

#[pymethods]
impl PolicyConfig {
    /// The defaults.
    #[new]
    fn new() -> Self {
        PolicyConfig {
            inner: core_config::PolicyConfig::default(),
        }
    }

    /// Loads a TOML/JSON file (optional) plus environment overrides and validates the whole.
    /// `env=None` reads the process environment; a dict replaces it.
    #[staticmethod]
    #[pyo3(signature = (path=None, env=None))]
    fn load(
        py: Python<'_>,
        path: Option<PathBuf>,
        env: Option<BTreeMap<String, String>>,
    ) -> PyResult<Self> {
        let env: Vec<(String, String)> = match env {
            Some(map) => map.into_iter().collect(),
            None => std::env::vars().collect(),
        };
        let inner = guard(py, || {
            core_config::PolicyConfig::load_with_env(path.as_deref(), &env)
        })?;
        Ok(PolicyConfig { inner })
    }

    /// Parses configuration text (`format` is `"toml"` or `"json"`) plus optional overrides.
    #[staticmethod]
    #[pyo3(signature = (text, format="toml", env=None))]
    fn from_text(
        py: Python<'_>,
        text: &str,
        format: &str,
        env: Option<BTreeMap<String, String>>,
    ) -> PyResult<Self> {
        let env: Vec<(String, String)> = env.map(|m| m.into_iter().collect()).unwrap_or_default();
        let inner = guard(py, || {
            let format = ConfigFormat::from_name(format)?;
            core_config::PolicyConfig::from_text_with_env(Some(text), format, &env)
        })?;
        Ok(PolicyConfig { inner })
    }

    /// The effective configuration as a dict; secrets appear as `"[REDACTED]"`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || inferwarden::error::to_json_value(&self.inner))?;
        json_to_py(py, &v)
    }

    /// The effective configuration as TOML; secrets appear as `"[REDACTED]"`.
    fn to_toml(&self, py: Python<'_>) -> PyResult<String> {
        guard(py, || core_config::to_toml_string(&self.inner))
    }

    /// `{"errors": [...], "warnings": [...]}`, each item `{"field", "message"}`.
    fn validate<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || {
            inferwarden::error::to_json_value(&self.inner.validate())
        })?;
        json_to_py(py, &v)
    }

    /// Per-lane worker settings: `{lane: {timeout, min_containers, max_containers, scaledown_window, max_inputs}}`.
    fn worker_settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = guard(py, || {
            inferwarden::error::to_json_value(&self.inner.worker_settings())
        })?;
        json_to_py(py, &v)
    }

    /// The deployment environment name.
    #[getter]
    fn environment(&self) -> &str {
        &self.inner.environment
    }

    /// Whether the environment is a dev environment (local, dev, development, test).
    #[getter]
    fn is_dev_environment(&self) -> bool {
        self.inner.is_dev_environment()
    }

    /// The stale TTL in seconds for a task type (unknown types get the strictest).
    fn stale_ttl_s(&self, task_type: &str) -> u64 {
        self.inner.stale.ttl_for(task_type)
    }

    fn __repr__(&self) -> String {
        format!("PolicyConfig(environment={:?})", self.inner.environment)
    }
}
