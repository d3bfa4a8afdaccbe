//! Registry-only routing as a Python class.

use std::collections::BTreeMap;
use std::sync::Arc;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::SystemClock;
use inferwarden::routing::{resolver_for, ProxyRoute, Router as CoreRouter, WorkspaceStatus};
use pyo3::prelude::*;

use crate::config::PolicyConfig;
use crate::convert::to_py_json;
use crate::errors::{guard, to_py_err};

/// The worker-account registry and registry-only target resolution.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Router {
    inner: CoreRouter,
    audit: Arc<MemoryAuditSink>,
    proxy: inferwarden::proxy::ProxyClient,
}

#[pymethods]
impl Router {
    /// A router with the proxy policy of `config`. `dns`: a fixed `{host: [ip, ...]}` table
    /// (tests); default: the system resolver.
    #[new]
    #[pyo3(signature = (config, *, dns=None))]
    fn new(
        py: Python<'_>,
        config: &PolicyConfig,
        dns: Option<BTreeMap<String, Vec<String>>>,
    ) -> PyResult<Self> {
        let resolver = guard(py, || resolver_for(dns.as_ref()))?;
        let audit = Arc::new(MemoryAuditSink::new());
        Ok(Router {
            inner: CoreRouter::new(
                config.inner(),
                resolver,
                audit.clone(),
                Arc::new(SystemClock),
            ),
            audit,
            proxy: inferwarden::proxy::ProxyClient::new(&config.inner().proxy),
        })
    }

    /// Registers a worker account (`status`: pending, ready, failed, disabled).
    #[pyo3(signature = (workspace, base_url, status="ready", credential_ref="default", allow_private=false))]
    fn register(
        &self,
        py: Python<'_>,
        workspace: &str,
        base_url: &str,
        status: &str,
        credential_ref: &str,
        allow_private: bool,
    ) -> PyResult<Py<PyAny>> {
        let entry = guard(py, || {
            self.inner.register(
                workspace,
                base_url,
                WorkspaceStatus::from_name(status)?,
                credential_ref,
                allow_private,
            )
        })?;
        to_py_json(py, &entry)
    }

    /// Changes a worker account's status.
    fn set_status(&self, py: Python<'_>, workspace: &str, status: &str) -> PyResult<()> {
        guard(py, || {
            self.inner
                .set_status(workspace, WorkspaceStatus::from_name(status)?)
        })
    }

    /// Resolves a public task id for `route` (`status`, `results`, `preview`):
    /// `{workspace, url, origin, addresses, credential_ref}`.
    #[pyo3(signature = (task_id, route, correlation_id="-"))]
    fn resolve(
        &self,
        py: Python<'_>,
        task_id: String,
        route: &str,
        correlation_id: &str,
    ) -> PyResult<Py<PyAny>> {
        let route = guard(py, || ProxyRoute::from_name(route))?;
        let inner = self.inner.clone();
        let correlation_id = correlation_id.to_owned();
        let target = py
            .detach(move || inner.resolve(&task_id, route, &correlation_id))
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &target)
    }

    /// Resolves `task_id` and fetches its validated status from the worker with `credential`
    /// (attached only after resolution succeeded); releases the GIL while waiting.
    #[pyo3(signature = (task_id, credential, correlation_id="-"))]
    fn fetch_status(
        &self,
        py: Python<'_>,
        task_id: String,
        credential: String,
        correlation_id: &str,
    ) -> PyResult<Py<PyAny>> {
        let (inner, proxy, corr) = (
            self.inner.clone(),
            self.proxy.clone(),
            correlation_id.to_owned(),
        );
        let secret = inferwarden::secret::Secret::new(credential);
        let status = py
            .detach(move || inner.fetch_status(&proxy, &task_id, &secret, &corr))
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &status)
    }

    /// Audit events (rejections) recorded so far.
    fn audit_events(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_json(py, &self.audit.events())
    }
}
