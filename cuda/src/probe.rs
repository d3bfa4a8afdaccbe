//! Device probe through the CUDA driver API (cudarc with dynamic loading): per device the
//! name, total and free MiB, compute capability, driver and CUDA versions and the VRAM level.
//! `libcuda` missing, driver init failing, or zero devices are ordinary answers. cudarc panics
//! on a driver call when `libcuda` is absent, so presence is checked first (once per
//! process), and every driver call runs under `catch_unwind`.
//!
//! Free memory needs a CUDA context, and creating then destroying one costs about 190 ms on
//! an H200 (more than spawning `nvidia-smi`). So free memory comes from, in this order:
//! 1. the device's primary context when this process already holds it (a worker running
//!    models does): microseconds;
//! 2. NVML (feature `nvml`), matched by UUID, which needs no context;
//! 3. the primary context, retained on this first call and KEPT for the process, so every
//!    later probe takes path 1. The first probe pays the context's creation once.
//!
//! `free_source` says which (`context` or `nvml`).

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
    /// Where `free_mib` came from: `context` (the CUDA driver) or `nvml`.
    pub free_source: Option<FreeMemorySource>,
    /// Compute capability `(major, minor)`.
    pub compute_capability: (i32, i32),
    /// VRAM level of the free memory.
    pub vram_level: VramLevel,
}

/// Where a device's free memory was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FreeMemorySource {
    /// `cuMemGetInfo` in the device's primary context.
    Context,
    /// NVML's device memory information.
    Nvml,
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

/// The names the Linux driver library is installed under: every NVIDIA driver installs the
/// soname `libcuda.so.1`, and the development link `libcuda.so` sits beside it on machines
/// with the toolkit. cudarc's own search tries 34 names (Windows and versioned variants
/// included), each a failed `dlopen` walking the library path when there is no driver: on a
/// machine without a GPU that search was most of `inferwarden probe`'s run time.
#[cfg(target_os = "linux")]
pub const LINUX_DRIVER_NAMES: [&str; 2] = ["libcuda.so.1", "libcuda.so"];

/// Whether the CUDA driver library (`libcuda`) can be loaded; checked once per process.
/// On Linux, no library under [`LINUX_DRIVER_NAMES`] means no driver (two failed loads);
/// otherwise cudarc's search decides, so a driver it could not load is never reported.
pub fn driver_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    *PRESENT.get_or_init(|| {
        #[cfg(target_os = "linux")]
        {
            // SAFETY: loading the driver library runs only its initialisers, as cudarc's
            // own presence check does; the handle is dropped at once.
            #[allow(unsafe_code)]
            let loadable = LINUX_DRIVER_NAMES
                .iter()
                .any(|name| unsafe { libloading::Library::new(*name) }.is_ok());
            if !loadable {
                return false;
            }
        }
        // SAFETY: `is_culib_present` only tries to dlopen the driver library by name.
        #[allow(unsafe_code)]
        unsafe {
            cudarc::driver::sys::is_culib_present()
        }
    })
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
        let (free, free_source) = free_memory(dev);
        let free_mib = free.map(|f| f / (1024 * 1024));
        devices.push(GpuDevice {
            index: ordinal as u32,
            name,
            total_mib: total / (1024 * 1024),
            free_mib,
            free_source: free.and(free_source),
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

/// Whether this process holds `dev`'s primary context already.
#[allow(unsafe_code)]
fn primary_context_active(dev: cudarc::driver::sys::CUdevice) -> bool {
    use cudarc::driver::sys;
    let (mut flags, mut active) = (0, 0);
    // SAFETY: `dev` is a valid device handle; both pointers are to live locals.
    let ok = unsafe { sys::cuDevicePrimaryCtxGetState(dev, &mut flags, &mut active) };
    ok == sys::CUresult::CUDA_SUCCESS && active != 0
}

/// Free bytes through the primary context; released again unless `keep`.
#[allow(unsafe_code)]
fn free_through_context(dev: cudarc::driver::sys::CUdevice, keep: bool) -> Option<u64> {
    use cudarc::driver::result;
    // SAFETY: retain/set_current/release are paired on the same valid device (a kept
    // retention is released when the process exits).
    unsafe {
        let ctx = result::primary_ctx::retain(dev).ok()?;
        let free = result::ctx::set_current(ctx)
            .ok()
            .and_then(|_| result::mem_get_info().ok())
            .map(|(free, _)| free as u64);
        if !keep {
            let _ = result::primary_ctx::release(dev);
        }
        free
    }
}

/// The UUID as NVML prints it: `GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
#[cfg_attr(not(feature = "nvml"), allow(dead_code))]
fn uuid_string(bytes: &[std::ffi::c_char; 16]) -> String {
    let hex: Vec<String> = bytes.iter().map(|b| format!("{:02x}", *b as u8)).collect();
    format!(
        "GPU-{}-{}-{}-{}-{}",
        hex[0..4].concat(),
        hex[4..6].concat(),
        hex[6..8].concat(),
        hex[8..10].concat(),
        hex[10..16].concat()
    )
}

/// Free memory of `dev` and where it came from (see the module docs for the order).
fn free_memory(dev: cudarc::driver::sys::CUdevice) -> (Option<u64>, Option<FreeMemorySource>) {
    if primary_context_active(dev) {
        return (
            free_through_context(dev, false),
            Some(FreeMemorySource::Context),
        );
    }
    #[cfg(feature = "nvml")]
    if let Ok(uuid) = cudarc::driver::result::device::get_uuid(dev) {
        if let Some(free) = crate::nvml::free_bytes_by_uuid(&uuid_string(&uuid.bytes)) {
            return (Some(free), Some(FreeMemorySource::Nvml));
        }
    }
    (
        free_through_context(dev, true),
        Some(FreeMemorySource::Context),
    )
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
    fn uuids_print_like_nvml() {
        let bytes: [std::ffi::c_char; 16] =
            std::array::from_fn(|i| (i as u8 * 17) as std::ffi::c_char);
        assert_eq!(
            uuid_string(&bytes),
            "GPU-00112233-4455-6677-8899-aabbccddeeff"
        );
    }

    /// The quick check tries only names cudarc's loader also tries, so what it finds is
    /// what the driver calls will use.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_quick_driver_check_names_are_in_cudarcs_search() {
        let cudarc_names = cudarc::get_lib_name_candidates("cuda");
        for name in LINUX_DRIVER_NAMES {
            assert!(
                cudarc_names.iter().any(|n| n == name),
                "{name} not in {cudarc_names:?}"
            );
        }
    }

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
            // Free memory is read on every device, first call and later ones.
            for report in [&first, &probe(&GpuConfig::default())] {
                for d in &report.devices {
                    assert!(d.free_mib.is_some() && d.free_source.is_some(), "{d:?}");
                    assert!(d.free_mib <= Some(d.total_mib + 1024), "{d:?}");
                }
            }
        } else if !first.driver_present {
            assert!(first.devices.is_empty());
            assert!(first.note.is_some());
        }
    }
}
