//! Frames from device memory. On every machine: where a conversion is placed (a device
//! tensor on its own GPU, never on the CPU; frames kept on the device only from a GPU), and
//! that without a GPU a device tensor is refused as a missing dependency before its memory
//! is touched. With `INFERWARDEN_GPU=1` (`scripts/gpu-check.sh`): a tensor read at its device
//! address, aligned and not, gives the CPU path's bytes into host memory and into a device
//! buffer, and the checks on its description hold.

use cudarc::driver::DevicePtr;
use inferwarden_cuda::device_frames::{
    convert_device_memory, convert_host_tensor, device_of_address, place, Converted,
    DescribedDeviceTensor, DeviceTensor, FramesDestination, FramesOut, Placement,
};
use inferwarden_cuda::dlpack::Residence;
use inferwarden_cuda::frames::{convert_frames, DType, Dims, Layout};
use inferwarden_cuda::gpu::{FrameDevice, GpuErrorKind, GpuFrames};

fn gpu_required() -> bool {
    std::env::var("INFERWARDEN_GPU").as_deref() == Ok("1")
}

fn dims(n: usize, c: usize, t: usize, h: usize, w: usize) -> Dims {
    Dims { n, c, t, h, w }
}

/// Deterministic f32 values in [-1.2, 1.2], with NaN and infinities among them.
fn f32_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match i % 11 {
                0 => f32::NAN,
                1 => f32::INFINITY,
                2 => f32::NEG_INFINITY,
                _ => (x % 2_400_001) as f32 / 1_000_000.0 - 1.2,
            }
        })
        .flat_map(f32::to_le_bytes)
        .collect()
}

/// The same values as float16 bit patterns (round to nearest by way of f32's top bits is
/// not needed: any pattern is a valid input, the CPU path is the reference).
fn half_bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(40_503) | 1;
    (0..len)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as u16).to_le_bytes()
        })
        .collect()
}

fn cpu(bytes: &[u8], dtype: DType, layout: Layout, d: Dims) -> Vec<u8> {
    let mut out = vec![0u8; d.len().unwrap()];
    convert_frames(bytes, dtype, layout, d, &mut out, 0).unwrap();
    out
}

#[test]
fn a_device_tensor_runs_on_its_own_gpu_and_never_on_the_cpu() {
    let on_device = Residence::Device { ordinal: 1 };
    for device in [None, Some(FrameDevice::Cuda), Some(FrameDevice::Auto)] {
        for out in [FramesOut::Host, FramesOut::Device] {
            assert_eq!(
                place(on_device, device, out).unwrap(),
                Placement::OnTensorDevice { ordinal: Some(1) }
            );
        }
    }
    let refused = place(on_device, Some(FrameDevice::Cpu), FramesOut::Host).unwrap_err();
    assert_eq!(refused.kind, GpuErrorKind::Shape);
    assert!(refused.message.contains("cannot read"), "{refused}");
    // A producer that names no device (or a negative one): the driver is asked.
    assert_eq!(
        place(Residence::Device { ordinal: -1 }, None, FramesOut::Host).unwrap(),
        Placement::OnTensorDevice { ordinal: None }
    );
}

#[test]
fn a_host_tensor_runs_where_device_says_and_device_output_needs_a_gpu() {
    let host = Residence::Host;
    assert_eq!(place(host, None, FramesOut::Host).unwrap(), Placement::Cpu);
    assert_eq!(
        place(host, Some(FrameDevice::Cpu), FramesOut::Host).unwrap(),
        Placement::Cpu
    );
    assert_eq!(
        place(host, Some(FrameDevice::Cuda), FramesOut::Host).unwrap(),
        Placement::HostOnGpu {
            cpu_fallback: false
        }
    );
    assert_eq!(
        place(host, Some(FrameDevice::Auto), FramesOut::Host).unwrap(),
        Placement::HostOnGpu { cpu_fallback: true }
    );
    // Frames kept on the device cannot fall back to the CPU.
    assert_eq!(
        place(host, Some(FrameDevice::Auto), FramesOut::Device).unwrap(),
        Placement::HostOnGpu {
            cpu_fallback: false
        }
    );
    for device in [None, Some(FrameDevice::Cpu)] {
        let refused = place(host, device, FramesOut::Device).unwrap_err();
        assert_eq!(refused.kind, GpuErrorKind::Shape);
        assert!(refused.message.contains("out=\"device\""), "{refused}");
    }
}

