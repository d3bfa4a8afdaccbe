//! Public task ids: `task_id` (local) or `workspace::task_id` (handled by another worker
//! account). The parser is the routing boundary, so it is strict and hand-written (no regex
//! engine): it never normalises, never decodes, and names the rule that failed.
//!
//! Rules:
//! - split on the FIRST `::`; any further `::` (or a `:` right after it) is an error;
//! - workspace: exactly `^[a-z0-9-]{3,64}$` (ASCII only, no trailing newline);
//! - task part (and a local id): 1..=128 bytes of URL-path-safe unreserved characters
//!   `[A-Za-z0-9._~-]`, and not `.` or `..` as a whole.

use serde::Serialize;

use crate::error::{Error, ErrorCode};

/// Maximum workspace length in bytes.
pub const WORKSPACE_MAX_LEN: usize = 64;
/// Minimum workspace length in bytes.
pub const WORKSPACE_MIN_LEN: usize = 3;
/// Maximum task id length in bytes.
pub const TASK_ID_MAX_LEN: usize = 128;
/// The separator between workspace and task id.
pub const SEPARATOR: &str = "::";

/// A parsed public task id, borrowing from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskRef<'a> {
    /// A task of this platform's own store.
    Local {
        /// The task id.
        task_id: &'a str,
    },
    /// A task handled by another worker account.
    Remote {
        /// The worker account (validated syntax; not yet resolved against the registry).
        workspace: &'a str,
        /// The task id inside that workspace.
        task_id: &'a str,
    },
}

impl<'a> TaskRef<'a> {
    /// The task id part.
    pub fn task_id(&self) -> &'a str {
        match self {
            TaskRef::Local { task_id } | TaskRef::Remote { task_id, .. } => task_id,
        }
    }

    /// The workspace, for remote references.
    pub fn workspace(&self) -> Option<&'a str> {
        match self {
            TaskRef::Local { .. } => None,
            TaskRef::Remote { workspace, .. } => Some(workspace),
        }
    }

    /// The public id this reference was parsed from.
    pub fn to_public_id(&self) -> String {
        match self {
            TaskRef::Local { task_id } => (*task_id).to_owned(),
            TaskRef::Remote { workspace, task_id } => format!("{workspace}{SEPARATOR}{task_id}"),
        }
    }
}

/// The rule a rejected task id broke (stable snake_case names, also in error metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRefRule {
    /// The whole id is empty.
    Empty,
    /// More than one separator, or `:::`.
    ExtraSeparator,
    /// Workspace shorter than 3 or longer than 64 bytes.
    WorkspaceLength,
    /// Workspace contains a byte outside `[a-z0-9-]`.
    WorkspaceCharacter,
    /// The task part is empty.
    TaskIdEmpty,
    /// The task part is longer than 128 bytes.
    TaskIdLength,
    /// The task part is `.` or `..`.
    TaskIdDotSegment,
    /// The task part contains a byte outside `[A-Za-z0-9._~-]`.
    TaskIdCharacter,
}

impl TaskRefRule {
    /// Stable rule name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskRefRule::Empty => "empty",
            TaskRefRule::ExtraSeparator => "extra_separator",
            TaskRefRule::WorkspaceLength => "workspace_length",
            TaskRefRule::WorkspaceCharacter => "workspace_character",
            TaskRefRule::TaskIdEmpty => "task_id_empty",
            TaskRefRule::TaskIdLength => "task_id_length",
            TaskRefRule::TaskIdDotSegment => "task_id_dot_segment",
            TaskRefRule::TaskIdCharacter => "task_id_character",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            TaskRefRule::Empty => "task id is empty",
            TaskRefRule::ExtraSeparator => "task id contains more than one `::` separator",
            TaskRefRule::WorkspaceLength => "workspace must be 3 to 64 characters long",
            TaskRefRule::WorkspaceCharacter => "workspace may contain only a-z, 0-9 and `-`",
            TaskRefRule::TaskIdEmpty => "task id part after `::` is empty",
            TaskRefRule::TaskIdLength => "task id part is longer than 128 bytes",
            TaskRefRule::TaskIdDotSegment => "task id part may not be `.` or `..`",
            TaskRefRule::TaskIdCharacter => {
                "task id may contain only A-Z, a-z, 0-9, `.`, `_`, `~` and `-`"
            }
        }
    }
}

fn reject(rule: TaskRefRule, position: Option<usize>) -> Error {
    let err = Error::with_detail(ErrorCode::ProxyTargetInvalid, rule.detail())
        .meta("rule", rule.as_str());
    match position {
        Some(p) => err.meta("position", p as u64),
        None => err,
    }
}

/// Byte classes: bit 0 = allowed in a workspace, bit 1 = allowed in a task id.
const WORKSPACE_BIT: u8 = 1;
const TASK_BIT: u8 = 2;

const BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        let lower_or_digit = c.is_ascii_lowercase() || c.is_ascii_digit();
        let mut class = 0;
        if lower_or_digit || c == b'-' {
            class |= WORKSPACE_BIT;
        }
        if lower_or_digit || c.is_ascii_uppercase() || matches!(c, b'-' | b'.' | b'_' | b'~') {
            class |= TASK_BIT;
        }
        table[b] = class;
        b += 1;
    }
    table
};

