//! GPU dispatch policy for Python workers: VRAM levels, OOM classification, the pipeline
//! slot (driven around torch pipelines) and video lane routing with degraded-queue slots.

use std::sync::{Arc, Mutex};

use inferwarden::clock::{Clock, SystemClock};
use inferwarden::dispatch::{self as core, LaneHealth};
use inferwarden::{Error, ErrorCode};
use pyo3::prelude::*;

use crate::config::PolicyConfig;
use crate::convert::to_py_json;
use crate::errors::{guard, to_py_err};
use crate::gate::ManualClock;

fn clock_of(clock: Option<&ManualClock>) -> Arc<dyn Clock> {
    match clock {
        Some(c) => Arc::new(c.core().clone()),
        None => Arc::new(SystemClock),
    }
}

/// The VRAM level (`green`, `yellow`, `orange`, `red`) of `free_mib` (`None` = unknown = red).
#[pyfunction]
#[pyo3(signature = (free_mib, config=None))]
pub fn vram_level(free_mib: Option<u64>, config: Option<&PolicyConfig>) -> String {
    let gpu = config.map(|c| c.inner().gpu.clone()).unwrap_or_default();
    serde_json::to_value(core::vram_level(free_mib, &gpu))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The device index where the catalogue `model` (key, id or alias) fits by its
/// `metadata.vram_min_gb`; `devices` is a list of `{"index", "kind", "free_mib"}` (e.g.
/// from `probe_gpus()`). Raises `GpuMemoryExceededError` when nothing fits.
#[pyfunction]
#[pyo3(signature = (catalogue, model, devices, config=None))]
pub fn place_model(
    py: Python<'_>,
    catalogue: &Bound<'_, crate::catalogue::Catalogue>,
    model: &str,
    devices: &Bound<'_, PyAny>,
    config: Option<&PolicyConfig>,
) -> PyResult<u32> {
    let gpu = config.map(|c| c.inner().gpu.clone()).unwrap_or_default();
    let devices: Vec<core::DeviceInfo> = crate::convert::py_to_json(devices, 0)
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| {
            to_py_err(
                py,
                Error::with_detail(
                    ErrorCode::ValidationError,
                    "devices must be a list of {index, kind, free_mib}",
                ),
            )
        })?;
    guard(py, || {
        core::place_catalogue_model(catalogue.get().core(), model, &devices, &gpu)
    })
}

/// The VRAM budget in GB of a GPU kind (unknown kinds get the default).
#[pyfunction]
#[pyo3(signature = (kind, config=None))]
pub fn budget_gb(kind: &str, config: Option<&PolicyConfig>) -> u32 {
    let gpu = config.map(|c| c.inner().gpu.clone()).unwrap_or_default();
    core::budget_gb(kind, &gpu)
}

/// `GpuMemoryExceededError` (not raised) when worker error text shows CUDA out-of-memory.
#[pyfunction]
pub fn classify_worker_error(py: Python<'_>, text: &str) -> Option<Py<PyAny>> {
    core::classify_worker_error(text).map(|e| to_py_err(py, e).into_value(py).into_any())
}

/// Runs a Python `clear_cache(model)` callback from inside the core; a Python exception is
/// kept and re-raised after the core has left the slot in a safe state.
fn with_callback<T>(
    py: Python<'_>,
    callback: Option<Py<PyAny>>,
    f: impl FnOnce(&mut dyn FnMut(&str) -> Result<(), Error>) -> Result<T, Error>,
) -> PyResult<T> {
    let raised: Mutex<Option<PyErr>> = Mutex::new(None);
    let mut cb = |model: &str| -> Result<(), Error> {
        let Some(callback) = &callback else {
            return Ok(());
        };
        match callback.call1(py, (model,)) {
            Ok(_) => Ok(()),
            Err(e) => {
                if let Ok(mut slot) = raised.lock() {
                    *slot = Some(e);
                }
                Err(Error::with_detail(
                    ErrorCode::InternalError,
                    "clear_cache callback raised",
                ))
            }
        }
    };
    let result = f(&mut cb);
    if let Some(e) = raised.lock().ok().and_then(|mut s| s.take()) {
        return Err(e);
    }
    result.map_err(|e| to_py_err(py, e))
}

/// One heavy video pipeline per GPU.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct PipelineSlot {
    inner: core::PipelineSlot,
}

#[pymethods]
impl PipelineSlot {
    /// A slot that evicts a pipeline idle for `idle_evict_s` seconds.
    #[new]
    #[pyo3(signature = (idle_evict_s=600, *, clock=None))]
    fn new(idle_evict_s: u64, clock: Option<&ManualClock>) -> Self {
        PipelineSlot {
            inner: core::PipelineSlot::new(
                i64::try_from(idle_evict_s.saturating_mul(1000)).unwrap_or(i64::MAX),
                clock_of(clock),
            ),
        }
    }

