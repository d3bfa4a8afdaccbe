//! `probeGpus()`: GPUs through the driver API (no process spawned).

use napi_derive::napi;

use crate::config::PolicyConfig;

/// Probes the GPUs: `{ driver_present, cuda_version, devices, note }`. No driver or no
/// device is an ordinary answer, never an exception.
#[napi]
pub fn probe_gpus(config: Option<&PolicyConfig>) -> serde_json::Value {
    let gpu = config.map(|c| c.inner().gpu.clone()).unwrap_or_default();
    serde_json::to_value(inferwarden_cuda::probe::probe(&gpu)).unwrap_or_default()
}
