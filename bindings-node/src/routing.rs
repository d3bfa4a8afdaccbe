//! Registry-only routing and the remote-workspace proxy as a JS class. Resolution is
//! synchronous; every call that talks to a worker returns a promise.

use std::collections::HashMap;
use std::sync::Arc;

use inferwarden::audit::AuditHandle;
use inferwarden::clock::SystemClock;
use inferwarden::error::to_json_value;
use inferwarden::proxy::{RemoteBody as CoreBody, RemoteOptions, RemoteWorkspaces, SharedBody};
use inferwarden::routing::{ProxyRoute, WorkspaceEntry, WorkspaceStatus};
use inferwarden::secret::Secret;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::aio::spawn;
use crate::config::PolicyConfig;
use crate::errors::guard;

/// Where the router keeps its registry and finds worker credentials.
#[napi(object)]
pub struct RouterOptions {
    /// A registry store URL (`memory`, `sqlite:PATH`, `postgres://...`) overriding
    /// `proxy.registry`.
    pub registry: Option<String>,
    /// `{ credentialRef: secret }`.
    pub credentials: Option<HashMap<String, String>>,
    /// Fall back to `INFERWARDEN_WORKER_KEY` / `INFERWARDEN_WORKER_KEY_<REF>` for references
    /// not given (default true).
    pub credentials_from_env: Option<bool>,
}

/// The worker-account registry, registry-only target resolution and the proxy.
#[napi]
pub struct Router {
    remote: RemoteWorkspaces,
    audit: AuditHandle,
}

fn json<T: serde::Serialize>(env: &Env, v: T) -> napi::Result<serde_json::Value> {
    guard(env, || to_json_value(&v))
}

fn corr(c: Option<String>) -> String {
    c.unwrap_or_else(|| "-".to_owned())
}

