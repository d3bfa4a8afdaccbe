//! Remote status payloads: validated (unknown status values are `remote_unavailable`,
//! progress clamped to 0..=100) and rewritten so media URLs point at the gateway's own
//! routes with the composite id.

use serde::Serialize;
use serde_json::Value;

use super::failure::unavailable;
use crate::error::Error;

/// A validated remote status payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteStatus {
    /// The public (composite) task id.
    pub task_id: String,
    /// `pending`, `processing`, `done` or `failed`.
    pub status: String,
    /// 0..=100.
    pub progress: u8,
    /// The gateway's own result route, when the remote reports a result.
    pub result_url: Option<String>,
    /// The gateway's own preview route, when the remote reports a preview.
    pub preview_url: Option<String>,
    /// The remote's error message for failed tasks (truncated to 500 characters).
    pub error: Option<String>,
}

/// Whether `v` is a lifecycle status value.
pub(crate) fn is_task_status(v: &str) -> bool {
    matches!(v, "pending" | "processing" | "done" | "failed")
}

/// Whether the JSON object `v` has a non-empty string at `key`.
pub(crate) fn has_text(v: &Value, key: &str) -> bool {
    v.get(key)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// Validates a remote status payload and rewrites its media URLs to the gateway's routes.
pub fn parse_status(body: &[u8], public_id: &str) -> Result<RemoteStatus, Error> {
    let v: Value = serde_json::from_slice(body).map_err(|_| unavailable("malformed_status"))?;
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .ok_or_else(|| unavailable("malformed_status"))?;
    if !is_task_status(status) {
        return Err(unavailable("unknown_status"));
    }
    let progress = v.get("progress").and_then(Value::as_f64).map_or(0.0, |p| {
        if p.is_finite() {
            p.clamp(0.0, 100.0)
        } else {
            0.0
        }
    });
    Ok(RemoteStatus {
        task_id: public_id.to_owned(),
        status: status.to_owned(),
        progress: progress.round() as u8,
        result_url: (has_text(&v, "result_url") || status == "done")
            .then(|| format!("/results/{public_id}")),
        preview_url: has_text(&v, "preview_url").then(|| format!("/preview/{public_id}")),
        error: v
            .get("error")
            .and_then(Value::as_str)
            .map(|e| e.chars().take(500).collect()),
    })
}
