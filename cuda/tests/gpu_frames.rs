//! The GPU frame path. Without a GPU (CI): loading the kernels is a typed `NoDevice` (or
//! `Unsupported`) error, never a panic, `device = cuda` refuses and `device = auto` falls
//! back to the CPU with the same bytes. With `INFERWARDEN_GPU=1` (`scripts/gpu-check.sh` on a
//! GPU machine) a device is required and every output is compared byte for byte with the CPU
//! path: every dtype, both layouts, both kernels (three channels with H*W divisible by 4,
//! and any shape), edge values, all 65,536 half-precision bit patterns, device-resident
//! buffers and concurrent callers.

use inferwarden_cuda::frames::{convert_frames, DType, Dims, Layout};
use inferwarden_cuda::gpu::{convert_frames_on, FrameDevice, GpuErrorKind, GpuFrames};

fn gpu_required() -> bool {
    std::env::var("INFERWARDEN_GPU").as_deref() == Ok("1")
}

/// Deterministic xorshift values.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// f32 values in [-1.2, 1.2] mixed with the edge cases of the contract.
fn f32_input(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    let edges = [
        f32::NAN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        1.0,
        -1.0,
        1.1,
        -1.1,
        0.0,
        -0.0,
        f32::MIN_POSITIVE / 2.0,
    ];
    (0..len)
        .map(|i| {
            let r = rng.next();
            if i % 7 == 0 {
                edges[(r % edges.len() as u64) as usize]
            } else if i % 7 == 1 {
                // Exactly on a rounding boundary: (k + 0.5) / 255 * 2 - 1.
                ((r % 255) as f32 + 0.5) / 255.0 * 2.0 - 1.0
            } else {
                (r % 2_400_001) as f32 / 1_000_000.0 - 1.2
            }
        })
        .flat_map(f32::to_le_bytes)
        .collect()
}

/// 16-bit patterns: every one of the 65,536 when `len` allows, then random ones.
fn half_input(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed);
    (0..len)
        .map(|i| {
            if i < 65_536 {
                // A stride coprime with 2^16 visits every pattern once.
                (i as u32).wrapping_mul(40_503) as u16
            } else {
                rng.next() as u16
            }
        })
        .flat_map(u16::to_le_bytes)
        .collect()
}

fn input(dtype: DType, len: usize, seed: u64) -> Vec<u8> {
    match dtype {
        DType::F32 => f32_input(len, seed),
        DType::F16 | DType::Bf16 => half_input(len, seed),
    }
}

fn dims(n: usize, c: usize, t: usize, h: usize, w: usize) -> Dims {
    Dims { n, c, t, h, w }
}

/// Shapes covering both kernels: C = 3 with H*W % 4 == 0 (vector kernel), odd H*W, C = 1
/// and C = 4 (any-shape kernel), N > 1, and a frame with 65,536+ elements.
fn shapes() -> Vec<Dims> {
    vec![
        dims(1, 3, 5, 8, 12),
        dims(2, 3, 3, 7, 5),
        dims(1, 4, 2, 6, 6),
        dims(1, 1, 3, 4, 4),
        dims(2, 3, 2, 1, 1),
        dims(1, 3, 2, 128, 128),
        dims(1, 4, 1, 128, 128),
        dims(1, 3, 9, 48, 80),
    ]
}

fn cpu(bytes: &[u8], dtype: DType, layout: Layout, d: Dims) -> Vec<u8> {
    let mut out = vec![0u8; d.len().unwrap()];
    convert_frames(bytes, dtype, layout, d, &mut out, 0).unwrap();
    out
}

const DTYPES: [DType; 3] = [DType::F32, DType::F16, DType::Bf16];
const LAYOUTS: [Layout; 2] = [Layout::Ncthw, Layout::Ntchw];

#[test]
fn without_a_gpu_cuda_refuses_and_auto_falls_back_to_the_cpu() {
    let Err(err) = GpuFrames::shared() else {
        eprintln!("a GPU is present: see the INFERWARDEN_GPU=1 tests");
        return;
    };
    assert!(
        !gpu_required(),
        "INFERWARDEN_GPU=1 but the kernels did not load: {err}"
    );
    assert!(
        matches!(err.kind, GpuErrorKind::NoDevice | GpuErrorKind::Unsupported),
        "{err:?}"
    );
    assert!(!err.message.is_empty());
    // The same answer again, at once (cached), and from a fresh load.
    assert_eq!(GpuFrames::shared().unwrap_err(), err);
    assert_eq!(GpuFrames::new(0).unwrap_err().kind, err.kind);

    let d = dims(1, 3, 2, 4, 4);
    let bytes = f32_input(d.len().unwrap(), 7);
    let mut out = vec![0u8; d.len().unwrap()];
    let refused = convert_frames_on(
        FrameDevice::Cuda,
        &bytes,
        DType::F32,
        Layout::Ncthw,
        d,
        &mut out,
        0,
    )
    .unwrap_err();
    assert_eq!(refused.kind, err.kind);
    let ran = convert_frames_on(
        FrameDevice::Auto,
        &bytes,
        DType::F32,
        Layout::Ncthw,
        d,
        &mut out,
        0,
    )
    .unwrap();
    assert_eq!(ran, "cpu");
    assert_eq!(out, cpu(&bytes, DType::F32, Layout::Ncthw, d));
}

