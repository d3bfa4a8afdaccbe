//! GPU figures for BENCHMARKS.md, run on a GPU machine by `scripts/gpu-check.sh`:
//!
//! 1. the driver-API probe with the NVML view (first call, then per call, then per call while
//!    the process holds the primary context) against spawning `nvidia-smi` with the
//!    reference platform's query, in the same run;
//! 2. the device's copy bandwidth (device-to-device `cuMemcpy` of 1 GiB, bytes read plus
//!    written, CUDA events);
//! 3. the frame kernel on a 1x3x81x480x832 clip resident on the device (f32, f16, bf16; both
//!    layouts): time per clip and effective bandwidth (input bytes + output bytes) as a share
//!    of (2); goal at least 70 %;
//! 4. the whole host round trip (copy in, kernel, copy out) against the CPU path on the same
//!    machine.
//!
//! Every clip is first checked byte for byte against the CPU path; a difference exits 1.
//! Without a GPU it prints why and exits 2.

use std::process::{Command, ExitCode};
use std::time::Instant;

use cudarc::driver::sys::CUevent_flags;
use inferwarden::config::GpuConfig;
use inferwarden_cuda::frames::{convert_frames, DType, Dims, Layout};
use inferwarden_cuda::gpu::GpuFrames;

const CLIP: Dims = Dims {
    n: 1,
    c: 3,
    t: 81,
    h: 480,
    w: 832,
};

fn clip_bytes(dtype: DType, len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    match dtype {
        DType::F32 => (0..len)
            .flat_map(|_| ((next() % 2_100_001) as f32 / 1_000_000.0 - 1.05).to_le_bytes())
            .collect(),
        DType::F16 | DType::Bf16 => (0..len)
            .flat_map(|_| (next() as u16).to_le_bytes())
            .collect(),
    }
}

