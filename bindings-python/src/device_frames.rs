//! Where a frame conversion runs and where its frames go, for every way a tensor comes in
//! (a buffer, a DLPack capsule, a `__cuda_array_interface__`): the placement is decided by
//! `inferwarden_cuda::device_frames::place`; this module runs it and wraps the result.
//!
//! Frames kept on the GPU (`out="device"`) are a `DeviceFrames` object: `__dlpack__` /
//! `__dlpack_device__` (so `torch.from_dlpack(frames)` reads them in place) and
//! `__cuda_array_interface__` (cupy, numba). The device buffer lives while the object or any
//! capsule it handed out is alive.

#![allow(unsafe_code)]

use std::ffi::{c_void, CStr};
use std::sync::Arc;

use inferwarden::{Error, ErrorCode};
use inferwarden_cuda::device_frames::{
    convert_device_memory, convert_host_tensor, Converted as CoreConverted, DescribedDeviceTensor,
    DeviceFrames, FramesDestination, FramesOut,
};
use inferwarden_cuda::dlpack::DEVICE_CUDA;
use inferwarden_cuda::frames::{DType, Dims, Layout};
use inferwarden_cuda::gpu::{FrameDevice, GpuError};
use pyo3::exceptions::PyBufferError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyDict, PyTuple};

use crate::dlpack::{DlDataType, DlDevice, DlManagedTensor, DlTensor};
use crate::errors::to_py_err;

/// What a conversion hands back: `(frames, out_shape, ran_on)`, `frames` a `bytearray` or a
/// `DeviceFrames`.
pub type Converted<'py> = (Bound<'py, PyAny>, [usize; 5], &'static str);

fn gpu_err(py: Python<'_>, e: GpuError) -> PyErr {
    to_py_err(py, Error::from(e))
}

/// The arguments every frame entry point takes, parsed.
pub struct FrameArgs {
    /// The element type asked for (`dtype=`), when given.
    pub dtype: Option<DType>,
    /// The input's layout.
    pub layout: Layout,
    /// Where a host tensor runs (`None`: unset).
    pub device: Option<FrameDevice>,
    /// Where the frames go.
    pub out: FramesOut,
}

/// Parses `dtype`, `layout`, `device` and `out`; each bad value is `validation_error`.
pub fn parse_args(
    py: Python<'_>,
    dtype: Option<&str>,
    layout: &str,
    device: Option<&str>,
    out: &str,
) -> PyResult<FrameArgs> {
    let invalid = |m: &str| {
        to_py_err(
            py,
            Error::with_detail(ErrorCode::ValidationError, m.to_owned()),
        )
    };
    Ok(FrameArgs {
        dtype: dtype
            .map(|d| {
                DType::from_name(d)
                    .ok_or_else(|| invalid("dtype must be float32, float16 or bfloat16"))
            })
            .transpose()?,
        layout: Layout::from_name(layout)
            .ok_or_else(|| invalid("layout must be NCTHW or NTCHW"))?,
        device: device
            .map(|d| {
                FrameDevice::from_name(d).ok_or_else(|| invalid("device must be cpu, cuda or auto"))
            })
            .transpose()?,
        out: FramesOut::from_name(out).ok_or_else(|| invalid("out must be host or device"))?,
    })
}

/// Runs a core conversion into the Python container `out` asks for: a `bytearray` the
/// frames are written into, or a `DeviceFrames` around the device buffer.
fn into_python<'py>(
    py: Python<'py>,
    dims: Dims,
    out: FramesOut,
    convert: impl FnOnce(FramesDestination<'_>) -> Result<CoreConverted, GpuError>,
) -> PyResult<Converted<'py>> {
    let shape = dims.output_shape();
    let mismatch = || {
        to_py_err(
            py,
            Error::with_detail(
                ErrorCode::InternalError,
                "the frame conversion returned another destination than asked",
            ),
        )
    };
    match out {
        FramesOut::Device => {
            match convert(FramesDestination::Device).map_err(|e| gpu_err(py, e))? {
                CoreConverted::OnDevice(frames) => {
                    let obj = Bound::new(py, PyDeviceFrames::new(frames, shape))?;
                    Ok((obj.into_any(), shape, "cuda"))
                }
                CoreConverted::InHost { .. } => Err(mismatch()),
            }
        }
        FramesOut::Host => {
            let len = dims.len().ok_or_else(|| {
                to_py_err(
                    py,
                    Error::with_detail(ErrorCode::ValidationError, "shape overflows"),
                )
            })?;
            let mut ran_on = "cpu";
            let frames = PyByteArray::new_with(py, len, |buf| {
                match convert(FramesDestination::Host(buf)).map_err(|e| gpu_err(py, e))? {
                    CoreConverted::InHost { ran_on: ran } => ran_on = ran,
                    CoreConverted::OnDevice(_) => return Err(mismatch()),
                }
                Ok(())
            })?;
            Ok((frames.into_any(), shape, ran_on))
        }
    }
}

