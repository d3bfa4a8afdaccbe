//! Frames from an object's `__cuda_array_interface__` (cupy, numba, torch): the dictionary's
//! entries are copied into `inferwarden_cuda::array_interface::ArrayInterface`, checked there
//! and by `inferwarden_cuda::dlpack::plan` (the checks a DLPack tensor gets), and the tensor is
//! converted on the GPU that holds it (the driver says which), read where it lies.

use inferwarden::{Error, ErrorCode};
use inferwarden_cuda::array_interface::ArrayInterface;
use inferwarden_cuda::device_frames::{place, DescribedDeviceTensor};
use inferwarden_cuda::dlpack::plan;
use inferwarden_cuda::frames::Dims;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyDictMethods};

use crate::device_frames::{convert_on_device, parse_args, Converted, FrameArgs};
use crate::errors::to_py_err;

fn invalid(py: Python<'_>, text: impl Into<std::borrow::Cow<'static, str>>) -> PyErr {
    to_py_err(py, Error::with_detail(ErrorCode::ValidationError, text))
}

/// The dictionary's entries, as plain values.
fn read_interface(py: Python<'_>, d: &Bound<'_, PyDict>) -> PyResult<ArrayInterface> {
    let entry = |name: &'static str| -> PyResult<Option<Bound<'_, PyAny>>> {
        Ok(d.get_item(name)?.filter(|v| !v.is_none()))
    };
    let bad = |name: &str, what: &str| {
        invalid(
            py,
            format!("__cuda_array_interface__[{name:?}] must be {what}"),
        )
    };
    let shape: Vec<i64> = entry("shape")?
        .ok_or_else(|| bad("shape", "a tuple of integers"))?
        .extract()
        .map_err(|_| bad("shape", "a tuple of integers"))?;
    let typestr: String = entry("typestr")?
        .ok_or_else(|| bad("typestr", "a string"))?
        .extract()
        .map_err(|_| bad("typestr", "a string"))?;
    let (address, _readonly): (u64, bool) = entry("data")?
        .ok_or_else(|| bad("data", "a tuple (address, read_only)"))?
        .extract()
        .map_err(|_| bad("data", "a tuple (address, read_only)"))?;
    let strides: Option<Vec<i64>> = entry("strides")?
        .map(|s| s.extract())
        .transpose()
        .map_err(|_| bad("strides", "None or a tuple of integers"))?;
    let version: i64 = entry("version")?
        .ok_or_else(|| bad("version", "an integer"))?
        .extract()
        .map_err(|_| bad("version", "an integer"))?;
    let stream: Option<i64> = entry("stream")?
        .map(|s| s.extract())
        .transpose()
        .map_err(|_| bad("stream", "None or an integer"))?;
    Ok(ArrayInterface {
        shape,
        typestr,
        address,
        strides,
        version,
        stream,
        masked: entry("mask")?.is_some(),
    })
}

/// Converts the device array an object's `__cuda_array_interface__` describes to `u8` frames
/// on the GPU that holds it; `dtype`, `out` and the result as `convert_frames_dlpack`
/// (`device` may be unset, `cuda` or `auto`: `cpu` cannot read device memory).
#[pyfunction]
#[pyo3(signature = (interface, dtype, layout, threads=0, device=None, out="host"))]
pub fn convert_frames_cuda_array<'py>(
    py: Python<'py>,
    interface: &Bound<'py, PyAny>,
    dtype: Option<&str>,
    layout: &str,
    threads: usize,
    device: Option<&str>,
    out: &str,
) -> PyResult<Converted<'py>> {
    let _ = threads;
    let FrameArgs {
        dtype: reinterpret,
        layout,
        device,
        out,
    } = parse_args(py, dtype, layout, device, out)?;
    let d = interface
        .cast::<PyDict>()
        .map_err(|_| invalid(py, "__cuda_array_interface__ must be a dict"))?;
    let described = read_interface(py, d)?;
    let (info, producer_stream) = described.tensor_info().map_err(|e| invalid(py, e.0))?;
    let p = plan(&info, reinterpret).map_err(|e| invalid(py, e.0))?;
    let dims = Dims::from_shape(&p.shape, layout).map_err(|e| invalid(py, e.0))?;
    p.require_data(described.address, "__cuda_array_interface__ array")
        .map_err(|e| invalid(py, e.0))?;
    place(p.residence, device, out).map_err(|e| to_py_err(py, Error::from(e)))?;
    let tensor = DescribedDeviceTensor {
        address: described.address,
        byte_len: p.byte_len,
        ordinal: None,
        producer_stream,
    };
    convert_on_device(py, tensor, p.dtype, layout, dims, out)
}
