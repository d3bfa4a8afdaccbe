//! Frames from a DLPack capsule (`tensor.__dlpack__()`: torch, cupy, jax, numpy): the
//! producer's `DLTensor` is read into plain values, checked by
//! `inferwarden_cuda::dlpack::plan`, and a tensor in host memory is converted where it lies,
//! with no copy. The capsule is only borrowed: it stays named `dltensor`, so the producer's
//! own destructor frees the tensor when the capsule goes.
//!
//! A tensor in CUDA device memory is refused (`dependency_unavailable`): converting it on
//! the device needs the GPU path to take device pointers, which is not built yet.

use std::ffi::c_void;

use inferwarden::{Error, ErrorCode};
use inferwarden_cuda::dlpack::{plan, DlTensorInfo, Residence, MAX_NDIM};
use inferwarden_cuda::frames::{DType, Dims, Layout};
use inferwarden_cuda::gpu::{convert_frames_on, FrameDevice};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyCapsule, PyCapsuleMethods};

use crate::errors::to_py_err;

/// `DLDevice`.
#[repr(C)]
struct DlDevice {
    device_type: i32,
    device_id: i32,
}

/// `DLDataType`.
#[repr(C)]
struct DlDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

/// `DLTensor`.
#[repr(C)]
struct DlTensor {
    data: *mut c_void,
    device: DlDevice,
    ndim: i32,
    dtype: DlDataType,
    shape: *const i64,
    strides: *const i64,
    byte_offset: u64,
}

/// `DLManagedTensor` (the legacy, unversioned capsule `dltensor`); only its tensor is read.
#[repr(C)]
struct DlManagedTensor {
    dl_tensor: DlTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DlManagedTensor)>,
}

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

/// Converts the tensor of a DLPack capsule to `u8` frames on `device` (`cpu`, `cuda` or
/// `auto`); `dtype` reads its elements' bits as another type of the same size (a `uint16`
/// tensor of bfloat16 bit patterns). Returns `(bytearray, out_shape, ran_on)`, as
/// `convert_frames`.
#[pyfunction]
#[pyo3(signature = (capsule, dtype, layout, threads=0, device="cpu"))]
pub fn convert_frames_dlpack<'py>(
    py: Python<'py>,
    capsule: &Bound<'py, PyAny>,
    dtype: Option<&str>,
    layout: &str,
    threads: usize,
    device: &str,
) -> PyResult<(Bound<'py, PyByteArray>, [usize; 5], &'static str)> {
    let reinterpret = dtype
        .map(|d| {
            DType::from_name(d)
                .ok_or_else(|| invalid(py, "dtype must be float32, float16 or bfloat16"))
        })
        .transpose()?;
    let layout =
        Layout::from_name(layout).ok_or_else(|| invalid(py, "layout must be NCTHW or NTCHW"))?;
    let device = FrameDevice::from_name(device)
        .ok_or_else(|| invalid(py, "device must be cpu, cuda or auto"))?;
    let (info, data) = tensor_info(py, capsule)?;
    let p = plan(&info, reinterpret).map_err(|e| invalid(py, e.0))?;
    if let Residence::Device { ordinal } = p.residence {
        return Err(to_py_err(
            py,
            Error::with_detail(
                ErrorCode::DependencyUnavailable,
                format!(
                    "the tensor is in CUDA device memory (device {ordinal}); converting it \
                     on the device is not available in this version: move it to host memory \
                     first (torch: `.cpu()`)"
                ),
            )
            .meta("reason", "device_tensor"),
        ));
    }
    let dims = Dims::from_shape(&p.shape, layout).map_err(|e| invalid(py, e.0))?;
    if p.byte_len > 0 && data.is_null() {
        return Err(invalid(py, "DLPack tensor with no data"));
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
    let len = dims.len().ok_or_else(|| invalid(py, "shape overflows"))?;
    let mut ran_on = "cpu";
    let out = PyByteArray::new_with(py, len, |buf| {
        ran_on = convert_frames_on(device, bytes, p.dtype, layout, dims, buf, threads)
            .map_err(|e| to_py_err(py, Error::from(e)))?;
        Ok(())
    })?;
    Ok((out, dims.output_shape(), ran_on))
}
