//! The remote-workspace proxy (feature `proxy`, async on tokio): forwards status, results
//! (streamed), preview (streamed), generate and the gallery fan-out ONLY to a
//! [`ResolvedTarget`](crate::routing::ResolvedTarget) — the registry origin with its checked
//! addresses — with the per-route connect/read timeouts and the retry policy of the
//! configuration.
//!
//! - [`ProxyClient`]: one outbound request with pinned addresses (no second DNS lookup can
//!   rebind the host), no redirects, the credential attached as a sensitive header, retries
//!   on the listed statuses and on connection failures and timeouts.
//! - [`RemoteWorkspaces`]: the gateway-facing API: resolution through the audited
//!   [`Router`](crate::routing::Router), the credential looked up only after resolution
//!   succeeded ([`CredentialSource`]), then the request.
//! - Remote 404 is `task_not_found`; everything else is `remote_unavailable` with a `reason`
//!   (and the remote status) in metadata — never the remote body, the URL, its query or
//!   reqwest's error text, which carries the full URL.
//! - Remote payloads are validated: status values ([`parse_status`]), accepted task ids
//!   ([`parse_generate`]), gallery items ([`parse_gallery`]); media URLs are rewritten to the
//!   gateway's own routes with the composite id.

mod body;
mod client;
mod credentials;
mod failure;
mod gallery;
mod generate;
mod open;
mod remote;
mod status;

pub use body::{RemoteBody, SharedBody, MEDIA_CONTENT_TYPES};
pub use client::{ProxyClient, CREDENTIAL_HEADER, IDEMPOTENCY_HEADER};
pub use credentials::{env_var_for, CredentialSource, Credentials};
pub use gallery::{merge_newest_first, parse_gallery, Gallery, GalleryFailure, GalleryItem};
pub use generate::{parse_generate, GenerateAccepted};
pub use open::RemoteOptions;
pub use remote::RemoteWorkspaces;
pub use status::{parse_status, RemoteStatus};