/// Converts a tensor in host memory (`bytes`, checked against `dims` by the conversion).
#[allow(clippy::too_many_arguments)]
pub fn convert_host<'py>(
    py: Python<'py>,
    bytes: &[u8],
    dtype: DType,
    layout: Layout,
    dims: Dims,
    device: Option<FrameDevice>,
    out: FramesOut,
    threads: usize,
) -> PyResult<Converted<'py>> {
    into_python(py, dims, out, |destination| {
        convert_host_tensor(bytes, dtype, layout, dims, device, destination, threads)
    })
}

/// Converts a tensor in CUDA device memory on its own device.
pub fn convert_on_device<'py>(
    py: Python<'py>,
    tensor: DescribedDeviceTensor,
    dtype: DType,
    layout: Layout,
    dims: Dims,
    out: FramesOut,
) -> PyResult<Converted<'py>> {
    into_python(py, dims, out, |destination| {
        convert_device_memory(&tensor, dtype, layout, dims, destination)
    })
}

/// `u8` frames (`N,T,H,W,C`) kept in GPU memory by `frames_to_u8(..., out="device")`.
/// Hand them to torch with `torch.from_dlpack(frames)` or to cupy with
/// `cupy.asarray(frames)`; `copy_to_host()` copies them into a `bytearray`.
#[pyclass(name = "DeviceFrames", module = "inferwarden._native", frozen)]
pub struct PyDeviceFrames {
    frames: Arc<DeviceFrames>,
    shape: [usize; 5],
}

impl PyDeviceFrames {
    fn new(frames: DeviceFrames, shape: [usize; 5]) -> Self {
        PyDeviceFrames {
            frames: Arc::new(frames),
            shape,
        }
    }
}

/// What one exported capsule owns: the tensor description, its shape, and a reference that
/// keeps the device buffer alive until the consumer calls the deleter.
#[repr(C)]
struct Exported {
    managed: DlManagedTensor,
    shape: [i64; 5],
    owner: Arc<DeviceFrames>,
}

// The deleter finds the box from the tensor's address only because the tensor comes first.
const _: () = assert!(std::mem::offset_of!(Exported, managed) == 0);

/// The `DLManagedTensor` deleter: frees what [`Exported`] holds (and with the last reference,
/// the device buffer).
unsafe extern "C" fn delete_exported(managed: *mut DlManagedTensor) {
    if managed.is_null() {
        return;
    }
    // SAFETY: every `DLManagedTensor` with this deleter is the first field of a leaked
    // `Box<Exported>` (repr(C)), whose address `manager_ctx` holds; it is called once, by
    // the consumer or by the capsule's destructor, never both (DLPack).
    unsafe { drop(Box::from_raw((*managed).manager_ctx.cast::<Exported>())) };
}

const DLTENSOR: &CStr = c"dltensor";

/// The capsule's destructor: a capsule never consumed (still named `dltensor`) frees its
/// tensor; a consumed one (renamed `used_dltensor`) belongs to its consumer.
unsafe extern "C" fn capsule_destructor(capsule: *mut pyo3::ffi::PyObject) {
    // SAFETY: called by Python with the capsule being destroyed and the GIL held.
    unsafe {
        // `PyCapsule_IsValid` sets no error; with the name checked, `GetPointer` sets none.
        if pyo3::ffi::PyCapsule_IsValid(capsule, DLTENSOR.as_ptr()) == 1 {
            let managed = pyo3::ffi::PyCapsule_GetPointer(capsule, DLTENSOR.as_ptr())
                .cast::<DlManagedTensor>();
            if !managed.is_null() {
                if let Some(deleter) = (*managed).deleter {
                    deleter(managed);
                }
            }
        }
    }
}

