//! One heavy video pipeline per GPU: empty -> loading(model) -> active(model) -> releasing ->
//! empty. Switching to a different heavy model releases the previous one and runs the
//! cache-clear callback first; the same model stays warm; an idle pipeline is evicted.
//! After each generation the worker records a memory reading
//! ([`PipelineSlot::record_generation`]); the slot's counters (cold loads, warm hits,
//! switches, evictions, generations, budget overruns, missed cleanups, the last memory event)
//! are data ([`PipelineSlot::metrics`]).

use crate::metrics::{record_slot, SlotEvent};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::memory::{memory_event, MemoryEvent, MemoryReading};
use crate::clock::Clock;
use crate::config::GpuConfig;
use crate::error::{Error, ErrorCode};

/// The slot's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "model", rename_all = "snake_case")]
pub enum SlotState {
    /// No pipeline loaded.
    Empty,
    /// A pipeline is loading.
    Loading(String),
    /// A pipeline is loaded and warm.
    Active(String),
    /// A pipeline is being released (cache clearing).
    Releasing(String),
}

/// The slot's counters, as data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SlotMetrics {
    /// Loads of a model that was not warm (cold starts of a pipeline).
    pub cold_loads: u64,
    /// Requests that found their model warm.
    pub warm_hits: u64,
    /// Releases of one model for another.
    pub switches: u64,
    /// Idle evictions.
    pub evictions: u64,
    /// Generations recorded.
    pub generations: u64,
    /// Generations after which the process held more than the GPU kind's budget.
    pub budget_exceeded: u64,
    /// Generations whose cleanup did not run.
    pub cleanups_missed: u64,
    /// The last memory event.
    pub last_memory: Option<MemoryEvent>,
}

#[derive(Debug)]
struct Inner {
    state: SlotState,
    last_used_ms: i64,
    metrics: SlotMetrics,
}

/// The pipeline slot of one GPU.
#[derive(Debug, Clone)]
pub struct PipelineSlot {
    inner: Arc<Mutex<Inner>>,
    idle_evict_ms: i64,
    clock: Arc<dyn Clock>,
}

fn busy(state: &SlotState) -> Error {
    Error::with_detail(
        ErrorCode::QueueOverloaded,
        "the GPU pipeline slot is busy loading or releasing",
    )
    .meta("slot", serde_json::to_value(state).unwrap_or_default())
}

impl PipelineSlot {
    /// An empty slot that evicts a pipeline idle for `idle_evict_ms`.
    pub fn new(idle_evict_ms: i64, clock: Arc<dyn Clock>) -> Self {
        PipelineSlot {
            inner: Arc::new(Mutex::new(Inner {
                state: SlotState::Empty,
                last_used_ms: clock.now_ms(),
                metrics: SlotMetrics::default(),
            })),
            idle_evict_ms,
            clock,
        }
    }

    /// The current state.
    pub fn state(&self) -> SlotState {
        self.inner
            .lock()
            .map(|i| i.state.clone())
            .unwrap_or(SlotState::Empty)
    }

