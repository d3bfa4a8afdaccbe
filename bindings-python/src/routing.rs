//! Registry-only routing and the remote-workspace proxy as a Python class. Blocking calls
//! release the GIL; `*_async` calls return asyncio futures (see `aio`).

use std::collections::BTreeMap;
use std::sync::Arc;

use inferwarden::audit::AuditHandle;
use inferwarden::clock::SystemClock;
use inferwarden::error::{Error, ErrorCode};
use inferwarden::proxy::{RemoteBody as CoreBody, RemoteOptions, RemoteWorkspaces, SharedBody};
use inferwarden::routing::{ProxyRoute, WorkspaceStatus};
use inferwarden::secret::Secret;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::aio;
use crate::config::PolicyConfig;
use crate::convert::{py_to_json, to_py_json};
use crate::errors::{guard, to_py_err};

/// The worker-account registry, registry-only target resolution and the proxy.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct Router {
    remote: RemoteWorkspaces,
    audit: AuditHandle,
}

fn to_py<T: serde::Serialize>(py: Python<'_>, v: T) -> PyResult<Py<PyAny>> {
    to_py_json(py, &v)
}

fn body_to_py(py: Python<'_>, b: CoreBody) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, RemoteBody::new(b))?.into_any())
}

#[pymethods]
impl Router {
    /// A router with the proxy policy of `config`. `dns`: a fixed `{host: [ip, ...]}` table
    /// (tests); default: the system resolver. `registry`: a store URL overriding
    /// `proxy.registry`. `credentials`: `{credential_ref: secret}`; with
    /// `credentials_from_env`, references not given fall back to `INFERWARDEN_WORKER_KEY`
    /// (`default`) or `INFERWARDEN_WORKER_KEY_<REF>`. `audit`: a store URL or an `AuditLog`
    /// (default: `config.audit.store`); registry changes and rejected targets are audited,
    /// and refused when the log cannot write.
    #[new]
    #[pyo3(signature = (config, *, dns=None, registry=None, credentials=None, credentials_from_env=true, audit=None))]
    fn new(
        py: Python<'_>,
        config: &PolicyConfig,
        dns: Option<BTreeMap<String, Vec<String>>>,
        registry: Option<String>,
        credentials: Option<BTreeMap<String, String>>,
        credentials_from_env: bool,
        audit: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let config = config.inner().clone();
        let audit = crate::audit::audit_handle(py, audit, &config, Arc::new(SystemClock))?;
        let a2 = audit.sink();
        let options = RemoteOptions {
            registry,
            dns,
            credentials: credentials
                .unwrap_or_default()
                .into_iter()
                .map(|(name, secret)| (name, Secret::new(secret)))
                .collect(),
            credentials_from_env,
        };
        let router =
            py.detach(move || RemoteWorkspaces::open(&config, options, a2, Arc::new(SystemClock)));
        Ok(Router {
            remote: router.map_err(|e| to_py_err(py, e))?,
            audit,
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
            self.remote.router().register(
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
            self.remote
                .router()
                .set_status(workspace, WorkspaceStatus::from_name(status)?)
        })
    }

    /// Every ready worker account.
    fn ready(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let entries = guard(py, || self.remote.router().ready())?;
        let entries: Vec<&inferwarden::routing::WorkspaceEntry> =
            entries.iter().map(AsRef::as_ref).collect();
        to_py_json(py, &entries)
    }

    /// Resolves a public task id for `route` (`status`, `results`, `preview`):
    /// `{workspace, url, origin, host, addresses, credential_ref}`.
    #[pyo3(signature = (task_id, route, correlation_id="-"))]
    fn resolve(
        &self,
        py: Python<'_>,
        task_id: String,
        route: &str,
        correlation_id: &str,
    ) -> PyResult<Py<PyAny>> {
        let route = guard(py, || ProxyRoute::from_name(route))?;
        let router = self.remote.router().clone();
        let correlation_id = correlation_id.to_owned();
        let target = py
            .detach(move || router.resolve(&task_id, route, &correlation_id))
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &target)
    }

    /// The validated status of a remote task (blocking; the GIL is released).
    #[pyo3(signature = (task_id, correlation_id="-".to_owned()))]
    fn status(
        &self,
        py: Python<'_>,
        task_id: String,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        let v = aio::block_on(py, async move { r.status(&task_id, &correlation_id).await })?;
        to_py(py, v)
    }

    /// `status` as an awaitable.
    #[pyo3(signature = (task_id, correlation_id="-".to_owned()))]
    fn status_async(
        &self,
        py: Python<'_>,
        task_id: String,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        aio::spawn(
            py,
            async move { r.status(&task_id, &correlation_id).await },
            to_py,
        )
    }

    /// A remote task's result as a streamed `RemoteBody` (media types only).
    #[pyo3(signature = (task_id, correlation_id="-".to_owned()))]
    fn results(
        &self,
        py: Python<'_>,
        task_id: String,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        let b = aio::block_on(
            py,
            async move { r.results(&task_id, &correlation_id).await },
        )?;
        body_to_py(py, b)
    }

    /// `results` as an awaitable.
    #[pyo3(signature = (task_id, correlation_id="-".to_owned()))]
    fn results_async(
        &self,
        py: Python<'_>,
        task_id: String,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        aio::spawn(
            py,
            async move { r.results(&task_id, &correlation_id).await },
            body_to_py,
        )
    }

