//! Device probe through the CUDA driver API (cudarc with dynamic loading): per device the
//! name, total and free MiB, compute capability, driver and CUDA versions and the VRAM level.
//! `libcuda` missing, driver init failing, or zero devices are ordinary answers. cudarc panics
//! on a driver call when `libcuda` is absent, so presence is checked first (once per
//! process), and every driver call runs under `catch_unwind`.

use std::sync::OnceLock;

use inferwarden::config::GpuConfig;
use inferwarden::dispatch::{vram_level, VramLevel};
use serde::Serialize;

/// One GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuDevice {
    /// Ordinal.
    pub index: u32,
    /// Device name.
    pub name: String,
    /// Total memory, MiB.
    pub total_mib: u64,
    /// Free memory, MiB (`None` when it could not be read).
    pub free_mib: Option<u64>,
    /// Compute capability `(major, minor)`.
    pub compute_capability: (i32, i32),
    /// VRAM level of the free memory.
    pub vram_level: VramLevel,
}

/// What the probe found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    /// Whether `libcuda` could be loaded.
    pub driver_present: bool,
    /// Driver API version as `major.minor` (the CUDA version the driver supports).
    pub cuda_version: Option<String>,
    /// Devices, by ordinal.
    pub devices: Vec<GpuDevice>,
    /// Why the probe stopped early, when it did (not an error: "no driver" is normal).
    pub note: Option<String>,
    /// The NVML view (feature `nvml`): device-wide used memory and per-process usage.
    #[cfg(feature = "nvml")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nvml: Option<crate::nvml::NvmlReport>,
}

impl ProbeReport {
    fn empty(driver_present: bool, note: &str) -> Self {
        ProbeReport {
            driver_present,
            cuda_version: None,
            devices: Vec::new(),
            note: Some(note.to_owned()),
            #[cfg(feature = "nvml")]
            nvml: None,
        }
    }
}

fn driver_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: `is_culib_present` only tries to dlopen the driver library by name.
    #[allow(unsafe_code)]
    *PRESENT.get_or_init(|| unsafe { cudarc::driver::sys::is_culib_present() })
}

#[allow(unsafe_code)]
fn probe_driver(gpu: &GpuConfig) -> ProbeReport {
    use cudarc::driver::{result, sys};
    if result::init().is_err() {
        return ProbeReport::empty(true, "the CUDA driver failed to initialise");
    }
    let mut version: std::ffi::c_int = 0;
    // SAFETY: the driver is loaded and initialised; the pointer is to a live local.
    let cuda_version = (unsafe { sys::cuDriverGetVersion(&mut version) }
        == sys::CUresult::CUDA_SUCCESS)
        .then(|| format!("{}.{}", version / 1000, (version % 1000) / 10));
    let count = result::device::get_count().unwrap_or(0);
    let mut devices = Vec::new();
    for ordinal in 0..count {
        let Ok(dev) = result::device::get(ordinal) else {
            continue;
        };
        let name = result::device::get_name(dev).unwrap_or_default();
        // SAFETY: `dev` is a valid device handle from `device::get`.
        let total = unsafe { result::device::total_mem(dev) }.unwrap_or(0) as u64;
        let attr = |a| unsafe { result::device::get_attribute(dev, a) }.unwrap_or(0);
        let cc = (
            attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR),
            attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR),
        );
        // Free memory needs a context: the primary context, retained and released.
        // SAFETY: retain/set_current/release are paired on the same valid device.
        let free = unsafe {
            match result::primary_ctx::retain(dev) {
                Ok(ctx) => {
                    let free = result::ctx::set_current(ctx)
                        .ok()
                        .and_then(|_| result::mem_get_info().ok())
                        .map(|(free, _)| free as u64);
                    let _ = result::primary_ctx::release(dev);
                    free
                }
                Err(_) => None,
            }
        };
        let free_mib = free.map(|f| f / (1024 * 1024));
        devices.push(GpuDevice {
            index: ordinal as u32,
            name,
            total_mib: total / (1024 * 1024),
            free_mib,
            compute_capability: cc,
            vram_level: vram_level(free_mib, gpu),
        });
    }
    let note = devices
        .is_empty()
        .then(|| "the driver reports no CUDA device".to_owned());
    ProbeReport {
        driver_present: true,
        cuda_version,
        devices,
        note,
        #[cfg(feature = "nvml")]
        nvml: None,
    }
}

/// Probes the GPUs. Never panics and spawns no process.
pub fn probe(gpu: &GpuConfig) -> ProbeReport {
    #[allow(unused_mut)]
    let mut report = if driver_present() {
        std::panic::catch_unwind(|| probe_driver(gpu))
            .unwrap_or_else(|_| ProbeReport::empty(true, "the CUDA driver probe failed"))
    } else {
        ProbeReport::empty(false, "no CUDA driver (libcuda) on this machine")
    };
    #[cfg(feature = "nvml")]
    {
        report.nvml = Some(crate::nvml::nvml_probe());
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On machines without a driver (CI) this is the no-driver path; with `INFERWARDEN_GPU=1`
    /// a device must be found.
    #[test]
    fn probe_never_panics_and_is_stable() {
        let first = probe(&GpuConfig::default());
        for _ in 0..100 {
            assert_eq!(
                probe(&GpuConfig::default()).driver_present,
                first.driver_present
            );
        }
        if std::env::var("INFERWARDEN_GPU").as_deref() == Ok("1") {
            assert!(
                first.driver_present && !first.devices.is_empty(),
                "{first:?}"
            );
        } else if !first.driver_present {
            assert!(first.devices.is_empty());
            assert!(first.note.is_some());
        }
    }
}
