//! What a DLPack tensor (torch, cupy, jax, numpy: anything with `__dlpack__`) holds, checked
//! for the frame path: where its memory is, its element type, its 5-D shape, and that it is
//! C-contiguous. A binding reads the producer's `DLTensor` into [`DlTensorInfo`] (plain
//! values: no pointer is followed here) and [`plan`] says how to read its bytes, or why they
//! cannot be read as frames.

use crate::frames::{element_size, DType, ShapeError};

/// `kDLCPU`: host memory.
pub const DEVICE_CPU: i32 = 1;
/// `kDLCUDA`: CUDA device memory.
pub const DEVICE_CUDA: i32 = 2;
/// `kDLCUDAHost`: pinned host memory (readable by the CPU).
pub const DEVICE_CUDA_HOST: i32 = 3;
/// `kDLCUDAManaged`: CUDA managed memory.
pub const DEVICE_CUDA_MANAGED: i32 = 13;

/// `kDLUInt`.
pub const CODE_UINT: u8 = 1;
/// `kDLFloat`.
pub const CODE_FLOAT: u8 = 2;
/// `kDLBfloat`.
pub const CODE_BFLOAT: u8 = 4;

/// The most dimensions a binding reads from a producer (a frame tensor has 5).
pub const MAX_NDIM: i32 = 32;

/// A `DLTensor`'s fields, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlTensorInfo {
    /// `device.device_type` (`kDLCPU`, `kDLCUDA`, ...).
    pub device_type: i32,
    /// `device.device_id`.
    pub device_id: i32,
    /// `dtype.code`.
    pub code: u8,
    /// `dtype.bits`.
    pub bits: u8,
    /// `dtype.lanes`.
    pub lanes: u16,
    /// `shape`, `ndim` entries.
    pub shape: Vec<i64>,
    /// `strides` in elements, `None` when the producer gave none (compact row-major).
    pub strides: Option<Vec<i64>>,
    /// `byte_offset` from `data` to the first element.
    pub byte_offset: u64,
}

/// Where a tensor's memory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Residence {
    /// Readable by the CPU (host or pinned host memory).
    Host,
    /// On a CUDA device (device or managed memory).
    Device {
        /// The device ordinal.
        ordinal: i32,
    },
}

/// How to read a tensor's bytes as frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramePlan {
    /// Where the memory is.
    pub residence: Residence,
    /// The element type the bytes are read as.
    pub dtype: DType,
    /// The shape (5-D, in the caller's layout order).
    pub shape: Vec<usize>,
    /// Offset of the first element from the data pointer.
    pub byte_offset: usize,
    /// Bytes from the first element to the end of the tensor.
    pub byte_len: usize,
}

impl FramePlan {
    /// Refuses a tensor whose data pointer (`address`, 0 for none) is null while the plan
    /// reads bytes: the one rule for DLPack and `__cuda_array_interface__` producers
    /// (`what` names the interface in the message). An empty tensor may have no pointer.
    pub fn require_data(&self, address: u64, what: &str) -> Result<(), ShapeError> {
        if self.byte_len > 0 && address == 0 {
            return Err(refuse(format!("{what} with no data")));
        }
        Ok(())
    }
}

fn refuse(text: String) -> ShapeError {
    ShapeError(text)
}

/// The element type of `info`; `reinterpret` reads the elements' bits as another type of the
/// same size (a `uint16` tensor of bfloat16 bit patterns, as the buffer path's `dtype`).
fn element_type(info: &DlTensorInfo, reinterpret: Option<DType>) -> Result<DType, ShapeError> {
    if info.lanes != 1 {
        return Err(refuse(format!(
            "DLPack vector elements ({} lanes) are not frame data",
            info.lanes
        )));
    }
    let own = match (info.code, info.bits) {
        (CODE_FLOAT, 32) => Some(DType::F32),
        (CODE_FLOAT, 16) => Some(DType::F16),
        (CODE_BFLOAT, 16) => Some(DType::Bf16),
        _ => None,
    };
    match (own, reinterpret) {
        (Some(own), None) => Ok(own),
        (_, Some(wanted)) if usize::from(info.bits) == element_size(wanted) * 8 => {
            if own.is_some() || info.code == CODE_UINT {
                Ok(wanted)
            } else {
                Err(refuse(format!(
                    "DLPack dtype code {} ({} bits) cannot be read as {wanted:?}",
                    info.code, info.bits
                )))
            }
        }
        (_, Some(wanted)) => Err(refuse(format!(
            "a {}-bit element cannot be read as {wanted:?} ({} bits)",
            info.bits,
            element_size(wanted) * 8
        ))),
        (None, None) => Err(refuse(format!(
            "DLPack dtype code {} with {} bits is not float32, float16 or bfloat16",
            info.code, info.bits
        ))),
    }
}

/// Whether `strides` (in elements) are the compact row-major strides of `shape`. A
/// dimension of size 1 may carry any stride (producers differ there); an empty tensor is
/// compact whatever its strides.
fn row_major(shape: &[usize], strides: &[i64]) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected: i64 = 1;
    for (&size, &stride) in shape.iter().zip(strides).rev() {
        if size != 1 && stride != expected {
            return false;
        }
        expected = match expected.checked_mul(size as i64) {
            Some(e) => e,
            None => return false,
        };
    }
    true
}

/// Checks `info` and says how to read its bytes as a 5-D frame tensor.
pub fn plan(info: &DlTensorInfo, reinterpret: Option<DType>) -> Result<FramePlan, ShapeError> {
    let residence = match info.device_type {
        DEVICE_CPU | DEVICE_CUDA_HOST => Residence::Host,
        DEVICE_CUDA | DEVICE_CUDA_MANAGED => Residence::Device {
            ordinal: info.device_id,
        },
        other => {
            return Err(refuse(format!(
                "DLPack device type {other} is not supported (CPU or CUDA memory)"
            )))
        }
    };
    let dtype = element_type(info, reinterpret)?;
    if info.shape.len() != 5 {
        return Err(refuse(format!(
            "expected a 5-D tensor, got {} dimensions",
            info.shape.len()
        )));
    }
    let shape = info
        .shape
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| refuse(format!("negative dimension {d}"))))
        .collect::<Result<Vec<usize>, _>>()?;
    if let Some(strides) = &info.strides {
        if strides.len() != shape.len() || !row_major(&shape, strides) {
            return Err(refuse(
                "the tensor is not C-contiguous: make it contiguous first (torch: \
                 `.contiguous()`, numpy: `np.ascontiguousarray`)"
                    .to_owned(),
            ));
        }
    }
    let byte_len = shape
        .iter()
        .try_fold(element_size(dtype), |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| refuse("the tensor's size overflows".to_owned()))?;
    let byte_offset = usize::try_from(info.byte_offset)
        .map_err(|_| refuse("the tensor's byte offset overflows".to_owned()))?;
    byte_offset
        .checked_add(byte_len)
        .ok_or_else(|| refuse("the tensor's end overflows".to_owned()))?;
    Ok(FramePlan {
        residence,
        dtype,
        shape,
        byte_offset,
        byte_len,
    })
}
