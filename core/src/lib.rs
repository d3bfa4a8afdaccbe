//! # inferwarden
//!
//! The policy core for self-hosted image and video inference platforms: who may call, where
//! a task may be routed, when a task is dead, whether the catalogue mirrors agree, and which
//! GPU lane a job may run on. This crate owns every decision; the Python and Node bindings
//! only convert types and map errors.
//!
//! Modules (also [`catalogue`]: the model catalogue and request validation):
//! - [`error`]: the one error contract (stable codes, HTTP status, user action);
//! - [`legacy`]: migration map from an existing backend's codes;
//! - [`config`]: the one typed runtime policy configuration;
//! - [`clock`]: injected time;
//! - [`secret`]: secrets that cannot be printed;
//! - [`audit`]: audit events and sinks;
//! - [`hex`]: the one lower-case hex encoder;
//! - [`task_ref`]: public task id parsing (`workspace::task_id`);
//! - [`gate`]: the request gate (credentials, sessions, admin boundary, CORS, throttle);
//! - [`session`]: sessions and their stores;
//! - [`ratelimit`]: exact sliding-window rate limiting;
//! - [`lifecycle`]: task status transitions and the exactly-once stale sweep;
//! - [`routing`]: the worker registry and registry-only target resolution;
//! - `proxy` (feature `proxy`): the async proxy client for resolved targets (status,
//!   streamed results and previews, generate, gallery fan-out);
//! - `smoke` (feature `smoke`): the live contract smoke runner of a release gate;
//! - `runtime` (feature `tokio`): the one lazily created, fork-checked runtime of the bindings;
//! - `thread_policy` (feature `tokio`): its threads' scheduling policy (no wake-up preemption);
//! - [`dispatch`]: GPU dispatch policy (VRAM levels, placement, degraded queue, lanes, pipeline slots).

// No unsafe code, except where it is allowed by name: the global allocator of
// `parity::GuardedAllocator` (an allocator cannot be written without it), `sqlite_wal_stamp`
// (SQLite's C interface, to read the WAL-index header), and the SQLite session store's one
// call of `WalStamp::read` (whose safety conditions the store sets up when it opens), and
// `thread_policy` (the two system calls that read and set a thread's scheduling policy).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod dispatch;
pub mod error;
pub mod gate;
pub mod hex;
pub mod legacy;
pub mod lifecycle;
pub mod metrics;
pub mod no_wait;
#[cfg(feature = "parity")]
pub mod parity;
mod percent;
#[cfg(feature = "postgres")]
pub mod pg_pool;
#[cfg(feature = "postgres")]
pub mod pg_tls;
#[cfg(feature = "proxy")]
pub mod proxy;
pub mod ratelimit;
#[cfg(feature = "redis")]
mod redis_conn;
pub mod routing;
#[cfg(feature = "tokio")]
pub mod runtime;
pub mod secret;
pub mod secret_url;
pub mod session;
#[cfg(feature = "smoke")]
pub mod smoke;
#[cfg(feature = "sqlite")]
pub mod sqlite_error;
#[cfg(feature = "sqlite")]
pub mod sqlite_wal_stamp;
pub mod store_url;
pub mod task_ref;
#[cfg(feature = "tokio")]
pub mod thread_policy;
mod trace;
pub mod workspace;

pub use error::{list_all_errors, Error, ErrorCode, ErrorFamily, ErrorSpec, Result};
pub use task_ref::{parse_task_ref, TaskRef};
