//! `framesToU8(data, shape, options)`: decoded diffusion output in `[-1, 1]` to `u8` frames
//! `N,T,H,W,C`, on the CPU or the CUDA kernel (same bytes either way), and
//! `framesGpuStatus()`. The conversion itself is in `inferwarden-cuda`.

use inferwarden::{Error, ErrorCode};
use inferwarden_cuda::frames::{DType, Dims, Layout};
use inferwarden_cuda::gpu::{convert_frames_on, FrameDevice};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::guard;

/// Options of `framesToU8`.
#[napi(object)]
pub struct FramesOptions {
    /// `float32`, `float16` or `bfloat16`. A Float32Array is `float32`; a Uint16Array (the
    /// 16-bit patterns) or a Uint8Array/Buffer (raw little-endian bytes) must say which.
    pub dtype: Option<String>,
    /// `NCTHW` (default) or `NTCHW`.
    pub layout: Option<String>,
    /// CPU threads; 0 or absent uses every core.
    pub threads: Option<u32>,
    /// `cpu` (default), `cuda` (error `dependency_unavailable` without a usable GPU) or
    /// `auto` (the GPU when its kernels load, else the CPU).
    pub device: Option<String>,
}

/// The converted frames.
#[napi(object)]
pub struct Frames {
    /// `N*T*H*W*C` bytes, `N,T,H,W,C` order.
    pub data: Buffer,
    /// `[N, T, H, W, C]`.
    pub shape: Vec<u32>,
    /// Where the conversion ran: `cpu` or `cuda`.
    pub device: String,
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::with_detail(ErrorCode::ValidationError, detail.into())
}

fn dtype_of(array: TypedArrayType, named: Option<&str>) -> std::result::Result<DType, Error> {
    let named = named
        .map(|n| {
            DType::from_name(n).ok_or_else(|| invalid("dtype must be float32, float16 or bfloat16"))
        })
        .transpose()?;
    match (array, named) {
        (TypedArrayType::Float32, None | Some(DType::F32)) => Ok(DType::F32),
        (TypedArrayType::Float32, Some(_)) => Err(invalid("a Float32Array holds float32 values")),
        (TypedArrayType::Uint16, Some(d @ (DType::F16 | DType::Bf16))) => Ok(d),
        (TypedArrayType::Uint16, _) => Err(invalid(
            "a Uint16Array holds 16-bit patterns: pass dtype float16 or bfloat16",
        )),
        (TypedArrayType::Uint8, Some(d)) => Ok(d),
        (TypedArrayType::Uint8, None) => Err(invalid(
            "raw bytes (Uint8Array or Buffer) need a dtype: float32, float16 or bfloat16",
        )),
        _ => Err(invalid(
            "data must be a Float32Array, a Uint16Array, a Uint8Array or a Buffer",
        )),
    }
}

/// Converts a 5-D tensor to `u8` frames: `round_half_even(clamp((x + 1) / 2, 0, 1) * 255)`,
/// NaN -> 0. `shape` is in `layout` order. Throws `validation_error` for a bad shape, dtype
/// or device name, `dependency_unavailable` when `device: 'cuda'` finds no usable GPU and
/// `gpu_memory_exceeded` when the device runs out of memory.
#[napi]
pub fn frames_to_u8(
    env: Env,
    data: TypedArray,
    shape: Vec<u32>,
    options: Option<FramesOptions>,
) -> napi::Result<Frames> {
    guard(&env, || {
        let options = options.unwrap_or(FramesOptions {
            dtype: None,
            layout: None,
            threads: None,
            device: None,
        });
        let dtype = dtype_of(data.typed_array_type, options.dtype.as_deref())?;
        let layout = Layout::from_name(options.layout.as_deref().unwrap_or("NCTHW"))
            .ok_or_else(|| invalid("layout must be NCTHW or NTCHW"))?;
        let device = FrameDevice::from_name(options.device.as_deref().unwrap_or("cpu"))
            .ok_or_else(|| invalid("device must be cpu, cuda or auto"))?;
        let shape: Vec<usize> = shape.iter().map(|d| *d as usize).collect();
        let dims = Dims::from_shape(&shape, layout).map_err(|e| invalid(e.0))?;
        let len = dims.len().ok_or_else(|| invalid("shape overflows"))?;
        let mut out = vec![0u8; len];
        let ran_on = convert_frames_on(
            device,
            &data.arraybuffer,
            dtype,
            layout,
            dims,
            &mut out,
            options.threads.unwrap_or(0) as usize,
        )?;
        Ok(Frames {
            data: Buffer::from(out),
            shape: dims.output_shape().iter().map(|d| *d as u32).collect(),
            device: ran_on.to_owned(),
        })
    })
}

/// Whether the GPU frame path is usable: `{ available, device, arch, reason }`. Loads the
/// kernels on device 0 on first use.
#[napi]
pub fn frames_gpu_status() -> serde_json::Value {
    serde_json::to_value(inferwarden_cuda::gpu::status()).unwrap_or_default()
}
