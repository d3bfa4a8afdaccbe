//! GPU dispatch as JS: `vramLevel`, `budgetGb`, `classifyWorkerError`, `placeModel`, the
//! `LaneRouter` (dedicated lane, degraded queue, `queue_overloaded`) with its `RouteHandle`,
//! and the `PipelineSlot` a worker drives around its pipelines. Every rule is in the core.

use std::sync::Arc;

use inferwarden::clock::{Clock, SystemClock};
use inferwarden::dispatch::{self as core, LaneHealth};
use inferwarden::error::to_json_value;
use inferwarden::{Error, ErrorCode};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::catalogue::Catalogue;
use crate::config::PolicyConfig;
use crate::errors::guard;
use crate::gate::ManualClock;

fn clock_of(clock: Option<&ManualClock>) -> Arc<dyn Clock> {
    match clock {
        Some(c) => Arc::new(c.core().clone()),
        None => Arc::new(SystemClock),
    }
}

fn gpu_of(config: Option<&PolicyConfig>) -> inferwarden::config::GpuConfig {
    config.map(|c| c.inner().gpu.clone()).unwrap_or_default()
}

fn secs_ms(s: u32) -> i64 {
    i64::from(s) * 1000
}

/// The VRAM level (`green`, `yellow`, `orange`, `red`) for `freeMib` free MiB (unknown is `red`).
#[napi]
pub fn vram_level(free_mib: Option<i64>, config: Option<&PolicyConfig>) -> String {
    let free = free_mib.and_then(|v| u64::try_from(v).ok());
    serde_json::to_value(core::vram_level(free, &gpu_of(config)))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The VRAM budget in GB of a GPU kind (unknown kinds get the default).
#[napi]
pub fn budget_gb(kind: String, config: Option<&PolicyConfig>) -> u32 {
    core::budget_gb(&kind, &gpu_of(config))
}

/// `{ code: "gpu_memory_exceeded", status, detail, user_action }` when worker error text
/// shows CUDA out-of-memory, else `null`.
#[napi]
pub fn classify_worker_error(text: String) -> Option<serde_json::Value> {
    core::classify_worker_error(&text).map(|e| e.to_json())
}

/// One GPU for `placeModel`.
#[napi(object)]
pub struct DeviceInfo {
    /// Device index.
    pub index: u32,
    /// GPU kind (`A10G`, `L4`, `T4`, ...).
    pub kind: String,
    /// Free memory, MiB.
    pub free_mib: Option<i64>,
}

/// The device index where the catalogue `model` (key, id or alias) fits by its
/// `metadata.vram_min_gb`; throws `gpu_memory_exceeded` when nothing fits.
#[napi]
pub fn place_model(
    env: Env,
    catalogue: &Catalogue,
    model: String,
    devices: Vec<DeviceInfo>,
    config: Option<&PolicyConfig>,
) -> napi::Result<u32> {
    let devices: Vec<core::DeviceInfo> = devices
        .into_iter()
        .map(|d| core::DeviceInfo {
            index: d.index,
            kind: d.kind,
            free_mib: d.free_mib.and_then(|v| u64::try_from(v).ok()),
        })
        .collect();
    let gpu = gpu_of(config);
    guard(&env, || {
        core::place_catalogue_model(catalogue.core(), &model, &devices, &gpu)
    })
}

/// What is known about a model's dedicated lane (`LaneRouter.setLane`).
#[napi(object)]
pub struct LaneState {
    /// The lane is warm and healthy.
    pub ready: bool,
    /// The provider denied quota.
    pub quota_denied: Option<bool>,
    /// Since when (ms) the health check has been failing.
    pub failing_since_ms: Option<i64>,
    /// Since when (ms) a warm lane has been awaited.
    pub awaiting_assignment_since_ms: Option<i64>,
    /// An operator forced the fallback.
    pub manual_fallback: Option<bool>,
}

/// A routed request: the dedicated lane, or a degraded-queue slot released by `release()`.
#[napi]
pub struct RouteHandle {
    inner: core::RouteHandle,
}

#[napi]
impl RouteHandle {
    /// `dedicated` or `degraded`.
    #[napi(getter)]
    pub fn lane(&self) -> &'static str {
        self.inner.lane()
    }

    /// Why the request fell back (`capacity`, `quota`, `manual`), or `null`.
    #[napi(getter)]
    pub fn cause(&self) -> Option<&'static str> {
        self.inner.cause()
    }

    /// Marks the degraded slot started; throws `queue_overloaded` when the wait was
    /// exceeded. Returns the wait in ms (0 on the dedicated lane).
    #[napi]
    pub fn start(&self, env: Env) -> napi::Result<i64> {
        guard(&env, || self.inner.start())
    }

    /// Renews a started degraded lease; `false` when it expired or was released.
    #[napi]
    pub fn renew(&self, env: Env) -> napi::Result<bool> {
        guard(&env, || self.inner.renew())
    }

    /// Releases the degraded slot (idempotent).
    #[napi]
    pub fn release(&self) {
        self.inner.release();
    }
}