#[test]
fn a_device_tensor_description_is_checked_before_any_device_work() {
    let d = dims(1, 3, 2, 4, 4);
    let good = DeviceTensor {
        address: 0x7f00_0000_0100,
        byte_len: d.len().unwrap() * 4,
        ordinal: 0,
        producer_stream: None,
    };
    good.validate(DType::F32, Layout::Ncthw, d).unwrap();
    let cases = [
        (
            DeviceTensor {
                byte_len: good.byte_len - 4,
                ..good
            },
            DType::F32,
            "expected",
        ),
        (
            DeviceTensor { address: 0, ..good },
            DType::F32,
            "no data pointer",
        ),
        // Misaligned for the element: a fault on the device, refused here.
        (
            DeviceTensor {
                address: good.address + 2,
                ..good
            },
            DType::F32,
            "not a multiple of its 4-byte element",
        ),
        (
            DeviceTensor {
                address: good.address + 1,
                byte_len: good.byte_len / 2,
                ..good
            },
            DType::F16,
            "not a multiple of its 2-byte element",
        ),
    ];
    for (tensor, dtype, reason) in cases {
        let err = tensor.validate(dtype, Layout::Ncthw, d).unwrap_err();
        assert_eq!(err.kind, GpuErrorKind::Shape);
        assert!(err.message.contains(reason), "{tensor:?}: {err}");
    }
    // Aligned to the element but not to the vector loads: valid (the any-shape kernel runs).
    DeviceTensor {
        address: good.address + 2,
        byte_len: good.byte_len / 2,
        ..good
    }
    .validate(DType::Bf16, Layout::Ncthw, d)
    .unwrap();
    // An empty tensor needs no pointer.
    DeviceTensor {
        address: 0,
        byte_len: 0,
        ..good
    }
    .validate(DType::F32, Layout::Ncthw, dims(1, 3, 0, 4, 4))
    .unwrap();
}

#[test]
fn output_names_parse() {
    assert_eq!(FramesOut::from_name("HOST"), Some(FramesOut::Host));
    assert_eq!(FramesOut::from_name("device"), Some(FramesOut::Device));
    assert_eq!(FramesOut::from_name("gpu"), None);
}

#[test]
fn without_a_gpu_device_memory_is_a_missing_dependency() {
    if GpuFrames::shared().is_ok() {
        eprintln!("a GPU is present: see the INFERWARDEN_GPU=1 tests");
        return;
    }
    assert!(!gpu_required(), "INFERWARDEN_GPU=1 but no GPU loaded");
    for ordinal in [0, 1, 7] {
        let err = GpuFrames::on_device(ordinal).unwrap_err();
        assert!(
            matches!(err.kind, GpuErrorKind::NoDevice | GpuErrorKind::Unsupported),
            "{err:?}"
        );
        let code = inferwarden::Error::from(err).code_str();
        assert_eq!(code, "dependency_unavailable");
    }
    // The address is never followed: only the driver could say where it is.
    let err = device_of_address(0xDEAD_0000).unwrap_err();
    assert!(
        matches!(err.kind, GpuErrorKind::NoDevice | GpuErrorKind::Unsupported),
        "{err:?}"
    );
}

