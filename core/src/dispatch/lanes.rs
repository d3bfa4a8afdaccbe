//! Video lane routing: (1) the model's dedicated warm lane if it is available, (2) the
//! degraded shared lane if queue admission passes, (3) `queue_overloaded`. A dedicated lane
//! is unavailable when the provider denied quota, when its health check has failed for longer
//! than the grace period (60 s), when no warm container was assigned within 30 s of
//! admission, or when an operator switched it off; each fallback records its cause.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::queue::{DegradedQueue, QueueSlot, QueueSnapshot};
use crate::clock::Clock;
use crate::config::PolicyConfig;
use crate::error::{Error, ErrorCode};

/// Why a request fell back to the degraded lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FallbackCause {
    /// The dedicated lane is not ready, unhealthy, or not assigned in time.
    Capacity,
    /// The provider denied quota.
    Quota,
    /// An operator forced the fallback.
    Manual,
}

impl FallbackCause {
    /// Stable name: `capacity`, `quota`, `manual`.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackCause::Capacity => "capacity",
            FallbackCause::Quota => "quota",
            FallbackCause::Manual => "manual",
        }
    }
}

/// What the platform knows about one model's dedicated lane.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LaneHealth {
    /// A warm container is up.
    pub ready: bool,
    /// The provider refused capacity.
    pub quota_denied: bool,
    /// Since when health checks fail (ms), if they do.
    pub failing_since_ms: Option<i64>,
    /// When a warm container was requested and not yet assigned (ms), if pending.
    pub awaiting_assignment_since_ms: Option<i64>,
    /// An operator routes this model to the degraded lane.
    pub manual_fallback: bool,
}

/// Where a request goes.
#[derive(Debug)]
pub enum Route {
    /// The model's dedicated warm lane.
    Dedicated {
        /// The model.
        model: String,
    },
    /// The degraded shared lane, holding a queue slot (released on drop).
    Degraded {
        /// The queue slot.
        slot: QueueSlot,
        /// Why the dedicated lane was not used.
        cause: FallbackCause,
    },
}

/// One dedicated lane in the metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LaneMetrics {
    /// A request routed now would use this lane.
    pub available: bool,
    /// Why not, when it is unavailable.
    pub unavailable_cause: Option<FallbackCause>,
    /// Times its warm container came up (ready after not ready or unknown).
    pub cold_starts: u64,
}

/// Routing counters as data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoutingMetrics {
    /// Every known dedicated lane, by model.
    pub lanes: BTreeMap<String, LaneMetrics>,
    /// Cold starts across every lane.
    pub cold_starts: u64,
    /// Requests sent to dedicated lanes.
    pub dedicated: u64,
    /// Requests sent to the degraded lane.
    pub degraded: u64,
    /// Fallbacks by cause.
    pub fallbacks: BTreeMap<String, u64>,
    /// Requests refused with `queue_overloaded`.
    pub overloaded: u64,
    /// The degraded queue.
    pub queue: Option<QueueSnapshot>,
}

/// Routes video requests.
#[derive(Debug)]
pub struct LaneRouter {
    lanes: Mutex<HashMap<String, LaneHealth>>,
    queue: DegradedQueue,
    grace_ms: i64,
    assign_timeout_ms: i64,
    clock: Arc<dyn Clock>,
    metrics: Mutex<RoutingMetrics>,
}

fn poisoned() -> Error {
    Error::with_detail(ErrorCode::DependencyUnavailable, "lane state poisoned")
}

impl LaneRouter {
    /// A router with the queue and lane limits of `config`; a started degraded lease must be
    /// renewed within `lease_ms`.
    pub fn new(config: &PolicyConfig, lease_ms: i64, clock: Arc<dyn Clock>) -> Self {
        Self::with_backend(
            config,
            lease_ms,
            clock,
            Arc::new(super::queue::MemoryQueueBackend::default()),
        )
    }

    /// A router whose degraded queue lives where `config.queue.backend` says (`memory`, or
    /// `redis://...` shared by several replicas); `injected_clock` makes Redis use `clock`
    /// instead of the server's time.
    pub fn from_config(
        config: &PolicyConfig,
        lease_ms: i64,
        clock: Arc<dyn Clock>,
        injected_clock: bool,
    ) -> Result<Self, Error> {
        let backend = super::queue_open::open_queue_backend(&config.queue.backend, injected_clock)?;
        Ok(Self::with_backend(config, lease_ms, clock, backend))
    }

