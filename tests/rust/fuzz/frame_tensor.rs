//! The fuzz oracle of the frame path's tensor descriptions: arbitrary bytes become a DLPack
//! `DLTensor` (as a producer's capsule holds it) or a `__cuda_array_interface__`, and go
//! through what a binding does with them before any memory is read: `plan`, `Dims`, the
//! device tensor's checks and the placement. Nothing panics, and what is accepted holds
//! together: a planned tensor is 5-D, compact, its byte span does not overflow and matches
//! the shape's element count; a device tensor the checks pass is aligned for its element.

use inferwarden_cuda::array_interface::ArrayInterface;
use inferwarden_cuda::device_frames::{place, DeviceTensor, FramesOut, Placement};
use inferwarden_cuda::dlpack::{plan, DlTensorInfo, Residence};
use inferwarden_cuda::frames::{element_size, DType, Dims, Layout};
use inferwarden_cuda::gpu::FrameDevice;

/// Reads the fuzzer's bytes as fields, zero once they run out.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else {
            return 0;
        };
        self.0 = rest;
        b
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| acc << 8 | u64::from(self.byte()))
    }

    /// Mostly small dimensions (as frame tensors have), sometimes negative or huge.
    fn dim(&mut self) -> i64 {
        match self.byte() % 8 {
            0 => self.u64() as i64,
            1 => -i64::from(self.byte()),
            _ => i64::from(self.byte() % 9),
        }
    }
}

const DEVICE_TYPES: [i32; 6] = [1, 2, 3, 13, 7, -1];
const DTYPES: [Option<DType>; 4] = [None, Some(DType::F32), Some(DType::F16), Some(DType::Bf16)];

/// The oracle.
pub fn frame_tensor(data: &[u8]) {
    let mut f = Fields(data);
    let mode = f.byte();
    let reinterpret = DTYPES[usize::from(f.byte() % 4)];
    let (info, address) = if mode % 2 == 0 {
        let ndim = usize::from(f.byte() % 8);
        let shape: Vec<i64> = (0..ndim).map(|_| f.dim()).collect();
        let strides = (f.byte() % 2 == 1).then(|| (0..ndim).map(|_| f.dim()).collect());
        let info = DlTensorInfo {
            device_type: DEVICE_TYPES[usize::from(f.byte() % 6)],
            device_id: i32::from(f.byte() as i8),
            code: f.byte() % 8,
            bits: f.byte(),
            lanes: u16::from(f.byte() % 3),
            shape,
            strides,
            byte_offset: if f.byte() % 4 == 0 {
                f.u64()
            } else {
                u64::from(f.byte())
            },
        };
        (info, f.u64())
    } else {
        let ndim = usize::from(f.byte() % 8);
        let typestr_len = usize::from(f.byte() % 6);
        let typestr: String = (0..typestr_len)
            .map(|_| b"<>|=fuicbM0124816x"[usize::from(f.byte()) % 18] as char)
            .collect();
        let shape: Vec<i64> = (0..ndim).map(|_| f.dim()).collect();
        let strides = (f.byte() % 2 == 1).then(|| (0..ndim).map(|_| f.dim()).collect());
        let interface = ArrayInterface {
            shape,
            typestr,
            address: f.u64(),
            strides,
            version: i64::from(f.byte() % 6) - 1,
            stream: match f.byte() % 4 {
                0 => None,
                1 => Some(0),
                2 => Some(i64::from(f.byte()) - 8),
                _ => Some(f.u64() as i64),
            },
            masked: f.byte() % 5 == 0,
        };
        let Ok((info, stream)) = interface.tensor_info() else {
            return;
        };
        assert_eq!(info.device_type, inferwarden_cuda::dlpack::DEVICE_CUDA);
        assert_eq!(info.device_id, -1);
        assert_ne!(stream, Some(0), "stream 0 is refused");
        // Element strides are the byte strides over the element size, exactly.
        if let (Some(bytes), Some(elements)) = (&interface.strides, &info.strides) {
            let size = i64::from(info.bits / 8);
            for (b, e) in bytes.iter().zip(elements) {
                assert_eq!(e * size, *b, "{:?}", interface.typestr);
            }
        }
        (info, interface.address)
    };
    let Ok(p) = plan(&info, reinterpret) else {
        return;
    };
    assert_eq!(p.shape.len(), 5);
    assert_eq!(
        p.shape,
        info.shape.iter().map(|&d| d as usize).collect::<Vec<_>>()
    );
    let elements = p.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    assert_eq!(
        elements.and_then(|n| n.checked_mul(element_size(p.dtype))),
        Some(p.byte_len)
    );
    assert!(p.byte_offset.checked_add(p.byte_len).is_some());
    if let Some(strides) = &info.strides {
        // Compact row-major wherever a dimension has more than one element.
        if !p.shape.contains(&0) {
            let mut expected = 1i64;
            for (&size, &stride) in p.shape.iter().zip(strides).rev() {
                if size != 1 {
                    assert_eq!(stride, expected, "{:?} {:?}", p.shape, strides);
                }
                expected = expected.saturating_mul(size as i64);
            }
        }
    }
    match (info.device_type, p.residence) {
        (1 | 3, Residence::Host) | (2 | 13, Residence::Device { .. }) => {}
        other => panic!("device type {} planned as {:?}", other.0, other.1),
    }
    for layout in [Layout::Ncthw, Layout::Ntchw] {
        let Ok(dims) = Dims::from_shape(&p.shape, layout) else {
            continue;
        };
        assert_eq!(
            dims.len()
                .and_then(|n| n.checked_mul(element_size(p.dtype))),
            Some(p.byte_len)
        );
        let tensor = DeviceTensor {
            address: address.wrapping_add(p.byte_offset as u64),
            byte_len: p.byte_len,
            ordinal: 0,
            producer_stream: None,
        };
        let checked = tensor.validate(p.dtype, layout, dims);
        let aligned = tensor.address.is_multiple_of(element_size(p.dtype) as u64);
        let has_data = p.byte_len == 0 || tensor.address != 0;
        // The kernels index frames, channels, time and pixels with 32-bit integers.
        let fits_u32 = |v: Option<usize>| v.is_some_and(|v| u32::try_from(v).is_ok());
        let fits = fits_u32(dims.n.checked_mul(dims.t))
            && fits_u32(Some(dims.c))
            && fits_u32(Some(dims.t))
            && fits_u32(dims.h.checked_mul(dims.w));
        assert_eq!(
            checked.is_ok(),
            aligned && has_data && fits,
            "{tensor:?} {dims:?}: {checked:?}"
        );
    }
    for device in [
        None,
        Some(FrameDevice::Cpu),
        Some(FrameDevice::Cuda),
        Some(FrameDevice::Auto),
    ] {
        for out in [FramesOut::Host, FramesOut::Device] {
            match (p.residence, place(p.residence, device, out)) {
                (Residence::Device { .. }, Ok(placed)) => {
                    assert_ne!(device, Some(FrameDevice::Cpu));
                    assert!(matches!(placed, Placement::OnTensorDevice { .. }));
                }
                (Residence::Host, Ok(placed)) => {
                    assert!(!matches!(placed, Placement::OnTensorDevice { .. }));
                    assert!(!(out == FramesOut::Device && placed == Placement::Cpu));
                }
                (_, Err(e)) => assert!(!e.message.is_empty()),
            }
        }
    }
}