    /// `True` when `model` is already warm; `False` when the caller must load it and call
    /// `mark_loaded`. A different active model is released first through `clear_cache(model)`.
    #[pyo3(signature = (model, clear_cache=None))]
    fn acquire(
        &self,
        py: Python<'_>,
        model: &str,
        clear_cache: Option<Py<PyAny>>,
    ) -> PyResult<bool> {
        with_callback(py, clear_cache, |cb| self.inner.acquire(model, cb))
    }

    /// `loading(model) -> active(model)`.
    fn mark_loaded(&self, py: Python<'_>, model: &str) -> PyResult<()> {
        self.inner.mark_loaded(model).map_err(|e| to_py_err(py, e))
    }

    /// Abandons a failed load.
    fn load_failed(&self) {
        self.inner.load_failed();
    }

    /// Evicts an idle pipeline through `clear_cache(model)`; returns the evicted model.
    #[pyo3(signature = (clear_cache=None))]
    fn evict_idle(
        &self,
        py: Python<'_>,
        clear_cache: Option<Py<PyAny>>,
    ) -> PyResult<Option<String>> {
        with_callback(py, clear_cache, |cb| self.inner.evict_idle(cb))
    }

    /// `{"state": "empty"|"loading"|"active"|"releasing", "model": ...}`.
    #[getter]
    fn state(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_json(py, &self.inner.state())
    }

    /// Records the memory read after a generation of the active model (e.g.
    /// `torch.cuda.memory_allocated() >> 20`, `memory_reserved() >> 20`, and whether the
    /// cleanup ran) on a GPU of `gpu_kind`; returns the event `{model, gpu_kind,
    /// cleanup_done, allocated_mib, reserved_mib, budget_mib, budget_exceeded, at_ms}` with
    /// the budget from `config` (default budgets without one). No active model raises
    /// `InvalidTransitionError`.
    #[pyo3(signature = (gpu_kind, allocated_mib, reserved_mib, cleanup_done=true, config=None))]
    fn record_generation(
        &self,
        py: Python<'_>,
        gpu_kind: &str,
        allocated_mib: u64,
        reserved_mib: u64,
        cleanup_done: bool,
        config: Option<&PolicyConfig>,
    ) -> PyResult<Py<PyAny>> {
        let gpu = config.map(|c| c.inner().gpu.clone()).unwrap_or_default();
        let reading = core::MemoryReading {
            allocated_mib,
            reserved_mib,
            cleanup_done,
        };
        let event = self
            .inner
            .record_generation(gpu_kind, reading, &gpu)
            .map_err(|e| to_py_err(py, e))?;
        to_py_json(py, &event)
    }

    /// Counters: `{cold_loads, warm_hits, switches, evictions, generations,
    /// budget_exceeded, cleanups_missed, last_memory}`.
    fn metrics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_json(py, &self.inner.metrics())
    }
}

/// A routed request: the dedicated lane, or a degraded-queue slot released by `release()`
/// (or when the object is garbage collected).
#[pyclass(module = "inferwarden._native", frozen)]
pub struct RouteHandle {
    inner: core::RouteHandle,
}

#[pymethods]
impl RouteHandle {
    /// `dedicated` or `degraded`.
    #[getter]
    fn lane(&self) -> &'static str {
        self.inner.lane()
    }

    /// Why the request fell back (`capacity`, `quota`, `manual`), or `None`.
    #[getter]
    fn cause(&self) -> Option<&'static str> {
        self.inner.cause()
    }

    /// Marks the degraded slot started (a worker picked it up); raises `QueueOverloadedError`
    /// when the 30 s wait was exceeded. Returns the wait in ms (0 on the dedicated lane).
    fn start(&self, py: Python<'_>) -> PyResult<i64> {
        self.inner.start().map_err(|e| to_py_err(py, e))
    }

    /// Renews a started degraded lease (heartbeat); `False` when it expired or was released.
    fn renew(&self, py: Python<'_>) -> PyResult<bool> {
        self.inner.renew().map_err(|e| to_py_err(py, e))
    }

    /// Releases the degraded slot (idempotent).
    fn release(&self) {
        self.inner.release();
    }
}

/// Video lane routing: dedicated warm lane, then the degraded queue, then `queue_overloaded`.
#[pyclass(module = "inferwarden._native", frozen)]
pub struct LaneRouter {
    inner: core::LaneRouter,
}

#[pymethods]
impl LaneRouter {
    /// A router with the queue limits of `config`; started degraded leases must be renewed
    /// within `lease_s` seconds. `queue` (default `config.queue.backend`): `memory`, or
    /// `redis://...` for one degraded queue shared by several API replicas.
    #[new]
    #[pyo3(signature = (config, lease_s=60, *, clock=None, queue=None))]
    fn new(
        py: Python<'_>,
        config: &PolicyConfig,
        lease_s: u64,
        clock: Option<&ManualClock>,
        queue: Option<String>,
    ) -> PyResult<Self> {
        let mut cfg = config.inner().clone();
        if let Some(q) = queue {
            cfg.queue.backend = q.into();
        }
        let inner = guard(py, || {
            core::LaneRouter::from_config(
                &cfg,
                i64::try_from(lease_s.saturating_mul(1000)).unwrap_or(i64::MAX),
                clock_of(clock),
                clock.is_some(),
            )
        })?;
        Ok(LaneRouter { inner })
    }

