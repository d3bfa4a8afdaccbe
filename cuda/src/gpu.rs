//! Frame post-processing on a CUDA device: the kernels of `cuda/kernels/frames.cu`, compiled
//! by NVRTC for the device's compute capability (cached per architecture), loaded once per
//! process and launched on the device's primary context.
//!
//! [`GpuFrames::convert`] copies host bytes to the device, runs the kernel and copies the
//! frames back; [`GpuFrames::convert_on_device`] works on device buffers (what a worker that
//! already holds the decoded tensor on the GPU uses, and what the throughput benchmark
//! times). Results are bit-identical to the CPU path ([`crate::frames::convert_frames`]).
//!
//! No driver, no device, no NVRTC or an old device is a [`GpuError`] with a kind, never a
//! panic: cudarc panics on the first driver call when `libcuda` is absent, so presence is
//! checked first and set-up runs under `catch_unwind`.

#![allow(unsafe_code)]

use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, DriverError, LaunchConfig, PushKernelArg,
};
use serde::Serialize;

use crate::frames::{convert_frames, element_size, DType, Dims, Layout};
use crate::kernels::{arch_for_capability, compile_frames};
use crate::probe::driver_present;

/// Why a GPU conversion could not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpuErrorKind {
    /// No driver, no device, or the driver failed to initialise.
    NoDevice,
    /// The device is older than sm_75, or NVRTC is missing or failed.
    Unsupported,
    /// The device ran out of memory for the buffers.
    OutOfMemory,
    /// Any other driver failure.
    Driver,
    /// The input does not match its shape.
    Shape,
}

/// A GPU path failure; `message` is for humans and carries no data from the tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuError {
    /// What went wrong.
    pub kind: GpuErrorKind,
    /// Human-readable detail.
    pub message: String,
}

impl GpuError {
    pub(crate) fn new(kind: GpuErrorKind, message: impl Into<String>) -> Self {
        GpuError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn driver(what: &str, e: DriverError) -> Self {
        let kind = if e.0 == cudarc::driver::sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY {
            GpuErrorKind::OutOfMemory
        } else {
            GpuErrorKind::Driver
        };
        GpuError::new(kind, format!("{what}: {e:?}"))
    }
}

impl fmt::Display for GpuError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for GpuError {}

/// The error contract's code for each kind: a bad shape is the caller's `validation_error`,
/// device memory exhausted is `gpu_memory_exceeded`, and a missing, unsupported or failing
/// device is `dependency_unavailable` (the GPU is a dependency the call needed).
impl From<GpuError> for inferwarden::Error {
    fn from(e: GpuError) -> Self {
        use inferwarden::ErrorCode;
        let code = match e.kind {
            GpuErrorKind::Shape => ErrorCode::ValidationError,
            GpuErrorKind::OutOfMemory => ErrorCode::GpuMemoryExceeded,
            GpuErrorKind::NoDevice | GpuErrorKind::Unsupported | GpuErrorKind::Driver => {
                ErrorCode::DependencyUnavailable
            }
        };
        inferwarden::Error::with_detail(code, e.message)
    }
}

/// Threads per block of every frame kernel.
const BLOCK: u32 = 256;
/// Largest grid y dimension; more frames are walked with a stride.
const MAX_GRID_Y: u32 = 65_535;

/// The frame kernels loaded on one device.
pub struct GpuFrames {
    stream: Arc<CudaStream>,
    ordinal: usize,
    arch: &'static str,
    name: String,
    /// `frames_<t>_to_u8`, indexed by [`dtype_index`].
    any_shape: [CudaFunction; 3],
    /// `frames_<t>_rgb4`, indexed by [`dtype_index`].
    rgb4: [CudaFunction; 3],
    /// One conversion at a time per device: the buffers of two large clips at once could
    /// exhaust memory that one at a time fits in.
    busy: Mutex<()>,
}

impl fmt::Debug for GpuFrames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GpuFrames")
            .field("device", &self.name)
            .field("arch", &self.arch)
            .finish()
    }
}

fn dtype_index(dtype: DType) -> usize {
    match dtype {
        DType::F32 => 0,
        DType::F16 => 1,
        DType::Bf16 => 2,
    }
}

