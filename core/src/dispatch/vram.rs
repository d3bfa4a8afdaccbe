//! VRAM levels (>= 12288 MiB green, >= 8192 yellow, >= 4096 orange, else red; unknown is
//! red), per-GPU-kind budgets (A10G 24 GB, L4 24 GB, T4 16 GB, unknown 24 GB) and placement of
//! a model by its `vram_min_gb`.

use serde::{Deserialize, Serialize};

use crate::config::GpuConfig;
use crate::error::{Error, ErrorCode};

/// A device's free-memory level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VramLevel {
    /// Below the orange threshold, or unknown.
    Red,
    /// At or above orange.
    Orange,
    /// At or above yellow.
    Yellow,
    /// At or above green.
    Green,
}

/// The level of `free_mib` (`None` = unknown = red).
pub fn vram_level(free_mib: Option<u64>, gpu: &GpuConfig) -> VramLevel {
    match free_mib {
        Some(m) if m >= gpu.green_min_mib => VramLevel::Green,
        Some(m) if m >= gpu.yellow_min_mib => VramLevel::Yellow,
        Some(m) if m >= gpu.orange_min_mib => VramLevel::Orange,
        _ => VramLevel::Red,
    }
}

/// The VRAM budget of a GPU kind in GB (case-insensitive; unknown kinds get the default).
pub fn budget_gb(kind: &str, gpu: &GpuConfig) -> u32 {
    gpu.budget_gb
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(kind.trim()))
        .map(|(_, v)| *v)
        .unwrap_or(gpu.default_budget_gb)
}

/// One GPU as placement sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// Device index.
    pub index: u32,
    /// GPU kind (`A10G`, `L4`, `T4`, `H100`, ...).
    pub kind: String,
    /// Free memory, MiB (`None` when unknown).
    pub free_mib: Option<u64>,
}

/// The first device where a model needing `vram_min_gb` fits both the device's free memory
/// and its kind's budget; else `gpu_memory_exceeded` naming the need.
pub fn place_model(
    vram_min_gb: f64,
    devices: &[DeviceInfo],
    gpu: &GpuConfig,
) -> Result<u32, Error> {
    if !vram_min_gb.is_finite() || vram_min_gb < 0.0 {
        return Err(Error::with_detail(
            ErrorCode::ValidationError,
            "vram_min_gb must be a non-negative number",
        ));
    }
    let need_mib = (vram_min_gb * 1024.0).ceil() as u64;
    devices
        .iter()
        .find(|d| {
            let budget_mib = u64::from(budget_gb(&d.kind, gpu)) * 1024;
            d.free_mib.is_some_and(|free| free >= need_mib) && budget_mib >= need_mib
        })
        .map(|d| d.index)
        .ok_or_else(|| {
            Error::with_detail(
                ErrorCode::GpuMemoryExceeded,
                "no GPU has enough free memory within its budget for this model",
            )
            .meta("need_mib", need_mib)
            .meta("devices", devices.len() as u64)
        })
}

/// Places the catalogue model `name` (key, id or alias) by its `metadata.vram_min_gb`
/// (a model that states none needs 0 GB): the device index, or `gpu_memory_exceeded` /
/// `validation_error` (unknown model, bad metadata).
pub fn place_catalogue_model(
    catalogue: &crate::catalogue::Catalogue,
    name: &str,
    devices: &[DeviceInfo],
    gpu: &GpuConfig,
) -> Result<u32, Error> {
    let need = catalogue.vram_min_gb(name)?.unwrap_or(0.0);
    place_model(need, devices, gpu).map_err(|e| e.meta("model", name.to_owned()))
}