    /// Records what is known about `model`'s dedicated lane.
    #[allow(clippy::too_many_arguments)] // mirrors the Python keyword arguments one to one
    #[pyo3(signature = (model, *, ready, quota_denied=false, failing_since_ms=None, awaiting_assignment_since_ms=None, manual_fallback=false))]
    fn set_lane(
        &self,
        py: Python<'_>,
        model: &str,
        ready: bool,
        quota_denied: bool,
        failing_since_ms: Option<i64>,
        awaiting_assignment_since_ms: Option<i64>,
        manual_fallback: bool,
    ) -> PyResult<()> {
        let health = LaneHealth {
            ready,
            quota_denied,
            failing_since_ms,
            awaiting_assignment_since_ms,
            manual_fallback,
        };
        self.inner
            .set_lane(model, health)
            .map_err(|e| to_py_err(py, e))
    }

    /// Routes one request; raises `QueueOverloadedError` (metadata: depth, max_depth,
    /// max_wait_seconds, retry_after_seconds) when nothing can take it.
    fn route(&self, py: Python<'_>, model: &str) -> PyResult<RouteHandle> {
        let route = self.inner.route(model).map_err(|e| to_py_err(py, e))?;
        Ok(RouteHandle {
            inner: route.into(),
        })
    }

    /// Routing counters and a queue snapshot.
    fn metrics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        to_py_json(py, &self.inner.metrics())
    }
}

/// Probes the GPUs through the driver API (no process spawned): `{driver_present,
/// cuda_version, devices: [{index, name, total_mib, free_mib, free_source, compute_capability,
/// vram_level}], note}`. No driver or no device is an ordinary answer.
#[pyfunction]
#[pyo3(signature = (config=None))]
pub fn probe_gpus(py: Python<'_>, config: Option<&PolicyConfig>) -> PyResult<Py<PyAny>> {
    let gpu = config.map(|c| c.inner().gpu.clone()).unwrap_or_default();
    let report = py.detach(move || inferwarden_cuda::probe::probe(&gpu));
    to_py_json(py, &report)
}

/// Converts decoded diffusion output (raw bytes of a C-contiguous 5-D tensor) to `u8`
/// frames on `device` (`cpu`, `cuda` or `auto`; unset: `cpu`). Returns
/// `(frames, out_shape, ran_on)` with `out_shape = (N, T, H, W, C)`, `ran_on` `"cpu"` or
/// `"cuda"` and `frames` a `bytearray` (`out="host"`) or a `DeviceFrames` (`out="device"`);
/// the Python wrapper `inferwarden.frames_to_u8` turns a `bytearray` into a numpy array.
#[pyfunction]
#[pyo3(signature = (data, dtype, layout, shape, threads=0, device=None, out="host"))]
#[allow(clippy::too_many_arguments)]
pub fn convert_frames<'py>(
    py: Python<'py>,
    data: pyo3::buffer::PyBuffer<u8>,
    dtype: &str,
    layout: &str,
    shape: Vec<usize>,
    threads: usize,
    device: Option<&str>,
    out: &str,
) -> PyResult<crate::device_frames::Converted<'py>> {
    use inferwarden_cuda::frames::Dims;
    let invalid = |msg: String| to_py_err(py, Error::with_detail(ErrorCode::ValidationError, msg));
    let crate::device_frames::FrameArgs {
        dtype,
        layout,
        device,
        out,
    } = crate::device_frames::parse_args(py, Some(dtype), layout, device, out)?;
    // Given, so parsed or refused above; never absent here.
    let dtype =
        dtype.ok_or_else(|| invalid("dtype must be float32, float16 or bfloat16".into()))?;
    let dims = Dims::from_shape(&shape, layout).map_err(|e| invalid(e.0))?;
    if !data.is_c_contiguous() {
        return Err(invalid("the input buffer must be C-contiguous".into()));
    }
    // SAFETY: `data` keeps the exporter's buffer alive and C-contiguous for `len_bytes()`
    // bytes, and the GIL stays held for the whole conversion, so no Python code can resize
    // or write the array meanwhile (the worker threads never touch Python).
    let bytes: &[u8] =
        unsafe { std::slice::from_raw_parts(data.buf_ptr() as *const u8, data.len_bytes()) };
    crate::device_frames::convert_host(py, bytes, dtype, layout, dims, device, out, threads)
}

/// Whether the GPU frame path is usable: `{available, device, arch, reason}`. Loads the
/// kernels on device 0 on first use.
#[pyfunction]
pub fn frames_gpu_status(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let status = py.detach(inferwarden_cuda::gpu::status);
    to_py_json(py, &status)
}
