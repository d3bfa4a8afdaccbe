//! One registered worker account and its validation: the workspace name's grammar, the base
//! URL under the registration policy, the status and the credential reference. A leaf: it
//! needs only the error type and the task-reference grammar, so configuration validation
//! and the routing registry both use it without depending on each other.

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
