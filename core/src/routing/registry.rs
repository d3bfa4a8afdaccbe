//! The worker-account registry: workspace -> base URL, status and credential reference.
//! Registration validates the URL ([`WorkspaceEntry::validated`](crate::workspace::WorkspaceEntry::validated)); lookups never touch user
//! input beyond the validated workspace name. Backends: [`MemoryRegistry`] here, SQLite and
//! PostgreSQL in their own files, chosen by URL with [`super::open_registry`].

use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use crate::error::{Error, ErrorCode};
use crate::workspace::{TargetPolicy, WorkspaceEntry, WorkspaceStatus};
use rustc_hash::FxHashMap;

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