#[test]
fn host_tensors_convert_where_they_are_placed() {
    let d = dims(1, 3, 2, 4, 4);
    let bytes = f32_bytes(d.len().unwrap(), 11);
    let want = cpu(&bytes, DType::F32, Layout::Ncthw, d);
    let mut got = vec![0u8; want.len()];
    let done = convert_host_tensor(
        &bytes,
        DType::F32,
        Layout::Ncthw,
        d,
        None,
        FramesDestination::Host(&mut got),
        1,
    )
    .unwrap();
    assert!(
        matches!(done, Converted::InHost { ran_on: "cpu" }),
        "{done:?}"
    );
    assert_eq!(got, want);
    // Kept on the device needs a GPU conversion: refused for the CPU before any work.
    for device in [None, Some(FrameDevice::Cpu)] {
        let err = convert_host_tensor(
            &bytes,
            DType::F32,
            Layout::Ncthw,
            d,
            device,
            FramesDestination::Device,
            1,
        )
        .unwrap_err();
        assert_eq!(err.kind, GpuErrorKind::Shape, "{err}");
    }
    if GpuFrames::shared().is_ok() {
        return;
    }
    // Without a GPU: `auto` runs on the CPU, `cuda` and frames kept on the device cannot.
    let mut auto = vec![0u8; want.len()];
    let done = convert_host_tensor(
        &bytes,
        DType::F32,
        Layout::Ncthw,
        d,
        Some(FrameDevice::Auto),
        FramesDestination::Host(&mut auto),
        1,
    )
    .unwrap();
    assert!(matches!(done, Converted::InHost { ran_on: "cpu" }));
    assert_eq!(auto, want);
    for (device, destination) in [
        (Some(FrameDevice::Cuda), FramesDestination::Host(&mut auto)),
        (Some(FrameDevice::Auto), FramesDestination::Device),
    ] {
        let err = convert_host_tensor(&bytes, DType::F32, Layout::Ncthw, d, device, destination, 1)
            .unwrap_err();
        assert!(
            matches!(err.kind, GpuErrorKind::NoDevice | GpuErrorKind::Unsupported),
            "{err:?}"
        );
    }
}

#[test]
fn device_memory_is_checked_before_the_driver_and_needs_a_gpu() {
    let d = dims(1, 3, 2, 4, 4);
    let tensor = DescribedDeviceTensor {
        address: 0xDEAD_0000,
        byte_len: d.len().unwrap() * 4,
        ordinal: None,
        producer_stream: None,
    };
    let misaligned = DescribedDeviceTensor {
        address: tensor.address + 2,
        ..tensor
    };
    let err = convert_device_memory(
        &misaligned,
        DType::F32,
        Layout::Ncthw,
        d,
        FramesDestination::Device,
    )
    .unwrap_err();
    assert_eq!(err.kind, GpuErrorKind::Shape, "{err}");
    if GpuFrames::shared().is_ok() {
        return;
    }
    for t in [
        tensor,
        DescribedDeviceTensor {
            ordinal: Some(0),
            ..tensor
        },
    ] {
        let err =
            convert_device_memory(&t, DType::F32, Layout::Ncthw, d, FramesDestination::Device)
                .unwrap_err();
        assert!(
            matches!(err.kind, GpuErrorKind::NoDevice | GpuErrorKind::Unsupported),
            "{err:?}"
        );
    }
}

fn gpu() -> Option<&'static GpuFrames> {
    if !gpu_required() {
        eprintln!("set INFERWARDEN_GPU=1 on a GPU machine (scripts/gpu-check.sh) to run this");
        return None;
    }
    Some(GpuFrames::on_device(0).unwrap_or_else(|e| panic!("INFERWARDEN_GPU=1: {e}")))
}

