//! `parseTaskRef`.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::throw;

/// A parsed public task id.
#[napi(object)]
pub struct TaskRef {
    /// `"local"` or `"remote"`.
    pub kind: String,
    /// The workspace for remote ids.
    pub workspace: Option<String>,
    /// The task id part.
    pub task_id: String,
}

/// Parses `taskId` or `workspace::taskId`. Throws an error with
/// `code === "proxy_target_invalid"` and `metadata.rule` naming the broken rule.
#[napi]
pub fn parse_task_ref(env: Env, id: String) -> napi::Result<TaskRef> {
    match inferwarden::parse_task_ref(&id) {
        Ok(r) => Ok(TaskRef {
            kind: if r.workspace().is_some() {
                "remote"
            } else {
                "local"
            }
            .to_owned(),
            workspace: r.workspace().map(str::to_owned),
            task_id: r.task_id().to_owned(),
        }),
        Err(e) => Err(throw(&env, e)),
    }
}
