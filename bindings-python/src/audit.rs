//! The audit log as a Python class, and the `audit=` argument every binding object takes
//! (a store URL, an `AuditLog`, or `None` for the configuration's `audit.store`). Database
//! calls release the GIL.

use std::sync::Arc;

use inferwarden::audit::{
    open_configured_audit, sequence_number, AuditFields, AuditHandle, AuditQuery, Outcome,
};
use inferwarden::clock::{Clock, SystemClock};
use inferwarden::config::PolicyConfig as CorePolicyConfig;
use pyo3::prelude::*;
use serde_json::{Map, Value};

use crate::config::PolicyConfig;
use crate::convert::{py_to_json, to_py_json};
use crate::errors::{guard, to_py_err};
use crate::gate::ManualClock;

/// The audit log: the durable, hash-chained log (`sqlite:PATH`, `postgres://...`) or the
/// bounded in-memory ring (`memory`).
#[pyclass(module = "inferwarden._native", frozen)]
pub struct AuditLog {
    pub(crate) handle: AuditHandle,
    clock: Arc<dyn Clock>,
}

fn details_map(obj: Option<&Bound<'_, PyAny>>) -> Result<Map<String, Value>, inferwarden::Error> {
    match obj.map(|o| py_to_json(o, 0)) {
        None => Ok(Map::new()),
        Some(Some(Value::Object(map))) => Ok(map),
        Some(_) => Err(inferwarden::Error::with_detail(
            inferwarden::ErrorCode::ValidationError,
            "details must be a dict of JSON values",
        )),
    }
}

/// The audit destination for a binding object: `audit` as given, or the configuration's.
pub fn audit_handle(
    py: Python<'_>,
    audit: Option<&Bound<'_, PyAny>>,
    config: &CorePolicyConfig,
    clock: Arc<dyn Clock>,
) -> PyResult<AuditHandle> {
    if let Some(obj) = audit {
        if let Ok(log) = obj.cast::<AuditLog>() {
            return Ok(log.get().handle.clone());
        }
    }
    let url: Option<String> = match audit {
        Some(obj) => Some(obj.extract().map_err(|_| {
            to_py_err(
                py,
                inferwarden::Error::with_detail(
                    inferwarden::ErrorCode::ConfigInvalid,
                    "audit must be a store URL, an AuditLog or None",
                ),
            )
        })?),
        None => None,
    };
    let audit_config = config.audit.clone();
    py.detach(move || open_configured_audit(url.as_deref(), &audit_config, clock))
        .map_err(|e| to_py_err(py, e))
}

impl AuditLog {
    /// Wraps a handle another binding object writes to.
    pub fn wrap(handle: AuditHandle, clock: Arc<dyn Clock>) -> Self {
        AuditLog { handle, clock }
    }
}

#[pymethods]
impl AuditLog {
    /// Opens `url` (default: `config.audit.store`) with `config`'s audit settings; the
    /// signing and HMAC keys are read from the environment variables they name.
    #[new]
    #[pyo3(signature = (url=None, *, config=None, clock=None))]
    fn new(
        py: Python<'_>,
        url: Option<String>,
        config: Option<&PolicyConfig>,
        clock: Option<&ManualClock>,
    ) -> PyResult<Self> {
        let config = config.map(|c| c.inner().clone()).unwrap_or_default();
        let clock: Arc<dyn Clock> = match clock {
            Some(c) => Arc::new(c.core().clone()),
            None => Arc::new(SystemClock),
        };
        let c2 = clock.clone();
        let handle = py
            .detach(move || open_configured_audit(url.as_deref(), &config.audit, c2))
            .map_err(|e| to_py_err(py, e))?;
        Ok(AuditLog { handle, clock })
    }

    /// Whether this is a durable, hash-chained log (not the in-memory ring).
    #[getter]
    fn durable(&self) -> bool {
        self.handle.log().is_ok()
    }

