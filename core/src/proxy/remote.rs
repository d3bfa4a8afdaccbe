//! [`RemoteWorkspaces`]: what a gateway calls for a remote task. Each call resolves through
//! the audited router first (on a blocking thread when the system resolver or a SQL registry
//! is in use), then looks up the credential the entry names, then sends. Nothing is
//! read from or sent to a workspace that did not resolve.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::body::RemoteBody;
use super::client::{route_timeouts, ProxyClient};
use super::credentials::{require, CredentialSource};
use super::failure::unavailable;
use super::gallery::{merge_newest_first, Gallery, GalleryFailure};
use super::generate::GenerateAccepted;
use super::status::RemoteStatus;
use crate::config::ProxyConfig;
use crate::error::{Error, ErrorCode};
use crate::routing::{ProxyRoute, ResolvedTarget, Router};

/// The largest gallery a caller may ask for.
pub const MAX_GALLERY_LIMIT: u32 = 500;

/// Remote-workspace operations for a gateway. Cheap to clone.
#[derive(Debug, Clone)]
pub struct RemoteWorkspaces {
    router: Router,
    client: ProxyClient,
    credentials: Arc<dyn CredentialSource>,
}

fn join_failed() -> Error {
    Error::with_detail(ErrorCode::InternalError, "a resolution task failed")
}

/// Runs a resolution step inline when nothing in it blocks (memory registry, fixed DNS
/// table), else on a blocking thread so the runtime's workers never wait on DNS or a
/// database.
async fn off_runtime<T: Send + 'static>(
    router: &Router,
    f: impl FnOnce(Router) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let router = router.clone();
    if !router.resolution_blocks() {
        return f(router);
    }
    tokio::task::spawn_blocking(move || f(router))
        .await
        .map_err(|_| join_failed())?
}

impl RemoteWorkspaces {
    /// Operations over `router`, with the timeouts and retries of `config`.
    pub fn new(
        router: Router,
        config: &ProxyConfig,
        credentials: Arc<dyn CredentialSource>,
    ) -> Self {
        RemoteWorkspaces {
            router,
            client: ProxyClient::new(config),
            credentials,
        }
    }

    /// The router.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The client.
    pub fn client(&self) -> &ProxyClient {
        &self.client
    }

    async fn resolve_task(
        &self,
        task_id: &str,
        route: ProxyRoute,
        correlation_id: &str,
    ) -> Result<ResolvedTarget, Error> {
        let (task_id, corr) = (task_id.to_owned(), correlation_id.to_owned());
        off_runtime(&self.router, move |r| r.resolve(&task_id, route, &corr)).await
    }

    /// The validated status of a remote task (`workspace::task_id`).
    pub async fn status(&self, task_id: &str, correlation_id: &str) -> Result<RemoteStatus, Error> {
        let target = self
            .resolve_task(task_id, ProxyRoute::Status, correlation_id)
            .await?;
        let key = require(self.credentials.as_ref(), target.credential_ref())?;
        self.client.status(&target, &key, task_id).await
    }

    /// A remote task's result, streamed (media content types only).
    pub async fn results(&self, task_id: &str, correlation_id: &str) -> Result<RemoteBody, Error> {
        self.media(task_id, ProxyRoute::Results, correlation_id)
            .await
    }

    /// A remote task's preview, streamed (media content types only).
    pub async fn preview(&self, task_id: &str, correlation_id: &str) -> Result<RemoteBody, Error> {
        self.media(task_id, ProxyRoute::Preview, correlation_id)
            .await
    }

    async fn media(
        &self,
        task_id: &str,
        route: ProxyRoute,
        correlation_id: &str,
    ) -> Result<RemoteBody, Error> {
        let target = self.resolve_task(task_id, route, correlation_id).await?;
        let key = require(self.credentials.as_ref(), target.credential_ref())?;
        self.client.media(&target, route, &key).await
    }

    /// Submits `payload` (validate it against the catalogue first) to `workspace`.
    pub async fn generate(
        &self,
        workspace: &str,
        payload: &Value,
        correlation_id: &str,
    ) -> Result<GenerateAccepted, Error> {
        let (ws, corr) = (workspace.to_owned(), correlation_id.to_owned());
        let target = off_runtime(&self.router, move |r| {
            r.resolve_workspace(&ws, ProxyRoute::Generate, &corr)
        })
        .await?;
        let key = require(self.credentials.as_ref(), target.credential_ref())?;
        self.client.generate(&target, &key, payload).await
    }

    /// The gallery of every ready account, asked concurrently, each within the gallery
    /// route's connect + read deadline; merged newest first, at most `limit` items
    /// (1..=500). Accounts that fail are listed in `failures`.
    pub async fn gallery(&self, limit: u32, correlation_id: &str) -> Result<Gallery, Error> {
        if !(1..=MAX_GALLERY_LIMIT).contains(&limit) {
            return Err(Error::with_detail(
                ErrorCode::ValidationError,
                "limit must be between 1 and 500",
            ));
        }
        let entries = off_runtime(&self.router, |r| r.ready()).await?;
        let t = route_timeouts(self.client.config(), ProxyRoute::Gallery);
        let deadline = Duration::from_secs_f64(t.connect_s + t.read_s);
        let mut set = tokio::task::JoinSet::new();
        for entry in &entries {
            let (this, entry, corr) = (self.clone(), entry.clone(), correlation_id.to_owned());
            set.spawn(async move {
                let ws = entry.workspace.clone();
                let work = async {
                    let target = off_runtime(&this.router, move |r| {
                        r.resolve_entry(&entry, ProxyRoute::Gallery, &corr)
                    })
                    .await?;
                    let key = require(this.credentials.as_ref(), target.credential_ref())?;
                    this.client.gallery(&target, &key, limit).await
                };
                let result = match tokio::time::timeout(deadline, work).await {
                    Ok(r) => r,
                    Err(_) => Err(unavailable("deadline")),
                };
                (ws, result)
            });
        }
        let mut lists = Vec::new();
        let mut failures = Vec::new();
        let mut skipped = 0u32;
        while let Some(joined) = set.join_next().await {
            let (workspace, result) = joined.map_err(|_| join_failed())?;
            match result {
                Ok((items, n)) => {
                    skipped = skipped.saturating_add(n);
                    lists.push(items);
                }
                Err(e) => failures.push(GalleryFailure {
                    workspace,
                    code: e.code_str().to_owned(),
                    reason: e
                        .metadata()
                        .and_then(|m| m.get("reason"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                }),
            }
        }
        failures.sort_by(|a, b| a.workspace.cmp(&b.workspace));
        Ok(Gallery {
            items: merge_newest_first(lists, limit as usize),
            failures,
            accounts: u32::try_from(entries.len()).unwrap_or(u32::MAX),
            skipped,
        })
    }
}
