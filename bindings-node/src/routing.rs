//! Registry-only routing as a JS class.

use std::collections::HashMap;
use std::sync::Arc;

use inferwarden::audit::MemoryAuditSink;
use inferwarden::clock::SystemClock;
use inferwarden::error::to_json_value;
use inferwarden::routing::{resolver_for, ProxyRoute, Router as CoreRouter, WorkspaceStatus};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::config::PolicyConfig;
use crate::errors::guard;

/// The worker-account registry and registry-only target resolution.
#[napi]
pub struct Router {
    inner: CoreRouter,
    audit: Arc<MemoryAuditSink>,
}

#[napi]
impl Router {
    /// A router with the proxy policy of `config`; `dns` is a fixed `{ host: [ip] }` table
    /// (tests), default the system resolver.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        config: &PolicyConfig,
        dns: Option<HashMap<String, Vec<String>>>,
    ) -> napi::Result<Self> {
        let resolver = guard(&env, || resolver_for(dns.as_ref()))?;
        let audit = Arc::new(MemoryAuditSink::new());
        Ok(Router {
            inner: CoreRouter::new(
                config.inner(),
                resolver,
                audit.clone(),
                Arc::new(SystemClock),
            ),
            audit,
        })
    }

    /// Registers a worker account (`status` default `ready`).
    #[napi]
    pub fn register(
        &self,
        env: Env,
        workspace: String,
        base_url: String,
        status: Option<String>,
        credential_ref: Option<String>,
        allow_private: Option<bool>,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            let status = WorkspaceStatus::from_name(status.as_deref().unwrap_or("ready"))?;
            to_json_value(&self.inner.register(
                &workspace,
                &base_url,
                status,
                credential_ref.as_deref().unwrap_or("default"),
                allow_private.unwrap_or(false),
            )?)
        })
    }

    /// Resolves a public task id for `route` (`status`, `results`, `preview`).
    #[napi]
    pub fn resolve(
        &self,
        env: Env,
        task_id: String,
        route: String,
    ) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            to_json_value(
                &self
                    .inner
                    .resolve(&task_id, ProxyRoute::from_name(&route)?, "-")?,
            )
        })
    }

    /// Audit events (rejections) recorded so far.
    #[napi]
    pub fn audit_events(&self) -> serde_json::Value {
        serde_json::to_value(self.audit.events()).unwrap_or_default()
    }
}