/// Video lane routing: dedicated warm lane, then the degraded queue, then `queue_overloaded`.
#[napi]
pub struct LaneRouter {
    inner: core::LaneRouter,
}

#[napi]
impl LaneRouter {
    /// A router with the queue limits of `config`; started degraded leases must be renewed
    /// within `leaseS` seconds (default 60). `queue` (default `config.queue.backend`):
    /// `memory`, or `redis://...` for one degraded queue shared by several API replicas.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        config: &PolicyConfig,
        lease_s: Option<u32>,
        clock: Option<&ManualClock>,
        queue: Option<String>,
    ) -> napi::Result<Self> {
        let mut cfg = config.inner().clone();
        if let Some(q) = queue {
            cfg.queue.backend = q.into();
        }
        let inner = guard(&env, || {
            core::LaneRouter::from_config(
                &cfg,
                secs_ms(lease_s.unwrap_or(60)),
                clock_of(clock),
                clock.is_some(),
            )
        })?;
        Ok(LaneRouter { inner })
    }

    /// Records what is known about `model`'s dedicated lane.
    #[napi]
    pub fn set_lane(&self, env: Env, model: String, state: LaneState) -> napi::Result<()> {
        let health = LaneHealth {
            ready: state.ready,
            quota_denied: state.quota_denied.unwrap_or(false),
            failing_since_ms: state.failing_since_ms,
            awaiting_assignment_since_ms: state.awaiting_assignment_since_ms,
            manual_fallback: state.manual_fallback.unwrap_or(false),
        };
        guard(&env, || self.inner.set_lane(&model, health))
    }

    /// Routes one request; throws `queue_overloaded` (metadata: depth, max_depth,
    /// max_wait_seconds, retry_after_seconds) when nothing can take it.
    #[napi]
    pub fn route(&self, env: Env, model: String) -> napi::Result<RouteHandle> {
        guard(&env, || self.inner.route(&model)).map(|route| RouteHandle {
            inner: route.into(),
        })
    }

    /// Routing counters and a queue snapshot.
    #[napi]
    pub fn metrics(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || to_json_value(&self.inner.metrics()))
    }
}

/// One heavy video pipeline per GPU: `empty -> loading(model) -> active(model) ->
/// releasing -> empty`.
#[napi]
pub struct PipelineSlot {
    inner: core::PipelineSlot,
}

