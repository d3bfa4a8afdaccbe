//! Export of per-lane worker settings in the shape a serverless function decorator takes
//! (Modal's `timeout`, `min_containers`, `max_containers`, `scaledown_window`), so the
//! deployment reads capacity from the same configuration as the policy.

use std::collections::BTreeMap;

use serde::Serialize;

use super::sections::PolicyConfig;

/// One lane's function settings, as a plain map of integers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorkerSettings {
    /// Function timeout, seconds.
    pub timeout: u64,
    /// Warm containers.
    pub min_containers: u32,
    /// Container cap.
    pub max_containers: u32,
    /// Idle seconds before scale-down.
    pub scaledown_window: u64,
    /// Concurrent inputs per container.
    pub max_inputs: u32,
}

impl PolicyConfig {
    /// Worker settings per lane name.
    pub fn worker_settings(&self) -> BTreeMap<String, WorkerSettings> {
        self.workers
            .lanes
            .iter()
            .map(|(name, lane)| {
                (
                    name.clone(),
                    WorkerSettings {
                        timeout: lane.timeout_s,
                        min_containers: lane.min_containers,
                        max_containers: lane.max_containers,
                        scaledown_window: lane.scaledown_window_s,
                        max_inputs: lane.concurrency,
                    },
                )
            })
            .collect()
    }
}