fn probe_figures() {
    let gpu = GpuConfig::default();
    let t = Instant::now();
    let first = inferwarden_cuda::probe::probe(&gpu);
    let first_us = t.elapsed().as_secs_f64() * 1e6;
    let per_call = |gpu: &GpuConfig| {
        // At most 200 calls or 3 s: with a GPU and no context held, each call creates and
        // destroys the primary context.
        let t = Instant::now();
        let mut n = 0u32;
        while n < 200 && t.elapsed().as_secs_f64() < 3.0 {
            std::hint::black_box(inferwarden_cuda::probe::probe(gpu));
            n += 1;
        }
        (t.elapsed().as_secs_f64() * 1e6 / f64::from(n), n)
    };
    let (per_call_us, n) = per_call(&gpu);
    let source = |r: &inferwarden_cuda::probe::ProbeReport| {
        r.devices
            .first()
            .and_then(|d| d.free_source)
            .map_or("-".to_owned(), |s| format!("{s:?}"))
    };
    let later_source = source(&inferwarden_cuda::probe::probe(&gpu));
    // Again while this process holds the primary context (as a worker running models does).
    let held = GpuFrames::shared().ok().map(|_| per_call(&gpu));
    let spawns = 20;
    let t = Instant::now();
    let mut smi_ok = 0;
    for _ in 0..spawns {
        let ok = Command::new("nvidia-smi")
            .args([
                "--query-gpu=name,memory.total,memory.free",
                "--format=csv,noheader,nounits",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
        smi_ok += usize::from(ok);
    }
    let smi_us = t.elapsed().as_secs_f64() * 1e6 / spawns as f64;
    let devices: Vec<String> = first
        .devices
        .iter()
        .map(|d| {
            format!(
                "{} ({} MiB, {} MiB free, cc {}.{})",
                d.name,
                d.total_mib,
                d.free_mib.unwrap_or(0),
                d.compute_capability.0,
                d.compute_capability.1
            )
        })
        .collect();
    println!("## Probe");
    println!(
        "driver present: {}, CUDA {}, devices: {}",
        first.driver_present,
        first.cuda_version.as_deref().unwrap_or("-"),
        devices.join("; ")
    );
    println!("| what | time |\n|---|---|");
    println!(
        "| driver-API probe, first call (free memory from {}) | {first_us:.0} us |",
        source(&first)
    );
    println!(
        "| driver-API probe, per call after ({n} calls; free memory from {later_source}) | {per_call_us:.1} us |"
    );
    if let Some((us, n)) = held {
        println!("| driver-API probe, per call while the process holds the context ({n} calls) | {us:.1} us |");
    }
    println!(
        "| `nvidia-smi --query-gpu=name,memory.total,memory.free` spawn ({smi_ok}/{spawns} succeeded) | {smi_us:.0} us |"
    );
    println!(
        "| reference (two spawns per probe) | {:.0} us |",
        2.0 * smi_us
    );
    println!();
}

/// Milliseconds per call of `f` on the GPU's stream, measured with CUDA events over `iters`
/// calls after `warm` warm-up calls.
fn time_ms(gpu: &GpuFrames, warm: usize, iters: usize, mut f: impl FnMut()) -> f64 {
    let stream = gpu.stream();
    for _ in 0..warm {
        f();
    }
    let start = stream
        .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
        .expect("event");
    for _ in 0..iters {
        f();
    }
    let end = stream
        .record_event(Some(CUevent_flags::CU_EVENT_DEFAULT))
        .expect("event");
    end.synchronize().expect("sync");
    f64::from(start.elapsed_ms(&end).expect("elapsed")) / iters as f64
}

fn main() -> ExitCode {
    probe_figures();
    let gpu = match GpuFrames::shared() {
        Ok(gpu) => gpu,
        Err(e) => {
            println!("no GPU path: {e}");
            return ExitCode::from(2);
        }
    };
    let stream = gpu.stream().clone();
    println!(
        "## Frame kernels on {} (compiled for {})",
        gpu.device_name(),
        gpu.arch()
    );

    // Copy bandwidth: device-to-device, 1 GiB, bytes read + written.
    let size = 1usize << 30;
    let src = stream.alloc_zeros::<u8>(size).expect("alloc");
    let mut dst = stream.alloc_zeros::<u8>(size).expect("alloc");
    let copy_ms = time_ms(gpu, 3, 20, || {
        stream.memcpy_dtod(&src, &mut dst).expect("copy");
    });
    let copy_gbs = 2.0 * size as f64 / (copy_ms * 1e-3) / 1e9;
    drop((src, dst));
    println!("device-to-device copy of 1 GiB: {copy_ms:.3} ms, {copy_gbs:.0} GB/s (read + write)");
    println!();
    println!(
        "| dtype | layout | kernel per clip | effective GB/s | share of copy bandwidth | host round trip | CPU path ({} threads) |",
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
    println!("|---|---|---|---|---|---|---|");

    let len = CLIP.len().unwrap();
    let mut failed = false;
    for dtype in [DType::F32, DType::F16, DType::Bf16] {
        let bytes = clip_bytes(dtype, len);
        for layout in [Layout::Ncthw, Layout::Ntchw] {
            let mut want = vec![0u8; len];
            let t = Instant::now();
            convert_frames(&bytes, dtype, layout, CLIP, &mut want, 0).expect("cpu");
            let cpu_ms = t.elapsed().as_secs_f64() * 1e3;

            let mut got = vec![0u8; len];
            gpu.convert(&bytes, dtype, layout, CLIP, &mut got)
                .expect("gpu convert");
            if got != want {
                let i = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
                println!(
                    "MISMATCH {dtype:?} {layout:?}: output byte {i}: gpu {} cpu {}",
                    got[i], want[i]
                );
                failed = true;
                continue;
            }
            let t = Instant::now();
            let rounds = 3;
            for _ in 0..rounds {
                gpu.convert(&bytes, dtype, layout, CLIP, &mut got)
                    .expect("gpu convert");
            }
            let round_trip_ms = t.elapsed().as_secs_f64() * 1e3 / rounds as f64;

            let dev_in = stream.clone_htod(&bytes).expect("htod");
            let mut dev_out = stream.alloc_zeros::<u8>(len).expect("alloc");
            let kernel_ms = time_ms(gpu, 3, 50, || {
                gpu.convert_on_device(&dev_in, &mut dev_out, dtype, layout, CLIP)
                    .expect("kernel");
            });
            let moved = (bytes.len() + len) as f64;
            let gbs = moved / (kernel_ms * 1e-3) / 1e9;
            println!(
                "| {dtype:?} | {layout:?} | {:.1} us | {gbs:.0} | {:.0} % | {round_trip_ms:.1} ms | {cpu_ms:.1} ms |",
                kernel_ms * 1e3,
                100.0 * gbs / copy_gbs
            );
        }
    }
    if failed {
        println!("GPU output differs from the CPU path");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