#[napi]
impl Router {
    /// A router with the proxy policy of `config`; `dns` is a fixed `{ host: [ip] }` table
    /// (tests), default the system resolver; `audit`: a store URL or an `AuditLog` (default:
    /// `config.audit.store`).
    #[napi(constructor)]
    pub fn new(
        env: Env,
        config: &PolicyConfig,
        dns: Option<HashMap<String, Vec<String>>>,
        options: Option<RouterOptions>,
        audit: Option<Either<String, &crate::audit::AuditLog>>,
    ) -> napi::Result<Self> {
        let config = config.inner();
        let options = options.unwrap_or(RouterOptions {
            registry: None,
            credentials: None,
            credentials_from_env: None,
        });
        let audit = guard(&env, || {
            crate::audit::audit_handle(audit, config, Arc::new(SystemClock))
        })?;
        let defaults = RemoteOptions::default();
        let core_options = RemoteOptions {
            registry: options.registry,
            dns: dns.map(|table| table.into_iter().collect()),
            credentials: options
                .credentials
                .unwrap_or_default()
                .into_iter()
                .map(|(name, secret)| (name, Secret::new(secret)))
                .collect(),
            credentials_from_env: options
                .credentials_from_env
                .unwrap_or(defaults.credentials_from_env),
        };
        let remote = guard(&env, || {
            RemoteWorkspaces::open(config, core_options, audit.sink(), Arc::new(SystemClock))
        })?;
        Ok(Router { remote, audit })
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
            to_json_value(&self.remote.router().register(
                &workspace,
                &base_url,
                status,
                credential_ref.as_deref().unwrap_or("default"),
                allow_private.unwrap_or(false),
            )?)
        })
    }

    /// Changes a worker account's status.
    #[napi]
    pub fn set_status(&self, env: Env, workspace: String, status: String) -> napi::Result<()> {
        guard(&env, || {
            self.remote
                .router()
                .set_status(&workspace, WorkspaceStatus::from_name(&status)?)
        })
    }

    /// Every ready worker account.
    #[napi]
    pub fn ready(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            let entries = self.remote.router().ready()?;
            let entries: Vec<&WorkspaceEntry> = entries.iter().map(AsRef::as_ref).collect();
            to_json_value(&entries)
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
            to_json_value(&self.remote.router().resolve(
                &task_id,
                ProxyRoute::from_name(&route)?,
                "-",
            )?)
        })
    }

    /// The validated status of a remote task.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn status<'e>(
        &self,
        env: &'e Env,
        task_id: String,
        correlation_id: Option<String>,
    ) -> napi::Result<PromiseRaw<'e, serde_json::Value>> {
        let r = self.remote.clone();
        let c = corr(correlation_id);
        spawn(env, async move { r.status(&task_id, &c).await }, json)
    }

    /// A remote task's result, streamed (media content types only).
    #[napi(ts_return_type = "Promise<RemoteBody>")]
    pub fn results<'e>(
        &self,
        env: &'e Env,
        task_id: String,
        correlation_id: Option<String>,
    ) -> napi::Result<PromiseRaw<'e, RemoteBody>> {
        let r = self.remote.clone();
        let c = corr(correlation_id);
        spawn(env, async move { r.results(&task_id, &c).await }, |_, b| {
            Ok(RemoteBody::new(b))
        })
    }

    /// A remote task's preview, streamed (media content types only).
    #[napi(ts_return_type = "Promise<RemoteBody>")]
    pub fn preview<'e>(
        &self,
        env: &'e Env,
        task_id: String,
        correlation_id: Option<String>,
    ) -> napi::Result<PromiseRaw<'e, RemoteBody>> {
        let r = self.remote.clone();
        let c = corr(correlation_id);
        spawn(env, async move { r.preview(&task_id, &c).await }, |_, b| {
            Ok(RemoteBody::new(b))
        })
    }

    /// Submits `payload` (validate it against the catalogue first) to `workspace`:
    /// `{ task_id, workspace, status_url }`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn generate<'e>(
        &self,
        env: &'e Env,
        workspace: String,
        payload: serde_json::Value,
        correlation_id: Option<String>,
    ) -> napi::Result<PromiseRaw<'e, serde_json::Value>> {
        let r = self.remote.clone();
        let c = corr(correlation_id);
        spawn(
            env,
            async move { r.generate(&workspace, &payload, &c).await },
            json,
        )
    }

    /// The gallery of every ready account, newest first (`limit` default 50):
    /// `{ items, failures, accounts, skipped }`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn gallery<'e>(
        &self,
        env: &'e Env,
        limit: Option<u32>,
        correlation_id: Option<String>,
    ) -> napi::Result<PromiseRaw<'e, serde_json::Value>> {
        let r = self.remote.clone();
        let c = corr(correlation_id);
        let limit = limit.unwrap_or(50);
        spawn(env, async move { r.gallery(limit, &c).await }, json)
    }

    /// The newest audit events (up to 10,000), oldest first.
    #[napi]
    pub fn audit_events(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || {
            Ok(serde_json::Value::Array(self.audit.recent_json(10_000)?))
        })
    }
}

/// A streamed result or preview: `await body.read()` returns the next chunk, or `null` at
/// the end.
#[napi]
pub struct RemoteBody {
    body: SharedBody,
    status: u16,
    content_type: Option<String>,
    content_length: Option<u64>,
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

#[napi]
impl RemoteBody {
    /// The remote status (2xx).
    #[napi(getter)]
    pub fn status(&self) -> u32 {
        u32::from(self.status)
    }

    /// The content type, lowercased.
    #[napi(getter)]
    pub fn content_type(&self) -> Option<String> {
        self.content_type.clone()
    }

    /// The announced length, if any.
    #[napi(getter)]
    pub fn content_length(&self) -> Option<f64> {
        self.content_length.map(|n| n as f64)
    }

    /// Attempts used (retries included).
    #[napi(getter)]
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The next chunk, or `null` at the end.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn read<'e>(&self, env: &'e Env) -> napi::Result<PromiseRaw<'e, Option<Buffer>>> {
        let body = self.body.clone();
        spawn(env, async move { body.next_chunk().await }, |_, c| {
            Ok(c.map(Buffer::from))
        })
    }
}