/// Kernel geometry for a validated shape.
pub(crate) struct Geometry {
    frames: u32,
    c: u32,
    t: u32,
    hw: u32,
    layout: i32,
    /// Elements (and output bytes).
    pub(crate) len: usize,
}

/// What a kernel reads: a buffer this crate allocated, or another owner's device memory at
/// an address (a tensor handed over by its producer).
pub(crate) enum KernelInput<'a> {
    /// A buffer of this crate.
    Slice(&'a CudaSlice<u8>),
    /// Device memory at this address, owned by someone else.
    Address {
        /// The first element's device address.
        address: u64,
    },
}

impl KernelInput<'_> {
    /// Whether the 16-byte (f32) or 8-byte (f16, bf16) vector loads of the `rgb4` kernel
    /// are aligned: a buffer of this crate always is (allocations are 256-byte aligned); a
    /// producer's tensor may start anywhere (a view at an offset).
    fn vector_aligned(&self, dtype: DType) -> bool {
        match self {
            KernelInput::Slice(_) => true,
            KernelInput::Address { address } => address % (4 * element_size(dtype) as u64) == 0,
        }
    }
}

pub(crate) fn geometry(dims: Dims, layout: Layout) -> Result<Geometry, GpuError> {
    let shape = |m: String| GpuError::new(GpuErrorKind::Shape, m);
    let len = dims.len().ok_or_else(|| shape("shape overflows".into()))?;
    let to_u32 = |v: Option<usize>, what: &str| {
        v.and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| shape(format!("{what} too large for the GPU path")))
    };
    Ok(Geometry {
        frames: to_u32(dims.n.checked_mul(dims.t), "N*T")?,
        c: to_u32(Some(dims.c), "C")?,
        t: to_u32(Some(dims.t), "T")?,
        hw: to_u32(dims.h.checked_mul(dims.w), "H*W")?,
        layout: match layout {
            Layout::Ncthw => 0,
            Layout::Ntchw => 1,
        },
        len,
    })
}

impl GpuFrames {
    /// Loads the kernels on device `ordinal`.
    pub fn new(ordinal: usize) -> Result<GpuFrames, GpuError> {
        if !driver_present() {
            return Err(GpuError::new(
                GpuErrorKind::NoDevice,
                "no CUDA driver (libcuda) on this machine",
            ));
        }
        std::panic::catch_unwind(|| Self::load(ordinal)).unwrap_or_else(|_| {
            Err(GpuError::new(
                GpuErrorKind::Driver,
                "the CUDA driver panicked while loading the frame kernels",
            ))
        })
    }

    fn load(ordinal: usize) -> Result<GpuFrames, GpuError> {
        let count = CudaContext::device_count().map_err(|e| {
            GpuError::new(
                GpuErrorKind::NoDevice,
                format!("the CUDA driver failed to initialise: {e:?}"),
            )
        })?;
        if ordinal >= count.max(0) as usize {
            return Err(GpuError::new(
                GpuErrorKind::NoDevice,
                format!("no CUDA device {ordinal} (the driver reports {count})"),
            ));
        }
        let ctx = CudaContext::new(ordinal).map_err(|e| GpuError::driver("context", e))?;
        let (major, minor) = ctx
            .compute_capability()
            .map_err(|e| GpuError::driver("compute capability", e))?;
        let arch = arch_for_capability(major, minor).ok_or_else(|| {
            GpuError::new(
                GpuErrorKind::Unsupported,
                format!("compute capability {major}.{minor} is older than 7.5"),
            )
        })?;
        let ptx = compile_frames(arch).map_err(|m| GpuError::new(GpuErrorKind::Unsupported, m))?;
        let module = ctx
            .load_module(cudarc::nvrtc::Ptx::from_src(ptx))
            .map_err(|e| GpuError::driver("loading the frame kernels", e))?;
        let load = |name: &str| {
            module
                .load_function(name)
                .map_err(|e| GpuError::driver(name, e))
        };
        Ok(GpuFrames {
            ordinal,
            name: ctx.name().unwrap_or_default(),
            stream: ctx.default_stream(),
            arch,
            any_shape: [
                load("frames_f32_to_u8")?,
                load("frames_f16_to_u8")?,
                load("frames_bf16_to_u8")?,
            ],
            rgb4: [
                load("frames_f32_rgb4")?,
                load("frames_f16_rgb4")?,
                load("frames_bf16_rgb4")?,
            ],
            busy: Mutex::new(()),
        })
    }

