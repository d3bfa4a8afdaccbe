//! Worker-account rules shared by configuration and routing: which base URLs may be
//! registered ([`TargetPolicy`], [`TargetUrl`]) and what a valid registry entry is
//! ([`WorkspaceEntry`], [`WorkspaceStatus`]). A leaf module: configuration validates its
//! `[proxy.workspaces]` with these rules and routing stores and resolves entries built by
//! them, and neither depends on the other for it.

mod entry;
mod target_url;

pub use entry::{WorkspaceEntry, WorkspaceStatus};
pub use target_url::{TargetPolicy, TargetUrl};