    /// A remote task's preview as a streamed `RemoteBody` (media types only).
    #[pyo3(signature = (task_id, correlation_id="-".to_owned()))]
    fn preview(
        &self,
        py: Python<'_>,
        task_id: String,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        let b = aio::block_on(
            py,
            async move { r.preview(&task_id, &correlation_id).await },
        )?;
        body_to_py(py, b)
    }

    /// `preview` as an awaitable.
    #[pyo3(signature = (task_id, correlation_id="-".to_owned()))]
    fn preview_async(
        &self,
        py: Python<'_>,
        task_id: String,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        aio::spawn(
            py,
            async move { r.preview(&task_id, &correlation_id).await },
            body_to_py,
        )
    }

    /// Submits `payload` (a JSON-like dict; validate it against the catalogue first) to
    /// `workspace`: `{task_id, workspace, status_url}`.
    #[pyo3(signature = (workspace, payload, correlation_id="-".to_owned()))]
    fn generate(
        &self,
        py: Python<'_>,
        workspace: String,
        payload: &Bound<'_, PyAny>,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let payload = json_payload(py, payload)?;
        let r = self.remote.clone();
        let v = aio::block_on(py, async move {
            r.generate(&workspace, &payload, &correlation_id).await
        })?;
        to_py(py, v)
    }

    /// `generate` as an awaitable.
    #[pyo3(signature = (workspace, payload, correlation_id="-".to_owned()))]
    fn generate_async(
        &self,
        py: Python<'_>,
        workspace: String,
        payload: &Bound<'_, PyAny>,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let payload = json_payload(py, payload)?;
        let r = self.remote.clone();
        aio::spawn(
            py,
            async move { r.generate(&workspace, &payload, &correlation_id).await },
            to_py,
        )
    }

    /// The gallery of every ready account, newest first:
    /// `{items, failures, accounts, skipped}`.
    #[pyo3(signature = (limit=50, correlation_id="-".to_owned()))]
    fn gallery(&self, py: Python<'_>, limit: u32, correlation_id: String) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        let v = aio::block_on(py, async move { r.gallery(limit, &correlation_id).await })?;
        to_py(py, v)
    }

    /// `gallery` as an awaitable.
    #[pyo3(signature = (limit=50, correlation_id="-".to_owned()))]
    fn gallery_async(
        &self,
        py: Python<'_>,
        limit: u32,
        correlation_id: String,
    ) -> PyResult<Py<PyAny>> {
        let r = self.remote.clone();
        aio::spawn(
            py,
            async move { r.gallery(limit, &correlation_id).await },
            to_py,
        )
    }

    /// The newest audit events (up to 10,000), oldest first.
    fn audit_events(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let v = crate::errors::guard(py, || self.audit.recent_json(10_000))?;
        to_py_json(py, &v)
    }
}

fn json_payload(py: Python<'_>, payload: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    py_to_json(payload, 0).ok_or_else(|| {
        to_py_err(
            py,
            Error::with_detail(
                ErrorCode::ValidationError,
                "payload must be made of dict, list, str, int, float, bool and None",
            ),
        )
    })
}

/// A streamed remote body: iterate it (or `async for`) to receive chunks as they arrive.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct RemoteBody {
    body: SharedBody,
    #[pyo3(get)]
    status: u16,
    #[pyo3(get)]
    content_type: Option<String>,
    #[pyo3(get)]
    content_length: Option<u64>,
    #[pyo3(get)]
    attempts: u32,
}

impl RemoteBody {
    fn new(b: CoreBody) -> Self {
        RemoteBody {
            status: b.status(),
            content_type: b.content_type().map(str::to_owned),
            content_length: b.content_length(),
            attempts: b.attempts(),
            body: SharedBody::new(b),
        }
    }
}

fn chunk_to_py(py: Python<'_>, c: Option<Vec<u8>>) -> PyResult<Py<PyAny>> {
    Ok(match c {
        Some(bytes) => PyBytes::new(py, &bytes).into_any().unbind(),
        None => py.None(),
    })
}

fn chunk_or_stop_async(py: Python<'_>, c: Option<Vec<u8>>) -> PyResult<Py<PyAny>> {
    match c {
        Some(bytes) => Ok(PyBytes::new(py, &bytes).into_any().unbind()),
        None => Err(pyo3::exceptions::PyStopAsyncIteration::new_err(())),
    }
}

#[pymethods]
impl RemoteBody {
    /// The next chunk, or `None` at the end (blocking; the GIL is released).
    fn read_chunk(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        let c = aio::block_on(py, async move { body.next_chunk().await })?;
        chunk_to_py(py, c)
    }

    /// `read_chunk` as an awaitable.
    fn read_chunk_async(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        aio::spawn(py, async move { body.next_chunk().await }, chunk_to_py)
    }

    /// The rest of the body (at most `max_bytes`; more is `RemoteUnavailableError`).
    #[pyo3(signature = (max_bytes=64 * 1024 * 1024))]
    fn read_all(&self, py: Python<'_>, max_bytes: usize) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        let out = aio::block_on(py, async move { body.read_rest(max_bytes).await })?;
        Ok(PyBytes::new(py, &out).into_any().unbind())
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let body = self.body.clone();
        let c = aio::block_on(py, async move { body.next_chunk().await })?;
        Ok(c.map(|bytes| PyBytes::new(py, &bytes).into_any().unbind()))
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        aio::spawn(
            py,
            async move { body.next_chunk().await },
            chunk_or_stop_async,
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "RemoteBody(status={}, content_type={:?}, content_length={:?})",
            self.status, self.content_type, self.content_length
        )
    }
}