    /// The kernels on device 0, loaded on first use and kept for the process (the failure,
    /// too: a machine without a GPU answers at once after the first call).
    pub fn shared() -> Result<&'static GpuFrames, GpuError> {
        static SHARED: OnceLock<Result<GpuFrames, GpuError>> = OnceLock::new();
        SHARED
            .get_or_init(|| GpuFrames::new(0))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The device name.
    pub fn device_name(&self) -> &str {
        &self.name
    }

    /// The CUDA device the kernels are loaded on.
    pub fn ordinal(&self) -> usize {
        self.ordinal
    }

    /// Holds the device for one conversion (see the `busy` field).
    pub(crate) fn lock_busy(&self) -> std::sync::MutexGuard<'_, ()> {
        self.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The architecture the kernels were compiled for (`sm_90`, ...).
    pub fn arch(&self) -> &'static str {
        self.arch
    }

    /// The stream conversions run on (for callers that allocate device buffers).
    pub fn stream(&self) -> &Arc<CudaStream> {
        &self.stream
    }

    /// Converts host bytes (a C-contiguous tensor, little-endian) into `out` (`N,T,H,W,C`):
    /// copy in, kernel, copy out.
    pub fn convert(
        &self,
        bytes: &[u8],
        dtype: DType,
        layout: Layout,
        dims: Dims,
        out: &mut [u8],
    ) -> Result<(), GpuError> {
        let g = geometry(dims, layout)?;
        check_lengths(bytes.len(), out.len(), &g, dtype)?;
        if g.len == 0 {
            return Ok(());
        }
        let _busy = self.lock_busy();
        let input = self
            .stream
            .clone_htod(bytes)
            .map_err(|e| GpuError::driver("copying the input to the device", e))?;
        // SAFETY: every byte of `output` is written by the kernel before it is read back.
        let mut output = unsafe { self.stream.alloc::<u8>(g.len) }
            .map_err(|e| GpuError::driver("allocating the output", e))?;
        self.launch(KernelInput::Slice(&input), &mut output, dtype, &g)?;
        self.stream
            .memcpy_dtoh(&output, out)
            .map_err(|e| GpuError::driver("copying the frames back", e))?;
        self.stream
            .synchronize()
            .map_err(|e| GpuError::driver("synchronising", e))
    }

    /// Converts a tensor already on the device (`input`: its raw bytes) into `output`
    /// (`N,T,H,W,C` bytes), asynchronously on [`GpuFrames::stream`].
    pub fn convert_on_device(
        &self,
        input: &CudaSlice<u8>,
        output: &mut CudaSlice<u8>,
        dtype: DType,
        layout: Layout,
        dims: Dims,
    ) -> Result<(), GpuError> {
        let g = geometry(dims, layout)?;
        check_lengths(input.len(), output.len(), &g, dtype)?;
        if g.len == 0 {
            return Ok(());
        }
        self.launch(KernelInput::Slice(input), output, dtype, &g)
    }

    pub(crate) fn launch(
        &self,
        input: KernelInput<'_>,
        output: &mut CudaSlice<u8>,
        dtype: DType,
        g: &Geometry,
    ) -> Result<(), GpuError> {
        let rgb4 = g.c == 3 && g.hw.is_multiple_of(4) && input.vector_aligned(dtype);
        let per_frame = if rgb4 { g.hw / 4 } else { g.hw };
        let cfg = LaunchConfig {
            grid_dim: (per_frame.div_ceil(BLOCK), g.frames.clamp(1, MAX_GRID_Y), 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: 0,
        };
        let i = dtype_index(dtype);
        let result = if rgb4 {
            let mut call = self.stream.launch_builder(&self.rgb4[i]);
            match &input {
                KernelInput::Slice(slice) => call.arg(*slice),
                KernelInput::Address { address } => call.arg(address),
            };
            call.arg(output)
                .arg(&g.frames)
                .arg(&g.t)
                .arg(&g.hw)
                .arg(&g.layout);
            // SAFETY: the argument list matches `frames_<t>_rgb4` (in, out, frames, t, hw,
            // layout); `input` holds frames*3*hw elements of the dtype and `output`
            // frames*hw*3 bytes (checked by `check_lengths`), and device allocations are
            // 256-byte aligned, so the 16-byte vector loads at multiples of 4 elements of
            // each plane (hw % 4 == 0) are aligned; a producer's address is taken only when
            // it is aligned for them (`vector_aligned`), and it holds as many bytes as the
            // shape needs (checked by the caller against the producer's own description).
            unsafe { call.launch(cfg) }
        } else {
            let mut call = self.stream.launch_builder(&self.any_shape[i]);
            match &input {
                KernelInput::Slice(slice) => call.arg(*slice),
                KernelInput::Address { address } => call.arg(address),
            };
            call.arg(output)
                .arg(&g.frames)
                .arg(&g.c)
                .arg(&g.t)
                .arg(&g.hw)
                .arg(&g.layout);
            // SAFETY: the argument list matches `frames_<t>_to_u8` (in, out, frames, c, t,
            // hw, layout) and the buffer lengths were checked against the shape.
            unsafe { call.launch(cfg) }
        };
        result
            .map(|_| ())
            .map_err(|e| GpuError::driver("launching the frame kernel", e))
    }
}