    /// Appends one event; returns its sequence number (`None` in the in-memory ring).
    /// Raises `DependencyUnavailableError` when the store cannot write.
    #[pyo3(signature = (*, actor, source, action, target, outcome, correlation_id, details=None))]
    #[allow(clippy::too_many_arguments)]
    fn append(
        &self,
        py: Python<'_>,
        actor: String,
        source: String,
        action: String,
        target: String,
        outcome: String,
        correlation_id: String,
        details: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<u64>> {
        let details = guard(py, || details_map(details))?;
        let handle = self.handle.clone();
        let clock = self.clock.clone();
        py.detach(move || {
            let fields = AuditFields {
                actor: &actor,
                source: &source,
                action: &action,
                target: &target,
                outcome: Outcome::parse(&outcome)?,
                correlation_id: &correlation_id,
            };
            handle.append_parts(fields, details, clock.as_ref())
        })
        .map_err(|e| to_py_err(py, e))
    }

    /// Records matching the filter, oldest first (a page: pass the last `seq` as
    /// `after_seq` for the next one).
    /// `newest_first` lists the newest first (page with `before_seq`).
    #[pyo3(signature = (*, since_ms=None, until_ms=None, actor=None, action=None, source=None, outcome=None, correlation_id=None, after_seq=None, before_seq=None, newest_first=false, limit=100))]
    #[allow(clippy::too_many_arguments)]
    fn query(
        &self,
        py: Python<'_>,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        actor: Option<String>,
        action: Option<String>,
        source: Option<String>,
        outcome: Option<String>,
        correlation_id: Option<String>,
        after_seq: Option<i64>,
        before_seq: Option<i64>,
        newest_first: bool,
        limit: usize,
    ) -> PyResult<Py<PyAny>> {
        let query = AuditQuery {
            since_ms,
            until_ms,
            actor,
            action,
            source,
            outcome,
            correlation_id,
            after_seq,
            before_seq,
            newest_first,
            limit,
        };
        let handle = self.handle.clone();
        let rows = py
            .detach(move || {
                let rows = handle.log()?.query(&query)?;
                Ok::<_, inferwarden::Error>(rows.iter().map(|r| r.to_json()).collect::<Vec<_>>())
            })
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &rows)
    }

    /// The newest events (at most `limit`), oldest first, as dicts.
    #[pyo3(signature = (limit=1000))]
    fn events(&self, py: Python<'_>, limit: usize) -> PyResult<Py<PyAny>> {
        let handle = self.handle.clone();
        let rows = py
            .detach(move || handle.recent_json(limit))
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &rows)
    }

    /// Verifies the whole log: `{intact, first_seq, size, root, checkpoints_checked,
    /// tamper: {kind, seq, detail} | None}`. `checkpoints`: signed notes kept outside the
    /// database; `public_key`: the verifier key (default: the configured signer's).
    #[pyo3(signature = (*, checkpoints=Vec::new(), public_key=None))]
    fn verify(
        &self,
        py: Python<'_>,
        checkpoints: Vec<String>,
        public_key: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let handle = self.handle.clone();
        let report = py
            .detach(move || {
                handle
                    .log()?
                    .verify_notes(checkpoints, public_key.as_deref())
            })
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &report)
    }

    /// Signs and stores a checkpoint of the current tree; returns the signed note.
    fn checkpoint(&self, py: Python<'_>) -> PyResult<String> {
        let handle = self.handle.clone();
        py.detach(move || handle.log()?.checkpoint())
            .map_err(|e| to_py_err(py, e))
    }

    /// The inclusion proof of record `seq`: `{seq, size, leaf_hash, path, root}` (hex).
    #[pyo3(signature = (seq, size=None))]
    fn prove(&self, py: Python<'_>, seq: i64, size: Option<i64>) -> PyResult<Py<PyAny>> {
        let handle = self.handle.clone();
        let proof = py
            .detach(move || {
                let seq = sequence_number("seq", seq)?;
                let size = size.map(|s| sequence_number("size", s)).transpose()?;
                handle.log()?.prove(seq, size)
            })
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &proof)
    }

    /// The consistency proof between two tree sizes (hex hashes).
    fn consistency(&self, py: Python<'_>, old_size: i64, new_size: i64) -> PyResult<Vec<String>> {
        let handle = self.handle.clone();
        py.detach(move || {
            let old = sequence_number("old_size", old_size)?;
            let new = sequence_number("new_size", new_size)?;
            handle.log()?.prove_consistency(old, new)
        })
        .map_err(|e| to_py_err(py, e))
    }

    /// Retention and a due checkpoint (what the sweeper runs): `{prune, checkpoint}`.
    fn maintain(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let handle = self.handle.clone();
        let report = py
            .detach(move || handle.log()?.maintain())
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &report)
    }

    /// The configured signer's verifier key (`name+id+base64`), or `None`.
    #[getter]
    fn public_key(&self) -> Option<String> {
        self.handle.log().ok().and_then(|l| l.public_key())
    }

    /// The stored form (`hmac-sha256:<hex>`) of an identifier, to search for it.
    fn hmac(&self, py: Python<'_>, value: &str) -> PyResult<String> {
        guard(py, || self.handle.log()?.hmac(value))
    }

    /// A new Ed25519 checkpoint key pair named `name`: `(signer_key, verifier_key)` in note
    /// format. Keep the signer key in the variable `audit.signing_key_env` names.
    #[staticmethod]
    fn keygen(py: Python<'_>, name: &str) -> PyResult<(String, String)> {
        guard(py, || {
            let (signer, verifier) = inferwarden::audit::NoteSigner::generate(name)?;
            Ok((signer.as_str().to_owned(), verifier))
        })
    }

    fn __repr__(&self) -> String {
        match &self.handle {
            AuditHandle::Memory(m) => format!("AuditLog(memory, capacity={})", m.capacity()),
            AuditHandle::Log(_) => "AuditLog(durable)".to_owned(),
        }
    }
}
