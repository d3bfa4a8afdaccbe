//! Frames from a DLPack capsule (`tensor.__dlpack__()`: torch, cupy, jax, numpy): the
//! producer's `DLTensor` is read into plain values, checked by
//! `inferwarden_cuda::dlpack::plan`, and a tensor in host memory is converted where it lies,
//! with no copy. The capsule is only borrowed: it stays named `dltensor`, so the producer's
//! own destructor frees the tensor when the capsule goes.
//!
//! A tensor in CUDA device memory is converted on its own GPU, read where it lies (see
//! [`crate::device_frames`]); without a usable GPU that is `dependency_unavailable`.

use std::ffi::c_void;

use inferwarden::{Error, ErrorCode};
use inferwarden_cuda::device_frames::{place, DescribedDeviceTensor};
use inferwarden_cuda::dlpack::{plan, DlTensorInfo, Residence, MAX_NDIM};
use inferwarden_cuda::frames::Dims;
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyCapsuleMethods};

use crate::device_frames::{convert_host, convert_on_device, parse_args, Converted, FrameArgs};
use crate::errors::to_py_err;

/// `DLDevice`.
#[repr(C)]
pub(crate) struct DlDevice {
    pub(crate) device_type: i32,
    pub(crate) device_id: i32,
}

/// `DLDataType`.
#[repr(C)]
pub(crate) struct DlDataType {
    pub(crate) code: u8,
    pub(crate) bits: u8,
    pub(crate) lanes: u16,
}

/// `DLTensor`.
#[repr(C)]
pub(crate) struct DlTensor {
    pub(crate) data: *mut c_void,
    pub(crate) device: DlDevice,
    pub(crate) ndim: i32,
    pub(crate) dtype: DlDataType,
    pub(crate) shape: *mut i64,
    pub(crate) strides: *mut i64,
    pub(crate) byte_offset: u64,
}

/// `DLManagedTensor` (the legacy, unversioned capsule `dltensor`): read from a producer's
/// capsule here, written for the capsules `DeviceFrames` exports.
#[repr(C)]
pub(crate) struct DlManagedTensor {
    pub(crate) dl_tensor: DlTensor,
    pub(crate) manager_ctx: *mut c_void,
    pub(crate) deleter: Option<unsafe extern "C" fn(*mut DlManagedTensor)>,
}

// The DLPack ABI on 64-bit targets (dlpack.h): a `DLTensor` is 48 bytes and a
// `DLManagedTensor` 64, with the tensor first.
const _: () = assert!(std::mem::size_of::<DlTensor>() == 48);
const _: () = assert!(std::mem::size_of::<DlManagedTensor>() == 64);
const _: () = assert!(std::mem::offset_of!(DlTensor, device) == 8);
const _: () = assert!(std::mem::offset_of!(DlTensor, dtype) == 20);
const _: () = assert!(std::mem::offset_of!(DlTensor, byte_offset) == 40);
const _: () = assert!(std::mem::offset_of!(DlManagedTensor, deleter) == 56);

fn invalid(py: Python<'_>, text: impl Into<std::borrow::Cow<'static, str>>) -> PyErr {
    to_py_err(py, Error::with_detail(ErrorCode::ValidationError, text))
}

/// The tensor of a `dltensor` capsule, as plain values, and its data pointer.
fn tensor_info(py: Python<'_>, capsule: &Bound<'_, PyAny>) -> PyResult<(DlTensorInfo, *const u8)> {
    let refused = || {
        invalid(
            py,
            "expected an unused DLPack capsule named `dltensor` (from `__dlpack__()`)",
        )
    };
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| refused())?;
    let pointer = capsule
        .pointer_checked(Some(c"dltensor"))
        .map_err(|_| refused())?;
    // SAFETY: a `dltensor` capsule holds a `DLManagedTensor` that its producer keeps valid
    // while the capsule is alive and unused; the capsule is borrowed for this whole call.
    let t = unsafe { &pointer.cast::<DlManagedTensor>().as_ref().dl_tensor };
    if !(0..=MAX_NDIM).contains(&t.ndim) || (t.ndim > 0 && t.shape.is_null()) {
        return Err(invalid(py, format!("DLPack tensor with ndim {}", t.ndim)));
    }
    let ndim = t.ndim as usize;
    // SAFETY: `shape` (and `strides` when not null) point at `ndim` values (DLPack).
    let shape = unsafe { std::slice::from_raw_parts(t.shape, ndim) }.to_vec();
    let strides = (!t.strides.is_null())
        .then(|| unsafe { std::slice::from_raw_parts(t.strides, ndim) }.to_vec());
    let info = DlTensorInfo {
        device_type: t.device.device_type,
        device_id: t.device.device_id,
        code: t.dtype.code,
        bits: t.dtype.bits,
        lanes: t.dtype.lanes,
        shape,
        strides,
        byte_offset: t.byte_offset,
    };
    Ok((info, t.data as *const u8))
}

/// Converts the tensor of a DLPack capsule to `u8` frames: host memory on `device` (`cpu`,
/// `cuda` or `auto`; unset: `cpu`), device memory on its own GPU. `dtype` reads its elements'
/// bits as another type of the same size (a `uint16` tensor of bfloat16 bit patterns); `out`
/// is `host` (a `bytearray`) or `device` (a `DeviceFrames`). Returns
/// `(frames, out_shape, ran_on)`, as `convert_frames`.
#[pyfunction]
#[pyo3(signature = (capsule, dtype, layout, threads=0, device=None, out="host"))]
pub fn convert_frames_dlpack<'py>(
    py: Python<'py>,
    capsule: &Bound<'py, PyAny>,
    dtype: Option<&str>,
    layout: &str,
    threads: usize,
    device: Option<&str>,
    out: &str,
) -> PyResult<Converted<'py>> {
    let FrameArgs {
        dtype: reinterpret,
        layout,
        device,
        out,
    } = parse_args(py, dtype, layout, device, out)?;
    let (info, data) = tensor_info(py, capsule)?;
    let p = plan(&info, reinterpret).map_err(|e| invalid(py, e.0))?;
    let dims = Dims::from_shape(&p.shape, layout).map_err(|e| invalid(py, e.0))?;
    p.require_data(data as u64, "DLPack tensor")
        .map_err(|e| invalid(py, e.0))?;
    if let Residence::Device { ordinal } = p.residence {
        // Refused here when `device` is `cpu`; otherwise converted on the tensor's GPU.
        place(p.residence, device, out).map_err(|e| to_py_err(py, Error::from(e)))?;
        let tensor = DescribedDeviceTensor {
            address: (data as u64).wrapping_add(p.byte_offset as u64),
            byte_len: p.byte_len,
            ordinal: usize::try_from(ordinal).ok(),
            // The caller asked the producer for the stream the kernels run on (DLPack's
            // `stream=1`, the legacy default stream): nothing more to wait for.
            producer_stream: None,
        };
        return convert_on_device(py, tensor, p.dtype, layout, dims, out);
    }
    let bytes: &[u8] = if p.byte_len == 0 {
        &[]
    } else {
        // SAFETY: the tensor is in host memory, C-contiguous (checked by `plan`), and holds
        // `byte_len` bytes from `data + byte_offset`; the capsule (and with it the producer's
        // tensor) is borrowed and the GIL held for the whole conversion, so it is neither
        // freed nor resized meanwhile (the worker threads never touch Python).
        unsafe { std::slice::from_raw_parts(data.add(p.byte_offset), p.byte_len) }
    };
    convert_host(py, bytes, p.dtype, layout, dims, device, out, threads)
}
