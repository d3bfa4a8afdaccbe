//! The worker-account registry: workspace -> base URL, status and credential reference.
//! Registration validates the URL ([`WorkspaceEntry::validated`]); lookups never touch user
//! input beyond the validated workspace name. Backends: [`MemoryRegistry`] here, SQLite and
//! PostgreSQL in their own files, chosen by URL with [`super::open_registry`].

use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::target_url::{TargetPolicy, TargetUrl};
use crate::error::{Error, ErrorCode};
use crate::task_ref::is_valid_workspace;

/// A worker account's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceStatus {
    /// Being deployed.
    Pending,
    /// Serving.
    Ready,
    /// Deployment or health failed.
    Failed,
    /// Turned off by an operator (treated as unknown).
    Disabled,
}

impl WorkspaceStatus {
    /// Parses `pending`, `ready`, `failed` or `disabled`; else `validation_error`.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "pending" => Ok(WorkspaceStatus::Pending),
            "ready" => Ok(WorkspaceStatus::Ready),
            "failed" => Ok(WorkspaceStatus::Failed),
            "disabled" => Ok(WorkspaceStatus::Disabled),
            _ => Err(Error::with_detail(
                ErrorCode::ValidationError,
                "status must be pending, ready, failed or disabled",
            )),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkspaceStatus::Pending => "pending",
            WorkspaceStatus::Ready => "ready",
            WorkspaceStatus::Failed => "failed",
            WorkspaceStatus::Disabled => "disabled",
        }
    }
}

/// One registered worker account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceEntry {
    /// The workspace name (`^[a-z0-9-]{3,64}$`).
    pub workspace: String,
    /// The validated base URL.
    pub base_url: TargetUrl,
    /// State.
    pub status: WorkspaceStatus,
    /// Which secret authenticates to it (a name, never the secret).
    pub credential_ref: String,
    /// Whether private/loopback addresses are acceptable for this entry (tests, private nets).
    pub allow_private_addresses: bool,
}

impl WorkspaceEntry {
    /// Validates a worker account: the workspace name (`proxy_target_invalid` unless it
    /// matches `^[a-z0-9-]{3,64}$`), the base URL under `policy`, and a non-empty credential
    /// reference of at most 128 printable ASCII characters (`validation_error`).
    pub fn validated(
        workspace: &str,
        base_url: &str,
        status: WorkspaceStatus,
        credential_ref: &str,
        policy: &TargetPolicy,
        allow_private_addresses: bool,
    ) -> Result<WorkspaceEntry, Error> {
        if !is_valid_workspace(workspace) {
            return Err(Error::with_detail(
                ErrorCode::ProxyTargetInvalid,
                "workspace must match ^[a-z0-9-]{3,64}$",
            )
            .meta("rule", "workspace"));
        }
        if credential_ref.is_empty()
            || credential_ref.len() > 128
            || !credential_ref.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Error::with_detail(
                ErrorCode::ValidationError,
                "credential_ref must be 1..=128 printable ASCII characters",
            ));
        }
        Ok(WorkspaceEntry {
            workspace: workspace.to_owned(),
            base_url: TargetUrl::parse(base_url, policy)?,
            status,
            credential_ref: credential_ref.to_owned(),
            allow_private_addresses,
        })
    }
}

impl WorkspaceEntry {
    /// Rebuilds an entry read back from a store, validating it again under `policy`.
    pub fn from_stored(
        workspace: &str,
        base_url: &str,
        status: &str,
        credential_ref: &str,
        allow_private_addresses: bool,
        policy: &TargetPolicy,
    ) -> Result<WorkspaceEntry, Error> {
        WorkspaceEntry::validated(
            workspace,
            base_url,
            WorkspaceStatus::from_name(status)?,
            credential_ref,
            policy,
            allow_private_addresses,
        )
    }
}

/// A registry of worker accounts. Entries are validated before they are stored; stores
/// that persist them validate again when they read them back (a row edited by hand, or a
/// policy tightened since, is refused at resolution, never trusted).
pub trait WorkspaceRegistry: Send + Sync + Debug {
    /// The entry of `workspace`, if registered.
    fn get(&self, workspace: &str) -> Result<Option<Arc<WorkspaceEntry>>, Error>;
    /// Every entry with status `ready` (gallery fan-out), by workspace name.
    fn ready(&self) -> Result<Vec<Arc<WorkspaceEntry>>, Error>;
    /// Adds or replaces an entry.
    fn upsert(&self, entry: WorkspaceEntry) -> Result<(), Error>;
    /// Changes an entry's status; `task_not_found` when unknown.
    fn set_status(&self, workspace: &str, status: WorkspaceStatus) -> Result<(), Error>;

    /// Whether reads may block the thread (a database round trip); async callers then run
    /// them on a blocking thread. Default `true`.
    fn blocks(&self) -> bool {
        true
    }
}

/// In-memory registry (tests, config-loaded deployments).
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    /// Keyed by workspace name with the Fx hash: names are operator-registered, so a lookup
    /// key cannot grow a collision chain, and the hash of a short name costs a few ns.
    entries: RwLock<FxHashMap<String, Arc<WorkspaceEntry>>>,
}

fn poisoned() -> Error {
    Error::with_detail(ErrorCode::DependencyUnavailable, "registry lock poisoned")
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and registers a worker account.
    pub fn register(
        &self,
        workspace: &str,
        base_url: &str,
        status: WorkspaceStatus,
        credential_ref: &str,
        policy: &TargetPolicy,
        allow_private_addresses: bool,
    ) -> Result<WorkspaceEntry, Error> {
        let entry = WorkspaceEntry::validated(
            workspace,
            base_url,
            status,
            credential_ref,
            policy,
            allow_private_addresses,
        )?;
        self.upsert(entry.clone())?;
        Ok(entry)
    }
}

impl WorkspaceRegistry for MemoryRegistry {
    fn blocks(&self) -> bool {
        false
    }

    fn get(&self, workspace: &str) -> Result<Option<Arc<WorkspaceEntry>>, Error> {
        Ok(self
            .entries
            .read()
            .map_err(|_| poisoned())?
            .get(workspace)
            .cloned())
    }

    fn ready(&self) -> Result<Vec<Arc<WorkspaceEntry>>, Error> {
        let mut ready: Vec<Arc<WorkspaceEntry>> = self
            .entries
            .read()
            .map_err(|_| poisoned())?
            .values()
            .filter(|e| e.status == WorkspaceStatus::Ready)
            .cloned()
            .collect();
        ready.sort_by(|a, b| a.workspace.cmp(&b.workspace));
        Ok(ready)
    }

    fn upsert(&self, entry: WorkspaceEntry) -> Result<(), Error> {
        self.entries
            .write()
            .map_err(|_| poisoned())?
            .insert(entry.workspace.clone(), Arc::new(entry));
        Ok(())
    }

    fn set_status(&self, workspace: &str, status: WorkspaceStatus) -> Result<(), Error> {
        let mut entries = self.entries.write().map_err(|_| poisoned())?;
        match entries.get_mut(workspace) {
            Some(e) => {
                Arc::make_mut(e).status = status;
                Ok(())
            }
            None => Err(Error::new(ErrorCode::TaskNotFound)),
        }
    }
}
