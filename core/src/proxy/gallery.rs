//! The gallery across workspaces: each ready account's `GET /gallery` is validated item by
//! item (an item with an unusable id or timestamp is skipped and counted, never passed on),
//! ids become composite, media URLs point at the gateway's routes, and the lists are merged
//! newest first. An account that fails is reported in `failures`, never failing the list.

use serde::Serialize;
use serde_json::Value;

use super::failure::unavailable;
use super::generate::composite_id;
use super::status::{has_text, is_task_status};
use crate::error::Error;
use crate::lifecycle::parse_iso8601_ms;

/// One gallery entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GalleryItem {
    /// The public (composite) id.
    pub task_id: String,
    /// The workspace it lives in.
    pub workspace: String,
    /// Creation time, Unix milliseconds.
    pub created_at_ms: i64,
    /// Task type (`image`, `video`, ...), when given.
    pub task_type: Option<String>,
    /// Lifecycle status, when given.
    pub status: Option<String>,
    /// Model id, when given.
    pub model: Option<String>,
    /// The gateway's result route, when the remote has a result.
    pub result_url: Option<String>,
    /// The gateway's preview route, when the remote has a preview.
    pub preview_url: Option<String>,
}

/// An account the fan-out could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GalleryFailure {
    /// The workspace.
    pub workspace: String,
    /// The error code (`remote_unavailable`, `proxy_target_invalid`, ...).
    pub code: String,
    /// The failure reason (`timeout`, `remote_status`, `deadline`, ...), when known.
    pub reason: Option<String>,
}

/// The merged gallery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gallery {
    /// Items, newest first (ties by id).
    pub items: Vec<GalleryItem>,
    /// Accounts that failed, by workspace name.
    pub failures: Vec<GalleryFailure>,
    /// Ready accounts asked.
    pub accounts: u32,
    /// Remote items dropped as invalid.
    pub skipped: u32,
}

fn short_text(v: &Value, key: &str, max: usize) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control))
        .map(str::to_owned)
}

fn created_at(v: &Value) -> Option<i64> {
    match v.get("created_at")? {
        Value::Number(n) => n.as_i64().filter(|ms| *ms >= 0),
        Value::String(s) => parse_iso8601_ms(s).ok(),
        _ => None,
    }
}

fn item(v: &Value, workspace: &str) -> Option<GalleryItem> {
    let remote_id = v.get("task_id").or_else(|| v.get("id"))?.as_str()?;
    let task_id = composite_id(workspace, remote_id)?;
    let status = match v.get("status") {
        None | Some(Value::Null) => None,
        Some(s) => Some(s.as_str().filter(|s| is_task_status(s))?.to_owned()),
    };
    Some(GalleryItem {
        workspace: workspace.to_owned(),
        created_at_ms: created_at(v)?,
        task_type: short_text(v, "type", 32),
        model: short_text(v, "model", 128),
        result_url: (has_text(v, "result_url") || status.as_deref() == Some("done"))
            .then(|| format!("/results/{task_id}")),
        preview_url: has_text(v, "preview_url").then(|| format!("/preview/{task_id}")),
        status,
        task_id,
    })
}

/// Validates one workspace's gallery (`{"items": [...]}` or a bare list): the valid items
/// and how many were skipped. A body that is not such a list is `remote_unavailable`
/// (reason `malformed_gallery`).
pub fn parse_gallery(body: &[u8], workspace: &str) -> Result<(Vec<GalleryItem>, u32), Error> {
    let v: Value = serde_json::from_slice(body).map_err(|_| unavailable("malformed_gallery"))?;
    let list = match &v {
        Value::Array(a) => a,
        Value::Object(o) => o
            .get("items")
            .and_then(Value::as_array)
            .ok_or_else(|| unavailable("malformed_gallery"))?,
        _ => return Err(unavailable("malformed_gallery")),
    };
    let items: Vec<GalleryItem> = list.iter().filter_map(|i| item(i, workspace)).collect();
    let skipped = u32::try_from(list.len() - items.len()).unwrap_or(u32::MAX);
    Ok((items, skipped))
}

/// Merges per-account lists newest first (ties by id, so the order is stable) and keeps
/// the first `limit`.
pub fn merge_newest_first(lists: Vec<Vec<GalleryItem>>, limit: usize) -> Vec<GalleryItem> {
    let mut all: Vec<GalleryItem> = lists.into_iter().flatten().collect();
    all.sort_by(|a, b| {
        b.created_at_ms
            .cmp(&a.created_at_ms)
            .then_with(|| a.task_id.cmp(&b.task_id))
    });
    all.truncate(limit);
    all
}
