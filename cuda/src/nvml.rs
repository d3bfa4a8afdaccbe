//! The optional NVML view (feature `nvml`): device-wide used memory and the memory of each
//! process on each device, which the CUDA driver API does not report. `nvml-wrapper` loads
//! `libnvidia-ml` at run time and returns errors instead of panicking; a missing library,
//! driver or device is an ordinary answer (`available: false` with a note). No process is
//! spawned.

use std::sync::OnceLock;

use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::Nvml;
use serde::Serialize;

const MIB: u64 = 1024 * 1024;

/// One process using a GPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NvmlProcess {
    /// Operating-system process id.
    pub pid: u32,
    /// GPU memory it uses, MiB (`None` when NVML cannot tell, e.g. inside some containers).
    pub used_mib: Option<u64>,
}

/// One device as NVML sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NvmlDevice {
    /// NVML index.
    pub index: u32,
    /// Total memory, MiB.
    pub total_mib: u64,
    /// Used memory across every process, MiB.
    pub used_mib: u64,
    /// Compute processes on it.
    pub processes: Vec<NvmlProcess>,
}

/// The NVML answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NvmlReport {
    /// Whether NVML could be initialised.
    pub available: bool,
    /// The driver version NVML reports.
    pub driver_version: Option<String>,
    /// Devices, by index.
    pub devices: Vec<NvmlDevice>,
    /// Why the answer is empty or partial, when it is.
    pub note: Option<String>,
}

fn reason(e: &NvmlError) -> &'static str {
    match e {
        NvmlError::LibloadingError(_) | NvmlError::FailedToLoadSymbol(_) => {
            "the NVML library (libnvidia-ml) is not installed"
        }
        NvmlError::DriverNotLoaded => "the NVIDIA driver is not loaded",
        NvmlError::NoPermission => "no permission to query NVML",
        NvmlError::NotSupported => "NVML does not support this query on this device",
        NvmlError::GpuLost => "a GPU fell off the bus",
        _ => "NVML returned an error",
    }
}

fn unavailable(note: &str) -> NvmlReport {
    NvmlReport {
        available: false,
        driver_version: None,
        devices: Vec::new(),
        note: Some(note.to_owned()),
    }
}

fn device(nvml: &Nvml, index: u32) -> Result<NvmlDevice, NvmlError> {
    let d = nvml.device_by_index(index)?;
    let mem = d.memory_info()?;
    let processes = d
        .running_compute_processes()
        .unwrap_or_default()
        .into_iter()
        .map(|p| NvmlProcess {
            pid: p.pid,
            used_mib: match p.used_gpu_memory {
                UsedGpuMemory::Used(bytes) => Some(bytes / MIB),
                UsedGpuMemory::Unavailable => None,
            },
        })
        .collect();
    Ok(NvmlDevice {
        index,
        total_mib: mem.total / MIB,
        used_mib: mem.used / MIB,
        processes,
    })
}

/// The NVML handle, initialised on first use and kept for the process (`nvmlInit` loads the
/// library and costs milliseconds); a failure is kept too, with its reason.
fn nvml() -> Result<&'static Nvml, &'static str> {
    static NVML: OnceLock<Result<Nvml, &'static str>> = OnceLock::new();
    NVML.get_or_init(|| {
        std::panic::catch_unwind(|| Nvml::init().map_err(|e| reason(&e)))
            .unwrap_or(Err("the NVML query failed"))
    })
    .as_ref()
    .map_err(|e| *e)
}

/// Free memory in bytes of the device with this UUID (`GPU-xxxxxxxx-...`, as NVML and
/// `nvidia-smi` print it), without creating a CUDA context; `None` when NVML cannot tell.
pub(crate) fn free_bytes_by_uuid(uuid: &str) -> Option<u64> {
    std::panic::catch_unwind(|| {
        let nvml = nvml().ok()?;
        nvml.device_by_uuid(uuid)
            .ok()?
            .memory_info()
            .ok()
            .map(|m| m.free)
    })
    .ok()
    .flatten()
}

/// Asks NVML. Never panics (a panic inside the wrapper is caught and reported).
pub fn nvml_probe() -> NvmlReport {
    std::panic::catch_unwind(|| {
        let nvml = match nvml() {
            Ok(n) => n,
            Err(e) => return unavailable(e),
        };
        let count = match nvml.device_count() {
            Ok(c) => c,
            Err(e) => return unavailable(reason(&e)),
        };
        let mut devices = Vec::new();
        let mut note = None;
        for index in 0..count {
            match device(nvml, index) {
                Ok(d) => devices.push(d),
                Err(e) => note = Some(format!("device {index}: {}", reason(&e))),
            }
        }
        if count == 0 {
            note = Some("NVML reports no device".to_owned());
        }
        NvmlReport {
            available: true,
            driver_version: nvml.sys_driver_version().ok(),
            devices,
            note,
        }
    })
    .unwrap_or_else(|_| unavailable("the NVML query failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without NVML (CI) this is the unavailable path; with `INFERWARDEN_GPU=1` NVML must
    /// answer with at least one device.
    #[test]
    fn nvml_probe_never_panics() {
        let r = nvml_probe();
        if std::env::var("INFERWARDEN_GPU").as_deref() == Ok("1") {
            assert!(r.available && !r.devices.is_empty(), "{r:?}");
        } else if !r.available {
            assert!(r.devices.is_empty() && r.note.is_some(), "{r:?}");
        }
        for d in &r.devices {
            assert!(d.used_mib <= d.total_mib, "{d:?}");
        }
    }
}