#[test]
fn device_names_parse() {
    assert_eq!(FrameDevice::from_name("CPU"), Some(FrameDevice::Cpu));
    assert_eq!(FrameDevice::from_name("cuda"), Some(FrameDevice::Cuda));
    assert_eq!(FrameDevice::from_name("auto"), Some(FrameDevice::Auto));
    assert_eq!(FrameDevice::from_name("tpu"), None);
}

#[test]
fn cpu_device_reports_shape_errors_as_shape() {
    let d = dims(1, 3, 2, 4, 4);
    let mut out = vec![0u8; d.len().unwrap()];
    let err = convert_frames_on(
        FrameDevice::Cpu,
        &[0u8; 5],
        DType::F32,
        Layout::Ncthw,
        d,
        &mut out,
        1,
    )
    .unwrap_err();
    assert_eq!(err.kind, GpuErrorKind::Shape);
}

fn gpu() -> Option<&'static GpuFrames> {
    if !gpu_required() {
        eprintln!("set INFERWARDEN_GPU=1 on a GPU machine (scripts/gpu-check.sh) to run this");
        return None;
    }
    Some(GpuFrames::shared().unwrap_or_else(|e| panic!("INFERWARDEN_GPU=1: {e}")))
}

#[test]
fn gpu_matches_the_cpu_byte_for_byte() {
    let Some(gpu) = gpu() else { return };
    eprintln!("device {} ({})", gpu.device_name(), gpu.arch());
    let mut checked = 0usize;
    for (s, d) in shapes().into_iter().enumerate() {
        for dtype in DTYPES {
            for layout in LAYOUTS {
                let len = d.len().unwrap();
                let bytes = input(dtype, len, 0x9e37_79b9 + s as u64);
                let want = cpu(&bytes, dtype, layout, d);
                let mut got = vec![0xAAu8; len];
                gpu.convert(&bytes, dtype, layout, d, &mut got).unwrap();
                if got != want {
                    let i = got.iter().zip(&want).position(|(a, b)| a != b).unwrap();
                    panic!(
                        "{dtype:?} {layout:?} {d:?}: first difference at output byte {i}: gpu {} cpu {}",
                        got[i], want[i]
                    );
                }
                checked += len;
            }
        }
    }
    eprintln!("{checked} output bytes identical");
}

#[test]
fn gpu_device_resident_buffers_match() {
    let Some(gpu) = gpu() else { return };
    let d = dims(1, 3, 4, 64, 96);
    for dtype in DTYPES {
        let len = d.len().unwrap();
        let bytes = input(dtype, len, 42);
        let want = cpu(&bytes, dtype, Layout::Ncthw, d);
        let stream = gpu.stream();
        let dev_in = stream.clone_htod(&bytes).unwrap();
        let mut dev_out = stream.alloc_zeros::<u8>(len).unwrap();
        gpu.convert_on_device(&dev_in, &mut dev_out, dtype, Layout::Ncthw, d)
            .unwrap();
        let got = stream.clone_dtoh(&dev_out).unwrap();
        stream.synchronize().unwrap();
        assert_eq!(got, want, "{dtype:?}");
        let mut short = stream.alloc_zeros::<u8>(len - 1).unwrap();
        let err = gpu
            .convert_on_device(&dev_in, &mut short, dtype, Layout::Ncthw, d)
            .unwrap_err();
        assert_eq!(err.kind, GpuErrorKind::Shape);
    }
}

#[test]
fn gpu_shape_errors_and_empty_tensors() {
    let Some(gpu) = gpu() else { return };
    let d = dims(1, 3, 2, 4, 4);
    let mut out = vec![0u8; d.len().unwrap()];
    let err = gpu
        .convert(&[0u8; 7], DType::F32, Layout::Ncthw, d, &mut out)
        .unwrap_err();
    assert_eq!(err.kind, GpuErrorKind::Shape);
    let empty = dims(1, 3, 0, 4, 4);
    gpu.convert(&[], DType::F16, Layout::Ntchw, empty, &mut [])
        .unwrap();
}

#[test]
fn gpu_concurrent_callers_get_their_own_results() {
    if gpu().is_none() {
        return;
    }
    let d = dims(1, 3, 6, 40, 60);
    std::thread::scope(|s| {
        for k in 0..4u64 {
            s.spawn(move || {
                let dtype = DTYPES[k as usize % 3];
                let bytes = input(dtype, d.len().unwrap(), 1000 + k);
                let want = cpu(&bytes, dtype, Layout::Ntchw, d);
                for _ in 0..5 {
                    let mut got = vec![0u8; want.len()];
                    let ran = convert_frames_on(
                        FrameDevice::Cuda,
                        &bytes,
                        dtype,
                        Layout::Ntchw,
                        d,
                        &mut got,
                        0,
                    )
                    .unwrap();
                    assert_eq!(ran, "cuda");
                    assert_eq!(got, want, "thread {k}");
                }
            });
        }
    });
}