/// Runs a core slot operation whose cache-clear step calls the JS `clearCache(model)`; an
/// exception thrown by the callback propagates unchanged.
fn with_callback<T>(
    env: &Env,
    clear_cache: Option<Function<'_, String, ()>>,
    op: impl FnOnce(
        &mut dyn FnMut(&str) -> std::result::Result<(), Error>,
    ) -> std::result::Result<T, Error>,
) -> napi::Result<T> {
    let mut thrown: Option<napi::Error> = None;
    let result = {
        let mut cb = |model: &str| -> std::result::Result<(), Error> {
            let Some(f) = &clear_cache else {
                return Ok(());
            };
            f.call(model.to_owned()).map_err(|e| {
                thrown = Some(e);
                Error::with_detail(ErrorCode::InternalError, "clearCache threw")
            })
        };
        // Caught here so that a panic still becomes a coded JS error below.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| op(&mut cb)))
    };
    match thrown {
        // The callback's own exception is pending: let it propagate as it is.
        Some(e) => Err(e),
        None => guard(env, || {
            result.unwrap_or_else(|_| {
                Err(Error::with_detail(
                    ErrorCode::InternalError,
                    "internal error in the pipeline slot",
                ))
            })
        }),
    }
}

#[napi]
impl PipelineSlot {
    /// A slot that evicts a pipeline idle for `idleEvictS` seconds (default 600).
    #[napi(constructor)]
    pub fn new(idle_evict_s: Option<u32>, clock: Option<&ManualClock>) -> Self {
        PipelineSlot {
            inner: core::PipelineSlot::new(secs_ms(idle_evict_s.unwrap_or(600)), clock_of(clock)),
        }
    }

    /// `true` when `model` is already warm; `false` when the caller must load it and call
    /// `markLoaded`. A different active model is released first through `clearCache(model)`.
    #[napi]
    pub fn acquire(
        &self,
        env: Env,
        model: String,
        clear_cache: Option<Function<'_, String, ()>>,
    ) -> napi::Result<bool> {
        with_callback(&env, clear_cache, |cb| self.inner.acquire(&model, cb))
    }

    /// `loading(model) -> active(model)`.
    #[napi]
    pub fn mark_loaded(&self, env: Env, model: String) -> napi::Result<()> {
        guard(&env, || self.inner.mark_loaded(&model))
    }

    /// Abandons a failed load.
    #[napi]
    pub fn load_failed(&self) {
        self.inner.load_failed();
    }

    /// Evicts an idle pipeline through `clearCache(model)`; returns the evicted model.
    #[napi]
    pub fn evict_idle(
        &self,
        env: Env,
        clear_cache: Option<Function<'_, String, ()>>,
    ) -> napi::Result<Option<String>> {
        with_callback(&env, clear_cache, |cb| self.inner.evict_idle(cb))
    }

    /// `{ state: "empty"|"loading"|"active"|"releasing", model? }`.
    #[napi(getter)]
    pub fn state(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || to_json_value(&self.inner.state()))
    }

    /// Records the memory read after a generation of the active model on a GPU of `gpuKind`
    /// (allocated and reserved MiB, whether the cleanup ran); returns the event
    /// `{ model, gpu_kind, cleanup_done, allocated_mib, reserved_mib, budget_mib,
    /// budget_exceeded, at_ms }` with the budget from `config` (defaults without one). No
    /// active model throws `invalid_transition`.
    #[napi]
    pub fn record_generation(
        &self,
        env: Env,
        gpu_kind: String,
        allocated_mib: u32,
        reserved_mib: u32,
        cleanup_done: bool,
        config: Option<&PolicyConfig>,
    ) -> napi::Result<serde_json::Value> {
        let reading = core::MemoryReading {
            allocated_mib: u64::from(allocated_mib),
            reserved_mib: u64::from(reserved_mib),
            cleanup_done,
        };
        guard(&env, || {
            to_json_value(
                &self
                    .inner
                    .record_generation(&gpu_kind, reading, &gpu_of(config))?,
            )
        })
    }

    /// Counters: `{ cold_loads, warm_hits, switches, evictions, generations,
    /// budget_exceeded, cleanups_missed, last_memory }`.
    #[napi]
    pub fn metrics(&self, env: Env) -> napi::Result<serde_json::Value> {
        guard(&env, || to_json_value(&self.inner.metrics()))
    }
}
