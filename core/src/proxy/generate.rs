//! The answer to a proxied `POST /generate`: the remote task id, validated so the composite
//! id `workspace::task_id` parses back to the same workspace and task (a remote cannot hand
//! out an id that routes somewhere else).

use serde::Serialize;
use serde_json::Value;

use super::failure::unavailable;
use crate::error::Error;
use crate::task_ref::{parse_task_ref, TaskRef};

/// An accepted remote generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GenerateAccepted {
    /// The public (composite) id `workspace::task_id`.
    pub task_id: String,
    /// The workspace that accepted it.
    pub workspace: String,
    /// The gateway's own status route for it.
    pub status_url: String,
}

/// The composite id of a remote task id, when it is one the router accepts back.
pub(crate) fn composite_id(workspace: &str, remote_id: &str) -> Option<String> {
    let public = format!("{workspace}::{remote_id}");
    match parse_task_ref(&public) {
        Ok(TaskRef::Remote {
            workspace: w,
            task_id,
        }) if w == workspace && task_id == remote_id => Some(public),
        _ => None,
    }
}

/// Validates a `POST /generate` answer (`{"task_id": "..."}`, or `{"id": "..."}`).
pub fn parse_generate(body: &[u8], workspace: &str) -> Result<GenerateAccepted, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|_| unavailable("malformed_generate"))?;
    let remote_id = v
        .get("task_id")
        .or_else(|| v.get("id"))
        .and_then(Value::as_str)
        .ok_or_else(|| unavailable("malformed_generate"))?;
    let task_id =
        composite_id(workspace, remote_id).ok_or_else(|| unavailable("invalid_task_id"))?;
    Ok(GenerateAccepted {
        status_url: format!("/status/{task_id}"),
        task_id,
        workspace: workspace.to_owned(),
    })
}