    /// A router over a given queue backend.
    pub fn with_backend(
        config: &PolicyConfig,
        lease_ms: i64,
        clock: Arc<dyn Clock>,
        backend: Arc<dyn super::queue::QueueBackend>,
    ) -> Self {
        let q = &config.queue;
        let secs = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        LaneRouter {
            lanes: Mutex::new(HashMap::new()),
            queue: DegradedQueue::with_backend(
                backend,
                q.degraded_max_depth,
                secs(q.degraded_max_wait_s),
                lease_ms,
                clock.clone(),
            ),
            grace_ms: secs(q.lane_health_grace_s),
            assign_timeout_ms: secs(q.warm_assign_timeout_s),
            clock,
            metrics: Mutex::new(RoutingMetrics::default()),
        }
    }

    /// Records what is known about `model`'s dedicated lane. A lane that becomes ready after
    /// being not ready (or unknown) counts a cold start.
    pub fn set_lane(&self, model: &str, health: LaneHealth) -> Result<(), Error> {
        let ready = health.ready;
        let was_ready = self
            .lanes
            .lock()
            .map_err(|_| poisoned())?
            .insert(model.to_owned(), health)
            .is_some_and(|h| h.ready);
        crate::metrics::record_lane_ready(model, ready);
        if ready && !was_ready {
            crate::metrics::record_cold_start();
            let mut m = self.metrics.lock().map_err(|_| poisoned())?;
            m.cold_starts += 1;
            m.lanes.entry(model.to_owned()).or_default().cold_starts += 1;
        }
        Ok(())
    }

    fn unavailable_cause(&self, h: Option<&LaneHealth>, now: i64) -> Option<FallbackCause> {
        let Some(h) = h else {
            return Some(FallbackCause::Capacity);
        };
        if h.manual_fallback {
            return Some(FallbackCause::Manual);
        }
        if h.quota_denied {
            return Some(FallbackCause::Quota);
        }
        if h.failing_since_ms.is_some_and(|t| now - t > self.grace_ms) {
            return Some(FallbackCause::Capacity);
        }
        if h.awaiting_assignment_since_ms
            .is_some_and(|t| now - t > self.assign_timeout_ms)
        {
            return Some(FallbackCause::Capacity);
        }
        (!h.ready).then_some(FallbackCause::Capacity)
    }

    /// Routes one request for `model`.
    pub fn route(&self, model: &str) -> Result<Route, Error> {
        let now = self.clock.now_ms();
        let cause = {
            let lanes = self.lanes.lock().map_err(|_| poisoned())?;
            self.unavailable_cause(lanes.get(model), now)
        };
        let mut m = self.metrics.lock().map_err(|_| poisoned())?;
        let Some(cause) = cause else {
            m.dedicated += 1;
            crate::metrics::record_route(Some(true));
            return Ok(Route::Dedicated {
                model: model.to_owned(),
            });
        };
        *m.fallbacks.entry(cause.as_str().to_owned()).or_default() += 1;
        crate::metrics::record_fallback(cause.as_str());
        match self.queue.admit() {
            Ok(slot) => {
                m.degraded += 1;
                crate::metrics::record_route(Some(false));
                Ok(Route::Degraded { slot, cause })
            }
            Err(e) => {
                m.overloaded += 1;
                crate::metrics::record_route(None);
                Err(e)
            }
        }
    }

    /// The counters, with each lane's availability now and a queue snapshot.
    pub fn metrics(&self) -> RoutingMetrics {
        let mut m = self.metrics.lock().map(|m| m.clone()).unwrap_or_default();
        let now = self.clock.now_ms();
        if let Ok(lanes) = self.lanes.lock() {
            for (model, health) in lanes.iter() {
                let cause = self.unavailable_cause(Some(health), now);
                let lane = m.lanes.entry(model.clone()).or_default();
                lane.available = cause.is_none();
                lane.unavailable_cause = cause;
            }
        }
        m.queue = Some(self.queue.snapshot());
        m
    }
}