fn check_lengths(
    in_bytes: usize,
    out_bytes: usize,
    g: &Geometry,
    dtype: DType,
) -> Result<(), GpuError> {
    let want = g.len * element_size(dtype);
    if in_bytes != want {
        return Err(GpuError::new(
            GpuErrorKind::Shape,
            format!("expected {want} bytes for the shape, got {in_bytes}"),
        ));
    }
    if out_bytes != g.len {
        return Err(GpuError::new(
            GpuErrorKind::Shape,
            format!("output must hold {} bytes, got {out_bytes}", g.len),
        ));
    }
    Ok(())
}

/// Whether the GPU frame path is usable here, and why not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuFramesStatus {
    /// The kernels are loaded on device 0.
    pub available: bool,
    /// Device name, when available.
    pub device: Option<String>,
    /// Architecture the kernels were compiled for, when available.
    pub arch: Option<&'static str>,
    /// Why not, when unavailable.
    pub reason: Option<String>,
}

/// Loads the kernels on device 0 if not yet done (see [`GpuFrames::shared`]) and reports.
pub fn status() -> GpuFramesStatus {
    match GpuFrames::shared() {
        Ok(gpu) => GpuFramesStatus {
            available: true,
            device: Some(gpu.device_name().to_owned()),
            arch: Some(gpu.arch()),
            reason: None,
        },
        Err(e) => GpuFramesStatus {
            available: false,
            device: None,
            arch: None,
            reason: Some(e.message),
        },
    }
}

/// Where a frame conversion runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameDevice {
    /// The multi-threaded CPU path.
    Cpu,
    /// CUDA device 0; an error when there is none.
    Cuda,
    /// CUDA device 0 when its kernels load, otherwise the CPU.
    Auto,
}

impl FrameDevice {
    /// Parses `cpu`, `cuda` (also spelled `gpu`) or `auto` (case-insensitive).
    pub fn from_name(name: &str) -> Option<FrameDevice> {
        match name.to_ascii_lowercase().as_str() {
            "cpu" => Some(FrameDevice::Cpu),
            "cuda" | "gpu" => Some(FrameDevice::Cuda),
            "auto" => Some(FrameDevice::Auto),
            _ => None,
        }
    }
}

/// Converts on the chosen device; returns where it ran (`"cpu"` or `"cuda"`). `threads`
/// applies to the CPU path (0 = every core).
pub fn convert_frames_on(
    device: FrameDevice,
    bytes: &[u8],
    dtype: DType,
    layout: Layout,
    dims: Dims,
    out: &mut [u8],
    threads: usize,
) -> Result<&'static str, GpuError> {
    let gpu = match device {
        FrameDevice::Cpu => None,
        FrameDevice::Cuda => Some(GpuFrames::shared()?),
        FrameDevice::Auto => GpuFrames::shared().ok(),
    };
    match gpu {
        Some(gpu) => gpu
            .convert(bytes, dtype, layout, dims, out)
            .map(|()| "cuda"),
        None => convert_frames(bytes, dtype, layout, dims, out, threads)
            .map(|()| "cpu")
            .map_err(|e| GpuError::new(GpuErrorKind::Shape, e.0)),
    }
}