#[pymethods]
impl PyDeviceFrames {
    /// `(N, T, H, W, C)`.
    #[getter]
    fn shape(&self) -> (usize, usize, usize, usize, usize) {
        let [n, t, h, w, c] = self.shape;
        (n, t, h, w, c)
    }

    /// Bytes held.
    #[getter]
    fn nbytes(&self) -> usize {
        self.frames.len()
    }

    /// The CUDA device the frames are on.
    #[getter]
    fn device_id(&self) -> usize {
        self.frames.ordinal()
    }

    /// `(kDLCUDA, device)`.
    fn __dlpack_device__(&self) -> (i32, i32) {
        (DEVICE_CUDA, self.frames.ordinal() as i32)
    }

    /// A `dltensor` capsule over the frames (`uint8`, C-contiguous, `N,T,H,W,C`). The frames
    /// were complete when this object was made, so any consumer stream may read them at once.
    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__<'py>(
        &self,
        py: Python<'py>,
        stream: Option<i64>,
        max_version: Option<(i64, i64)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let _ = (stream, max_version);
        if let Some(device) = dl_device {
            if device != self.__dlpack_device__() {
                return Err(PyBufferError::new_err(format!(
                    "the frames are on CUDA device {}; exporting to device {device:?} needs a copy \
                     (copy_to_host() for the host)",
                    self.frames.ordinal()
                )));
            }
        }
        if copy == Some(true) {
            return Err(PyBufferError::new_err(
                "DeviceFrames exports its own buffer; copy=True is not supported",
            ));
        }
        let exported = Box::new(Exported {
            managed: DlManagedTensor {
                dl_tensor: DlTensor {
                    data: self.frames.address() as *mut c_void,
                    device: DlDevice {
                        device_type: DEVICE_CUDA,
                        device_id: self.frames.ordinal() as i32,
                    },
                    ndim: 5,
                    dtype: DlDataType {
                        code: inferwarden_cuda::dlpack::CODE_UINT,
                        bits: 8,
                        lanes: 1,
                    },
                    shape: std::ptr::null_mut(),
                    strides: std::ptr::null_mut(),
                    byte_offset: 0,
                },
                manager_ctx: std::ptr::null_mut(),
                deleter: Some(delete_exported),
            },
            shape: self.shape.map(|d| d as i64),
            owner: Arc::clone(&self.frames),
        });
        let raw = Box::into_raw(exported);
        // SAFETY: `raw` is a live, leaked box (it does not move): its tensor's shape points
        // into itself, and `manager_ctx` lets the deleter find the box again.
        unsafe {
            (*raw).managed.dl_tensor.shape = std::ptr::addr_of_mut!((*raw).shape).cast::<i64>();
            (*raw).managed.manager_ctx = raw.cast();
        }
        // SAFETY: the pointer is the `DLManagedTensor` at the start of `raw`; the capsule
        // owns it until a consumer renames the capsule and takes it (DLPack).
        let capsule = unsafe {
            pyo3::ffi::PyCapsule_New(
                raw.cast::<c_void>(),
                DLTENSOR.as_ptr(),
                Some(capsule_destructor),
            )
        };
        if capsule.is_null() {
            // SAFETY: no capsule took `raw`: free it here.
            unsafe { delete_exported(raw.cast()) };
            return Err(PyErr::fetch(py));
        }
        // SAFETY: `PyCapsule_New` returned a new reference.
        Ok(unsafe { Bound::from_owned_ptr(py, capsule) })
    }

    /// The `__cuda_array_interface__` (version 3) of the frames: `uint8`, C-contiguous; no
    /// stream to wait for (the frames are complete).
    #[getter]
    fn __cuda_array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("shape", PyTuple::new(py, self.shape)?)?;
        d.set_item("typestr", "|u1")?;
        d.set_item("data", (self.frames.address(), false))?;
        d.set_item("strides", py.None())?;
        d.set_item("version", 3)?;
        d.set_item("stream", py.None())?;
        Ok(d)
    }

    /// Copies the frames to host memory.
    fn copy_to_host<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyByteArray>> {
        PyByteArray::new_with(py, self.frames.len(), |buf| {
            self.frames.copy_to_host(buf).map_err(|e| gpu_err(py, e))
        })
    }

    fn __repr__(&self) -> String {
        let [n, t, h, w, c] = self.shape;
        format!(
            "DeviceFrames(shape=({n}, {t}, {h}, {w}, {c}), dtype=uint8, device=cuda:{})",
            self.frames.ordinal()
        )
    }
}
