//! The memory event a worker emits after each generation: whether its cleanup ran
//! (`gc.collect()`, `torch.cuda.empty_cache()`), the allocated and reserved MiB it read
//! afterwards (`torch.cuda.memory_allocated()` / `memory_reserved()`), and whether the process
//! holds more than its GPU kind's budget (REQUIREMENTS section 8: A10G 24 GB, L4 24 GB, T4
//! 16 GB, unknown 24 GB). The worker measures; the verdict is made here.

use serde::{Deserialize, Serialize};

use super::vram::budget_gb;
use crate::config::GpuConfig;

/// What the worker read after a generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryReading {
    /// Memory held by live tensors, MiB.
    pub allocated_mib: u64,
    /// Memory the process's allocator holds from the device (cached included), MiB.
    pub reserved_mib: u64,
    /// Whether the post-generation cleanup ran to completion.
    pub cleanup_done: bool,
}

/// The event, as data (log it, export it, attach it to the task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryEvent {
    /// The model that ran.
    pub model: String,
    /// The GPU kind (`A10G`, `L4`, `T4`, ...).
    pub gpu_kind: String,
    /// Whether the post-generation cleanup ran.
    pub cleanup_done: bool,
    /// Allocated MiB after cleanup.
    pub allocated_mib: u64,
    /// Reserved MiB after cleanup.
    pub reserved_mib: u64,
    /// The kind's budget, MiB.
    pub budget_mib: u64,
    /// The process holds more than the budget (the larger of allocated and reserved).
    pub budget_exceeded: bool,
    /// When (ms since the epoch, from the injected clock).
    pub at_ms: i64,
}

/// Builds the event for one generation of `model` on a GPU of `gpu_kind`.
pub fn memory_event(
    model: &str,
    gpu_kind: &str,
    reading: MemoryReading,
    gpu: &GpuConfig,
    at_ms: i64,
) -> MemoryEvent {
    let budget_mib = u64::from(budget_gb(gpu_kind, gpu)) * 1024;
    MemoryEvent {
        model: model.to_owned(),
        gpu_kind: gpu_kind.trim().to_owned(),
        cleanup_done: reading.cleanup_done,
        allocated_mib: reading.allocated_mib,
        reserved_mib: reading.reserved_mib,
        budget_mib,
        budget_exceeded: reading.allocated_mib.max(reading.reserved_mib) > budget_mib,
        at_ms,
    }
}