    /// Prepares the slot for `model`. Returns `true` when the model is already warm (use it),
    /// `false` when the caller must load it and then call [`PipelineSlot::mark_loaded`]. A
    /// different active model is released first, running `clear_cache` (its error aborts the
    /// switch and leaves the slot empty, so a half-freed GPU is never reused as warm).
    pub fn acquire(
        &self,
        model: &str,
        clear_cache: impl FnOnce(&str) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        let mut i = self.inner.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "pipeline slot poisoned")
        })?;
        let now = self.clock.now_ms();
        match i.state.clone() {
            SlotState::Active(m) if m == model => {
                i.last_used_ms = now;
                i.metrics.warm_hits += 1;
                record_slot(SlotEvent::WarmHit, 1);
                Ok(true)
            }
            SlotState::Active(other) => {
                i.state = SlotState::Releasing(other.clone());
                let cleared = clear_cache(&other);
                i.state = SlotState::Empty;
                cleared?;
                i.metrics.switches += 1;
                i.metrics.cold_loads += 1;
                record_slot(SlotEvent::Switch, 1);
                record_slot(SlotEvent::ColdLoad, 1);
                i.state = SlotState::Loading(model.to_owned());
                i.last_used_ms = now;
                Ok(false)
            }
            SlotState::Empty => {
                i.metrics.cold_loads += 1;
                record_slot(SlotEvent::ColdLoad, 1);
                i.state = SlotState::Loading(model.to_owned());
                i.last_used_ms = now;
                Ok(false)
            }
            s @ (SlotState::Loading(_) | SlotState::Releasing(_)) => Err(busy(&s)),
        }
    }

    /// `loading(model) -> active(model)`; anything else is `invalid_transition`.
    pub fn mark_loaded(&self, model: &str) -> Result<(), Error> {
        let mut i = self.inner.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "pipeline slot poisoned")
        })?;
        match &i.state {
            SlotState::Loading(m) if m == model => {
                i.state = SlotState::Active(model.to_owned());
                i.last_used_ms = self.clock.now_ms();
                Ok(())
            }
            _ => Err(Error::with_detail(
                ErrorCode::InvalidTransition,
                "the slot is not loading this model",
            )),
        }
    }

    /// Abandons a failed load: `loading -> empty`.
    pub fn load_failed(&self) {
        if let Ok(mut i) = self.inner.lock() {
            if matches!(i.state, SlotState::Loading(_)) {
                i.state = SlotState::Empty;
            }
        }
    }

    /// Releases an active pipeline idle for longer than the eviction time, running
    /// `clear_cache`; returns the evicted model.
    pub fn evict_idle(
        &self,
        clear_cache: impl FnOnce(&str) -> Result<(), Error>,
    ) -> Result<Option<String>, Error> {
        let mut i = self.inner.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "pipeline slot poisoned")
        })?;
        let now = self.clock.now_ms();
        match i.state.clone() {
            SlotState::Active(m) if now - i.last_used_ms > self.idle_evict_ms => {
                i.state = SlotState::Releasing(m.clone());
                let cleared = clear_cache(&m);
                i.state = SlotState::Empty;
                i.metrics.evictions += 1;
                record_slot(SlotEvent::Eviction, 1);
                cleared.map(|()| Some(m))
            }
            _ => Ok(None),
        }
    }

    /// Records the memory reading taken after a generation of the active model on a GPU of
    /// `gpu_kind` and returns the event (budget from `gpu`). Counts as use (delays idle
    /// eviction). No active model is `invalid_transition`.
    pub fn record_generation(
        &self,
        gpu_kind: &str,
        reading: MemoryReading,
        gpu: &GpuConfig,
    ) -> Result<MemoryEvent, Error> {
        let mut i = self.inner.lock().map_err(|_| {
            Error::with_detail(ErrorCode::DependencyUnavailable, "pipeline slot poisoned")
        })?;
        let SlotState::Active(model) = i.state.clone() else {
            return Err(Error::with_detail(
                ErrorCode::InvalidTransition,
                "no active pipeline to record a generation for",
            ));
        };
        let now = self.clock.now_ms();
        let event = memory_event(&model, gpu_kind, reading, gpu, now);
        i.last_used_ms = now;
        let m = &mut i.metrics;
        m.generations += 1;
        m.budget_exceeded += u64::from(event.budget_exceeded);
        m.cleanups_missed += u64::from(!event.cleanup_done);
        m.last_memory = Some(event.clone());
        record_slot(SlotEvent::Generation, 1);
        record_slot(SlotEvent::BudgetOverrun, u64::from(event.budget_exceeded));
        record_slot(SlotEvent::CleanupMissed, u64::from(!event.cleanup_done));
        Ok(event)
    }

    /// The counters.
    pub fn metrics(&self) -> SlotMetrics {
        self.inner
            .lock()
            .map(|i| i.metrics.clone())
            .unwrap_or_default()
    }
}
