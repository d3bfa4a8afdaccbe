//! GPU probe: the driver-API probe (no-driver answer after the first call) against the
//! reference platform's `nvidia-smi` subprocess (which, without a driver, fails to spawn).
//! Goal: under 50 us per probe after the first call.

use std::hint::black_box;
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use inferwarden::config::GpuConfig;

fn bench_probe(c: &mut Criterion) {
    let gpu = GpuConfig::default();
    let _ = inferwarden_cuda::probe::probe(&gpu);
    c.bench_function("probe/driver_api", |b| {
        b.iter(|| {
            black_box(inferwarden_cuda::probe::probe(black_box(&gpu)))
                .devices
                .len()
        })
    });
    c.bench_function("probe/nvidia_smi_spawn", |b| {
        b.iter(|| {
            Command::new("nvidia-smi")
                .args([
                    "--query-gpu=name,memory.total,memory.free",
                    "--format=csv,noheader,nounits",
                ])
                .output()
                .map(|o| o.stdout.len())
                .unwrap_or(0)
        })
    });
}

criterion_group!(benches, bench_probe);
criterion_main!(benches);