#[inline]
fn is_workspace_byte(b: u8) -> bool {
    BYTE_CLASS[b as usize] & WORKSPACE_BIT != 0
}

#[inline]
fn is_task_byte(b: u8) -> bool {
    BYTE_CLASS[b as usize] & TASK_BIT != 0
}

/// The AND of the classes of every byte: branch-free, so the common (valid) case is one pass.
#[inline]
fn class_and(bytes: &[u8]) -> u8 {
    bytes.iter().fold(WORKSPACE_BIT | TASK_BIT, |acc, &b| {
        acc & BYTE_CLASS[b as usize]
    })
}

/// Index of the first byte outside the task class: a branch-free class fold per 16-byte
/// chunk, and a search only inside the chunk that fails.
#[inline]
fn first_non_task_byte(bytes: &[u8]) -> Option<usize> {
    const CHUNK: usize = 16;
    bytes.chunks(CHUNK).enumerate().find_map(|(c, chunk)| {
        (class_and(chunk) & TASK_BIT == 0).then(|| {
            c * CHUNK
                + chunk
                    .iter()
                    .position(|&b| BYTE_CLASS[usize::from(b)] & TASK_BIT == 0)
                    .unwrap_or(0)
        })
    })
}

/// Index of the first `::`, found by scanning for `:` and checking the next byte.
#[inline]
fn find_separator(bytes: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&b| b == b':') {
        let at = from + i;
        if bytes.get(at + 1) == Some(&b':') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Checks a task part; `bytes_valid` is the caller's `class_and(part) & TASK_BIT != 0`.
fn check_task_part(part: &str, offset: usize, bytes_valid: bool) -> Result<(), Error> {
    let bytes = part.as_bytes();
    if bytes.is_empty() {
        return Err(reject(TaskRefRule::TaskIdEmpty, None));
    }
    if bytes.len() > TASK_ID_MAX_LEN {
        return Err(reject(TaskRefRule::TaskIdLength, None));
    }
    if !bytes_valid {
        let i = bytes.iter().position(|&b| !is_task_byte(b)).unwrap_or(0);
        return Err(reject(TaskRefRule::TaskIdCharacter, Some(offset + i)));
    }
    if part == "." || part == ".." {
        return Err(reject(TaskRefRule::TaskIdDotSegment, None));
    }
    Ok(())
}

/// Parses a public task id. Errors are `proxy_target_invalid` with `metadata.rule` naming the
/// broken rule and, for character rules, `metadata.position` (a byte offset).
pub fn parse_task_ref(input: &str) -> Result<TaskRef<'_>, Error> {
    let bytes = input.as_bytes();
    if bytes.is_empty() {
        return Err(reject(TaskRefRule::Empty, None));
    }
    // One pass to the first byte that is not a task byte. None: every byte is valid, a
    // local id (`:` is in neither class). A `::` there: the first separator, since no `:`
    // comes before it (the remote fast path). Anything else: the general search.
    let first_non_task = first_non_task_byte(bytes);
    let sep = match first_non_task {
        None if bytes.len() <= TASK_ID_MAX_LEN => {
            if input == "." || input == ".." {
                return Err(reject(TaskRefRule::TaskIdDotSegment, None));
            }
            return Ok(TaskRef::Local { task_id: input });
        }
        None => None,
        Some(i) if bytes[i] == b':' && bytes.get(i + 1) == Some(&b':') => Some(i),
        Some(_) => find_separator(bytes),
    };
    let Some(sep) = sep else {
        check_task_part(input, 0, first_non_task.is_none())?;
        return Ok(TaskRef::Local { task_id: input });
    };
    let workspace = &input[..sep];
    let rest_start = sep + SEPARATOR.len();
    let rest = &input[rest_start..];
    // `:` is not a task byte, so a further separator can only be there when the class check
    // fails; look for it only then (keeps the valid path to one pass over the task part).
    let rest_valid_bytes = class_and(rest.as_bytes()) & TASK_BIT != 0;
    if !rest_valid_bytes
        && (rest.as_bytes().first() == Some(&b':') || find_separator(rest.as_bytes()).is_some())
    {
        return Err(reject(TaskRefRule::ExtraSeparator, None));
    }
    let ws = workspace.as_bytes();
    if class_and(ws) & WORKSPACE_BIT == 0 {
        let i = ws.iter().position(|&b| !is_workspace_byte(b)).unwrap_or(0);
        return Err(reject(TaskRefRule::WorkspaceCharacter, Some(i)));
    }
    if ws.len() < WORKSPACE_MIN_LEN || ws.len() > WORKSPACE_MAX_LEN {
        return Err(reject(TaskRefRule::WorkspaceLength, None));
    }
    check_task_part(rest, rest_start, rest_valid_bytes)?;
    Ok(TaskRef::Remote {
        workspace,
        task_id: rest,
    })
}

/// Whether `workspace` is a syntactically valid workspace name.
pub fn is_valid_workspace(workspace: &str) -> bool {
    let ws = workspace.as_bytes();
    (WORKSPACE_MIN_LEN..=WORKSPACE_MAX_LEN).contains(&ws.len())
        && ws.iter().all(|&b| is_workspace_byte(b))
}