#[test]
fn gpu_a_tensor_read_at_its_address_matches_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let stream = gpu.stream().clone();
    // C == 3 with H*W % 4 == 0 takes the vector kernel when the address is aligned; the
    // offsets of 4 and 2 bytes make it take the any-shape kernel instead.
    for d in [dims(1, 3, 4, 32, 48), dims(2, 4, 3, 5, 7)] {
        for (dtype, offset) in [
            (DType::F32, 0usize),
            (DType::F32, 4),
            (DType::F16, 0),
            (DType::F16, 2),
            (DType::Bf16, 6),
        ] {
            for layout in [Layout::Ncthw, Layout::Ntchw] {
                let len = d.len().unwrap();
                let bytes = match dtype {
                    DType::F32 => f32_bytes(len, 3),
                    _ => half_bytes(len, 5),
                };
                let want = cpu(&bytes, dtype, layout, d);
                let mut padded = vec![0x7Fu8; offset];
                padded.extend_from_slice(&bytes);
                let dev = stream.clone_htod(&padded).unwrap();
                let (base, record) = dev.device_ptr(&stream);
                drop(record);
                stream.synchronize().unwrap();
                let input = DeviceTensor {
                    address: base + offset as u64,
                    byte_len: bytes.len(),
                    ordinal: 0,
                    producer_stream: Some(1),
                };
                let mut got = vec![0u8; len];
                let none = gpu
                    .convert_device_tensor(
                        &input,
                        dtype,
                        layout,
                        d,
                        FramesDestination::Host(&mut got),
                    )
                    .unwrap();
                assert!(none.is_none());
                assert_eq!(got, want, "{dtype:?} offset {offset} {layout:?} {d:?}");
                let kept = gpu
                    .convert_device_tensor(&input, dtype, layout, d, FramesDestination::Device)
                    .unwrap()
                    .unwrap();
                assert_eq!(kept.len(), len);
                assert_eq!(kept.ordinal(), 0);
                assert_eq!(device_of_address(kept.address()).unwrap(), 0);
                let mut back = vec![0u8; len];
                kept.copy_to_host(&mut back).unwrap();
                assert_eq!(back, want);
            }
        }
    }
}

#[test]
fn gpu_host_input_kept_on_the_device_matches_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let d = dims(1, 3, 2, 16, 16);
    let bytes = f32_bytes(d.len().unwrap(), 9);
    let want = cpu(&bytes, DType::F32, Layout::Ntchw, d);
    let kept = gpu
        .convert_to_device(&bytes, DType::F32, Layout::Ntchw, d)
        .unwrap();
    let mut back = vec![0u8; want.len()];
    kept.copy_to_host(&mut back).unwrap();
    assert_eq!(back, want);
    let err = kept.copy_to_host(&mut [0u8; 3]).unwrap_err();
    assert_eq!(err.kind, GpuErrorKind::Shape);
}

#[test]
fn gpu_a_wrong_description_is_refused_before_launch() {
    let Some(gpu) = gpu() else { return };
    let d = dims(1, 3, 2, 4, 4);
    let stream = gpu.stream().clone();
    let dev = stream.clone_htod(&f32_bytes(d.len().unwrap(), 1)).unwrap();
    let (base, record) = dev.device_ptr(&stream);
    drop(record);
    let good = DeviceTensor {
        address: base,
        byte_len: d.len().unwrap() * 4,
        ordinal: 0,
        producer_stream: None,
    };
    let mut out = vec![0u8; d.len().unwrap()];
    for bad in [
        DeviceTensor {
            byte_len: good.byte_len - 4,
            ..good
        },
        DeviceTensor { address: 0, ..good },
        DeviceTensor { ordinal: 5, ..good },
    ] {
        let err = gpu
            .convert_device_tensor(
                &bad,
                DType::F32,
                Layout::Ncthw,
                d,
                FramesDestination::Host(&mut out),
            )
            .unwrap_err();
        assert_eq!(err.kind, GpuErrorKind::Shape, "{bad:?}");
    }
    let err = gpu
        .convert_device_tensor(
            &good,
            DType::F32,
            Layout::Ncthw,
            d,
            FramesDestination::Host(&mut out[1..]),
        )
        .unwrap_err();
    assert_eq!(err.kind, GpuErrorKind::Shape);
    let empty = dims(1, 3, 0, 4, 4);
    let kept = gpu
        .convert_device_tensor(
            &DeviceTensor {
                address: 0,
                byte_len: 0,
                ..good
            },
            DType::F32,
            Layout::Ncthw,
            empty,
            FramesDestination::Device,
        )
        .unwrap()
        .unwrap();
    assert!(kept.is_empty());
}
