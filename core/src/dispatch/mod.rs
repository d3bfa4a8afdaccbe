//! GPU dispatch policy (REQUIREMENTS section 8), pure and clock-driven: VRAM levels and
//! per-GPU-kind budgets, model placement, worker out-of-memory classification, the degraded
//! shared queue (atomic admission, leases that are released on every exit path and expire
//! when their holder dies), video lane routing (dedicated warm lane, then degraded, then
//! `queue_overloaded`), the one-heavy-pipeline-per-GPU slot, and the memory event after each
//! generation. Talking to the GPU is the
//! `inferwarden-cuda` crate's job; nothing here links a driver.

mod lanes;
mod memory;
mod oom;
mod pipeline_slot;
mod queue;
mod queue_open;
#[cfg(feature = "redis")]
mod queue_redis;
mod route_handle;
mod vram;

pub use lanes::{FallbackCause, LaneHealth, LaneMetrics, LaneRouter, Route, RoutingMetrics};
pub use memory::{memory_event, MemoryEvent, MemoryReading};
pub use oom::classify_worker_error;
pub use pipeline_slot::{PipelineSlot, SlotMetrics, SlotState};
pub use queue::{
    Admission, BackendCounts, DegradedQueue, MemoryQueueBackend, QueueBackend, QueueSlot,
    QueueSnapshot,
};
pub use queue_open::{open_queue_backend, REDIS_QUEUE_PREFIX};
#[cfg(feature = "redis")]
pub use queue_redis::RedisQueueBackend;
pub use route_handle::RouteHandle;
pub use vram::{budget_gb, place_catalogue_model, place_model, vram_level, DeviceInfo, VramLevel};
