//! PyO3 glue for the private module `inferwarden._native`. It converts types and maps
//! errors; every decision is made by the `inferwarden` crate. The public API is the Python
//! package in `python/inferwarden`.

/// Keeps the memory budget of TypeScript parity parses: a pathological file's parse is
/// stopped instead of growing without bound (see `inferwarden::parity::GuardedAllocator`).
#[global_allocator]
static ALLOCATOR: inferwarden::parity::GuardedAllocator =
    inferwarden::parity::GuardedAllocator::system();

mod aio;
mod array_interface;
mod asgi_scope;
mod audit;
mod catalogue;
mod config;
mod convert;
mod device_frames;
mod dispatch;
mod dlpack;
mod errors;
mod gate;
mod lifecycle;
mod logging;
mod metrics;
mod parity;
mod request_view;
mod routing;
mod smoke;
mod task_ref;

use pyo3::prelude::*;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    logging::install(m.py());
    m.add_function(wrap_pyfunction!(logging::reset_log_cache, m)?)?;
    m.add_class::<task_ref::TaskRef>()?;
    m.add_class::<config::PolicyConfig>()?;
    m.add_class::<gate::Gate>()?;
    m.add_class::<gate::Decision>()?;
    m.add_class::<gate::IssuedSession>()?;
    m.add_class::<gate::ManualClock>()?;
    m.add_class::<lifecycle::Lifecycle>()?;
    m.add_class::<audit::AuditLog>()?;
    m.add_class::<routing::Router>()?;
    m.add_class::<routing::RemoteBody>()?;
    m.add_class::<aio::AbortOnCancel>()?;
    m.add_class::<aio::Completions>()?;
    m.add_class::<smoke::SmokeReport>()?;
    m.add_function(wrap_pyfunction!(smoke::smoke_run, m)?)?;
    m.add_class::<catalogue::Catalogue>()?;
    m.add_class::<dispatch::PipelineSlot>()?;
    m.add_class::<dispatch::LaneRouter>()?;
    m.add_class::<dispatch::RouteHandle>()?;
    m.add_function(wrap_pyfunction!(dispatch::vram_level, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch::probe_gpus, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch::convert_frames, m)?)?;
    m.add_function(wrap_pyfunction!(dlpack::convert_frames_dlpack, m)?)?;
    m.add_function(wrap_pyfunction!(
        array_interface::convert_frames_cuda_array,
        m
    )?)?;
    m.add_class::<device_frames::PyDeviceFrames>()?;
    m.add_function(wrap_pyfunction!(dispatch::frames_gpu_status, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch::budget_gb, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch::place_model, m)?)?;
    m.add_function(wrap_pyfunction!(dispatch::classify_worker_error, m)?)?;
    m.add_function(wrap_pyfunction!(task_ref::parse_task_ref, m)?)?;
    m.add_function(wrap_pyfunction!(errors::list_all_errors, m)?)?;
    m.add_function(wrap_pyfunction!(parity::parity_check, m)?)?;
    m.add_function(wrap_pyfunction!(catalogue::validate_request, m)?)?;
    m.add_function(wrap_pyfunction!(parity::parity_generate, m)?)?;
    m.add_function(wrap_pyfunction!(errors::legacy_codes, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_for_code, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_render, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_render_async, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_families, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_set_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metrics_content_type, m)?)?;
    Ok(())
}
