//! `inferwarden probe [--json]`: GPUs through the driver API; no GPU is exit 0.

use inferwarden::config::PolicyConfig;
use inferwarden_cuda::probe::FreeMemorySource;

use super::EXIT_OK;

pub fn run(json: bool) -> u8 {
    let gpu = PolicyConfig::load(None).map(|c| c.gpu).unwrap_or_default();
    let report = inferwarden_cuda::probe::probe(&gpu);
    if json {
        println!("{}", serde_json::to_string(&report).unwrap_or_default());
        return EXIT_OK;
    }
    match (&report.cuda_version, report.devices.is_empty()) {
        (_, true) => println!("no GPU: {}", report.note.as_deref().unwrap_or("none found")),
        (version, false) => {
            println!("CUDA driver API {}", version.as_deref().unwrap_or("?"));
            for d in &report.devices {
                let free = match (d.free_mib, d.free_source) {
                    (Some(f), Some(FreeMemorySource::Nvml)) => format!("{f} (NVML)"),
                    (Some(f), _) => f.to_string(),
                    (None, _) => "?".to_owned(),
                };
                println!(
                    "  [{}] {} sm_{}{} total {} MiB free {} MiB level {:?}",
                    d.index,
                    d.name,
                    d.compute_capability.0,
                    d.compute_capability.1,
                    d.total_mib,
                    free,
                    d.vram_level
                );
            }
        }
    }
    if let Some(n) = &report.nvml {
        match (n.available, &n.note) {
            (false, note) => println!("NVML: {}", note.as_deref().unwrap_or("unavailable")),
            (true, _) => {
                println!("NVML driver {}", n.driver_version.as_deref().unwrap_or("?"));
                for d in &n.devices {
                    println!(
                        "  [{}] used {} / {} MiB, {} compute processes",
                        d.index,
                        d.used_mib,
                        d.total_mib,
                        d.processes.len()
                    );
                }
            }
        }
    }
    EXIT_OK
}
