//! napi-rs glue for the `inferwarden` npm package. It converts types and maps errors; every
//! decision is made by the `inferwarden` crate. `///` docs here become the `.d.ts` docs.

#![deny(clippy::all)]

/// Keeps the memory budget of TypeScript parity parses: a pathological file's parse is
/// stopped instead of growing without bound (see `inferwarden::parity::GuardedAllocator`).
#[global_allocator]
static ALLOCATOR: inferwarden::parity::GuardedAllocator =
    inferwarden::parity::GuardedAllocator::system();

mod aio;
mod audit;
mod catalogue;
mod config;
mod decision;
mod dispatch;
mod errors;
mod frames;
mod gate;
mod gate_request;
mod lifecycle;
mod logging;
mod metrics;
mod parity;
mod probe;
mod raw;
mod routing;
mod smoke;
mod task_ref;

pub use audit::{AuditEventInput, AuditLog, AuditQueryInput, AuditVerifyOptions};
pub use catalogue::{Catalogue, CatalogueLoadOptions};
pub use config::PolicyConfig;
pub use dispatch::{
    budget_gb, classify_worker_error, place_model, vram_level, DeviceInfo, LaneRouter, LaneState,
    PipelineSlot, RouteHandle,
};
pub use errors::{legacy_codes, list_all_errors};
pub use frames::{frames_gpu_status, frames_to_u8, Frames, FramesOptions};
pub use gate::{Decision, Gate, GateRequest, IssuedSession, ManualClock};
pub use lifecycle::Lifecycle;
pub use logging::{set_logger, LogRecord};
pub use metrics::{
    metrics, metrics_content_type, metrics_families, set_metrics_enabled, MetricFamily,
};
pub use parity::{parity_check, parity_generate};
pub use probe::probe_gpus;
pub use routing::{RemoteBody, Router, RouterOptions};
pub use smoke::{smoke, SmokeRunOptions};
pub use task_ref::parse_task_ref;

/// Runs once the generated exports are in place: puts the JS wrappers over the exports
/// they speed up (`parseTaskRef`, `Gate.prototype.decide` and `decideAsync`).
#[napi_derive::napi(module_exports)]
#[cfg_attr(test, allow(dead_code))]
pub fn install_js_wrappers(
    mut exports: napi::bindgen_prelude::Object,
    env: napi::Env,
) -> napi::Result<()> {
    task_ref::install_fast_parse_task_ref(&mut exports, &env)?;
    gate_request::install_field_readers(&exports, &env)
}
