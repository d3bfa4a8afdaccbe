//! Frames from a tensor that is already in CUDA device memory (a torch or cupy tensor handed
//! over through DLPack or `__cuda_array_interface__`): the kernel reads the producer's memory
//! at its address, so the input never crosses to the host. The frames go to host memory (one
//! device-to-host copy of the `u8` result) or stay on the device in a [`DeviceFrames`]
//! buffer that the binding hands out again (DLPack, `__cuda_array_interface__`).
//!
//! The producer keeps ownership of its memory: this module never frees or writes it. A
//! producer's stream (the one its last writes were queued on) is waited for before the kernel
//! runs, and every call returns only after its own work is done, so the frames are ready
//! whichever stream reads them next.

#![allow(unsafe_code)]

use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{result, sys, CudaContext, CudaSlice, CudaStream};

use crate::frames::{element_size, DType, Dims, Layout};
use crate::gpu::{geometry, GpuError, GpuErrorKind, GpuFrames, KernelInput};

/// A tensor in device memory, described by its producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTensor {
    /// Device address of the first element (the producer's data pointer plus its offset).
    pub address: u64,
    /// Bytes from the first element to the end of the tensor.
    pub byte_len: usize,
    /// The CUDA device the memory is on.
    pub ordinal: usize,
    /// The producer's stream to wait for (`__cuda_array_interface__`'s `stream`), as the
    /// `CUstream` handle value: 1 is the legacy default stream, 2 the per-thread default
    /// stream; `None` when the producer has already synchronised (DLPack with the stream
    /// this crate launches on).
    pub producer_stream: Option<u64>,
}

impl DeviceTensor {
    /// Checks the description against the shape before any device work: the byte length the
    /// shape needs, a data pointer when there are bytes, and an address aligned to the
    /// element size (a misaligned load is a fault that would break the device context for
    /// the whole process, the producer's library included). Refusals are
    /// [`GpuErrorKind::Shape`].
    pub fn validate(&self, dtype: DType, layout: Layout, dims: Dims) -> Result<(), GpuError> {
        let g = geometry(dims, layout)?;
        let want = g.len * element_size(dtype);
        if self.byte_len != want {
            return Err(GpuError::new(
                GpuErrorKind::Shape,
                format!("expected {want} bytes for the shape, got {}", self.byte_len),
            ));
        }
        if g.len > 0 && self.address == 0 {
            return Err(GpuError::new(
                GpuErrorKind::Shape,
                "the device tensor has no data pointer",
            ));
        }
        if !self.address.is_multiple_of(element_size(dtype) as u64) {
            return Err(GpuError::new(
                GpuErrorKind::Shape,
                format!(
                    "the device tensor starts at an address that is not a multiple of its \
                     {}-byte element: make it contiguous first (torch: `.contiguous()`)",
                    element_size(dtype)
                ),
            ));
        }
        Ok(())
    }
}

/// The calling thread's current CUDA context, put back when this goes: a conversion (or a
/// free) makes its device's context current for the driver calls, and a consumer's thread
/// (torch's current device) is left as it was. Entering also clears an error that an
/// earlier free recorded on the context, so it does not fail an unrelated call.
pub(crate) struct ContextScope {
    previous: sys::CUcontext,
}

impl ContextScope {
    /// Makes `ctx` current until the scope ends. Needs the driver (checked by the caller:
    /// the context exists).
    pub(crate) fn enter(ctx: &CudaContext) -> Result<ContextScope, GpuError> {
        let previous = result::ctx::get_current()
            .map_err(|e| GpuError::driver("reading the current context", e))?
            .unwrap_or(std::ptr::null_mut());
        // A failed free of an earlier buffer (recorded, since a drop cannot return it) is
        // not this call's failure.
        let _ = ctx.check_err();
        // SAFETY: `ctx` is a live context (the caller holds it).
        unsafe { result::ctx::set_current(ctx.cu_ctx()) }
            .map_err(|e| GpuError::driver("binding the device context", e))?;
        Ok(ContextScope { previous })
    }

    /// Runs `f` and puts the thread's current context back afterwards (for calls that bind a
    /// context themselves, such as creating one); without a driver, just `f`.
    pub(crate) fn preserving<T>(f: impl FnOnce() -> T) -> T {
        let saved = crate::probe::driver_present()
            .then(|| {
                result::init().ok()?;
                result::ctx::get_current().ok()
            })
            .flatten();
        let out = f();
        if let Some(previous) = saved {
            // SAFETY: `previous` was current on this thread a moment ago (or null: none).
            let _ = unsafe { result::ctx::set_current(previous.unwrap_or(std::ptr::null_mut())) };
        }
        out
    }
}

impl Drop for ContextScope {
    fn drop(&mut self) {
        // SAFETY: `previous` was current on this thread when the scope began (or null).
        let _ = unsafe { result::ctx::set_current(self.previous) };
    }
}

/// Where converted frames go.
#[derive(Debug)]
pub enum FramesDestination<'a> {
    /// Into host memory (`N,T,H,W,C` bytes).
    Host(&'a mut [u8]),
    /// Into a new device buffer, returned by the call.
    Device,
}

/// `u8` frames (`N,T,H,W,C`) in device memory, owned: the buffer is freed when the last
/// reference goes (a binding keeps it alive while a consumer of its DLPack capsule holds it).
/// The free is queued on the legacy default stream, which orders it after work on blocking
/// streams only: a consumer that reads the frames on a non-blocking stream must finish (or
/// copy) before it releases them, as DLPack asks of every consumer.
pub struct DeviceFrames {
    buffer: Mutex<Option<CudaSlice<u8>>>,
    address: u64,
    len: usize,
    ordinal: usize,
    stream: Arc<CudaStream>,
}

impl std::fmt::Debug for DeviceFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceFrames")
            .field("len", &self.len)
            .field("ordinal", &self.ordinal)
            .finish()
    }
}

impl Drop for DeviceFrames {
    fn drop(&mut self) {
        let buffer = self.buffer.get_mut().unwrap_or_else(|p| p.into_inner());
        let Some(buffer) = buffer.take() else {
            return;
        };
        // The last reference may go on any thread (a DLPack consumer's deleter): the free is
        // a driver call that needs the device's context current there, and that thread's own
        // context is put back after.
        let ctx = self.stream.context().clone();
        let scope = ContextScope::enter(&ctx);
        drop(buffer);
        // A failed free leaks the buffer; it must not fail the next conversion.
        let _ = ctx.check_err();
        drop(scope);
    }
}

impl DeviceFrames {
    /// Frames held in `buffer` (complete: the caller synchronised), or none for an empty
    /// result.
    fn holding(buffer: Option<CudaSlice<u8>>, ordinal: usize, stream: Arc<CudaStream>) -> Self {
        let (address, len) = match &buffer {
            Some(b) => {
                let (address, record) = cudarc::driver::DevicePtr::device_ptr(b, &stream);
                drop(record);
                (address, b.len())
            }
            None => (0, 0),
        };
        DeviceFrames {
            buffer: Mutex::new(buffer),
            address,
            len,
            ordinal,
            stream,
        }
    }

    /// Device address of the first byte (0 for an empty result).
    pub fn address(&self) -> u64 {
        self.address
    }

    /// Bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The CUDA device the bytes are on.
    pub fn ordinal(&self) -> usize {
        self.ordinal
    }

    /// Copies the bytes to host memory (`out` must hold [`DeviceFrames::len`] bytes).
    pub fn copy_to_host(&self, out: &mut [u8]) -> Result<(), GpuError> {
        if out.len() != self.len {
            return Err(GpuError::new(
                GpuErrorKind::Shape,
                format!(
                    "the host buffer must hold {} bytes, got {}",
                    self.len,
                    out.len()
                ),
            ));
        }
        let buffer = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(buffer) = buffer.as_ref() else {
            return Ok(());
        };
        let _scope = ContextScope::enter(self.stream.context())?;
        self.stream
            .memcpy_dtoh(buffer, out)
            .map_err(|e| GpuError::driver("copying the frames to the host", e))?;
        self.stream
            .synchronize()
            .map_err(|e| GpuError::driver("synchronising", e))
    }
}

/// The kernels of one device, or why they did not load.
type Loaded = Result<GpuFrames, GpuError>;

impl GpuFrames {
    /// The kernels on device `ordinal`, loaded on first use and kept for the process (as
    /// [`GpuFrames::shared`] for device 0; a failure is kept too).
    pub fn on_device(ordinal: usize) -> Result<&'static GpuFrames, GpuError> {
        if ordinal == 0 {
            return GpuFrames::shared();
        }
        static OTHERS: OnceLock<Mutex<Vec<(usize, &'static Loaded)>>> = OnceLock::new();
        let others = OTHERS.get_or_init(|| Mutex::new(Vec::new()));
        let mut loaded = others.lock().unwrap_or_else(|p| p.into_inner());
        let found = match loaded.iter().find(|(o, _)| *o == ordinal) {
            Some((_, r)) => *r,
            None => {
                // One entry per device the driver has: `new` refuses an ordinal past the
                // device count, and a refusal is not kept, so the list stays that short.
                let r = ContextScope::preserving(|| GpuFrames::new(ordinal));
                if let Err(e) = &r {
                    if e.kind == GpuErrorKind::NoDevice {
                        return Err(e.clone());
                    }
                }
                let r: &'static Loaded = Box::leak(Box::new(r));
                loaded.push((ordinal, r));
                r
            }
        };
        found.as_ref().map_err(Clone::clone)
    }

    /// Converts `input` (device memory holding `dims` elements of `dtype` in `layout`) into
    /// `destination`; returns the device buffer when the destination is
    /// [`FramesDestination::Device`]. `input` must be on this device (see
    /// [`GpuFrames::on_device`]).
    pub fn convert_device_tensor(
        &self,
        input: &DeviceTensor,
        dtype: DType,
        layout: Layout,
        dims: Dims,
        destination: FramesDestination<'_>,
    ) -> Result<Option<DeviceFrames>, GpuError> {
        if input.ordinal != self.ordinal() {
            return Err(GpuError::new(
                GpuErrorKind::Shape,
                format!(
                    "the tensor is on device {}, these kernels on device {}",
                    input.ordinal,
                    self.ordinal()
                ),
            ));
        }
        input.validate(dtype, layout, dims)?;
        let g = geometry(dims, layout)?;
        if let FramesDestination::Host(out) = &destination {
            if out.len() != g.len {
                return Err(GpuError::new(
                    GpuErrorKind::Shape,
                    format!("output must hold {} bytes, got {}", g.len, out.len()),
                ));
            }
        }
        let stream = self.stream().clone();
        if g.len == 0 {
            return Ok(match destination {
                FramesDestination::Host(_) => None,
                FramesDestination::Device => {
                    Some(DeviceFrames::holding(None, self.ordinal(), stream))
                }
            });
        }
        let _busy = self.lock_busy();
        let _scope = ContextScope::enter(stream.context())?;
        if let Some(producer) = input.producer_stream {
            // SAFETY: the producer named this stream handle as the one its writes to the
            // tensor were queued on, and the stream outlives the tensor it hands out
            // (`__cuda_array_interface__` version 3); 1 and 2 are the driver's own handles
            // for the legacy and per-thread default streams.
            unsafe { cudarc::driver::result::stream::synchronize(producer as sys::CUstream) }
                .map_err(|e| GpuError::driver("waiting for the producer's stream", e))?;
        }
        // SAFETY: every byte of `output` is written by the kernel before anything reads it.
        let mut output = unsafe { stream.alloc::<u8>(g.len) }
            .map_err(|e| GpuError::driver("allocating the output", e))?;
        self.launch(
            KernelInput::Address {
                address: input.address,
            },
            &mut output,
            dtype,
            &g,
        )?;
        match destination {
            FramesDestination::Host(out) => {
                stream
                    .memcpy_dtoh(&output, out)
                    .map_err(|e| GpuError::driver("copying the frames back", e))?;
                stream
                    .synchronize()
                    .map_err(|e| GpuError::driver("synchronising", e))?;
                Ok(None)
            }
            FramesDestination::Device => {
                stream
                    .synchronize()
                    .map_err(|e| GpuError::driver("synchronising", e))?;
                Ok(Some(DeviceFrames::holding(
                    Some(output),
                    self.ordinal(),
                    stream,
                )))
            }
        }
    }

    /// Converts host bytes (as [`GpuFrames::convert`]) into a new device buffer: the input is
    /// copied to the device, the frames stay there.
    pub fn convert_to_device(
        &self,
        bytes: &[u8],
        dtype: DType,
        layout: Layout,
        dims: Dims,
    ) -> Result<DeviceFrames, GpuError> {
        let g = geometry(dims, layout)?;
        let want = g.len * element_size(dtype);
        if bytes.len() != want {
            return Err(GpuError::new(
                GpuErrorKind::Shape,
                format!("expected {want} bytes for the shape, got {}", bytes.len()),
            ));
        }
        let stream = self.stream().clone();
        if g.len == 0 {
            return Ok(DeviceFrames::holding(None, self.ordinal(), stream));
        }
        let _busy = self.lock_busy();
        let _scope = ContextScope::enter(stream.context())?;
        let input = stream
            .clone_htod(bytes)
            .map_err(|e| GpuError::driver("copying the input to the device", e))?;
        // SAFETY: every byte of `output` is written by the kernel before anything reads it.
        let mut output = unsafe { stream.alloc::<u8>(g.len) }
            .map_err(|e| GpuError::driver("allocating the output", e))?;
        self.launch(KernelInput::Slice(&input), &mut output, dtype, &g)?;
        stream
            .synchronize()
            .map_err(|e| GpuError::driver("synchronising", e))?;
        Ok(DeviceFrames::holding(Some(output), self.ordinal(), stream))
    }
}

/// The CUDA device that holds `address` (for `__cuda_array_interface__`, which does not say),
/// asked of the driver (under device 0's primary context; no kernel is loaded for it).
pub fn device_of_address(address: u64) -> Result<usize, GpuError> {
    if !crate::probe::driver_present() {
        return Err(GpuError::new(
            GpuErrorKind::NoDevice,
            "no CUDA driver (libcuda) on this machine",
        ));
    }
    static LOOKUP: OnceLock<Result<Arc<CudaContext>, GpuError>> = OnceLock::new();
    let ctx = LOOKUP
        .get_or_init(|| {
            ContextScope::preserving(|| {
                std::panic::catch_unwind(|| {
                    CudaContext::new(0).map_err(|e| {
                        GpuError::new(
                            GpuErrorKind::NoDevice,
                            format!("no CUDA device to ask where the address is: {e:?}"),
                        )
                    })
                })
                .unwrap_or_else(|_| {
                    Err(GpuError::new(
                        GpuErrorKind::Driver,
                        "the CUDA driver panicked while opening device 0",
                    ))
                })
            })
        })
        .as_ref()
        .map_err(Clone::clone)?;
    let _scope = ContextScope::enter(ctx)?;
    let mut ordinal: i32 = -1;
    // SAFETY: `CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL` writes one `int`; the driver checks the
    // address itself and answers an error for one it did not allocate.
    unsafe {
        sys::cuPointerGetAttribute(
            (&mut ordinal as *mut i32).cast(),
            sys::CUpointer_attribute::CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL,
            address as sys::CUdeviceptr,
        )
    }
    .result()
    .map_err(|e| {
        GpuError::new(
            GpuErrorKind::Shape,
            format!("the address is not CUDA device memory the driver knows: {e:?}"),
        )
    })?;
    usize::try_from(ordinal).map_err(|_| {
        GpuError::new(
            GpuErrorKind::Shape,
            format!("the driver reports device {ordinal} for the address"),
        )
    })
}

/// Where a conversion's frames are asked to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramesOut {
    /// Host memory (the default).
    Host,
    /// A device buffer ([`DeviceFrames`]).
    Device,
}

impl FramesOut {
    /// Parses `host` or `device` (case-insensitive).
    pub fn from_name(name: &str) -> Option<FramesOut> {
        match name.to_ascii_lowercase().as_str() {
            "host" => Some(FramesOut::Host),
            "device" => Some(FramesOut::Device),
            _ => None,
        }
    }
}

/// Where a conversion runs, decided by [`place`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Host memory in, converted on the CPU.
    Cpu,
    /// Host memory in, converted on GPU 0; `cpu_fallback`: on the CPU instead when the GPU
    /// path does not load (`device = auto` with host output).
    HostOnGpu {
        /// Whether a missing GPU falls back to the CPU.
        cpu_fallback: bool,
    },
    /// Device memory in, converted on the device that holds it (`ordinal`; `None` when the
    /// producer does not say, as with `__cuda_array_interface__`: the driver is asked).
    OnTensorDevice {
        /// The device the producer named.
        ordinal: Option<usize>,
    },
}

/// Decides where a conversion runs: a tensor in device memory is converted on its own
/// device whatever `device` asks for a host array (`auto` or `cuda`; `cpu` cannot read device
/// memory and is refused), since a copy to the host is what this path exists to avoid.
/// `device` unset means `cpu` for host memory. Frames kept on the device need the GPU.
/// Refusals are [`GpuErrorKind::Shape`] (the caller's `validation_error`).
pub fn place(
    residence: crate::dlpack::Residence,
    device: Option<crate::gpu::FrameDevice>,
    out: FramesOut,
) -> Result<Placement, GpuError> {
    use crate::dlpack::Residence;
    use crate::gpu::FrameDevice;
    let refuse = |m: &str| Err(GpuError::new(GpuErrorKind::Shape, m));
    match (residence, device) {
        (Residence::Device { .. }, Some(FrameDevice::Cpu)) => refuse(
            "the tensor is in CUDA device memory, which device=\"cpu\" cannot read: leave \
             device unset (or \"cuda\") to convert it on its GPU, or move it to the host first",
        ),
        (Residence::Device { ordinal }, _) => Ok(Placement::OnTensorDevice {
            ordinal: usize::try_from(ordinal).ok(),
        }),
        (Residence::Host, None | Some(FrameDevice::Cpu)) if out == FramesOut::Device => refuse(
            "out=\"device\" keeps the frames on a GPU: convert with device=\"cuda\" or \"auto\"",
        ),
        (Residence::Host, None | Some(FrameDevice::Cpu)) => Ok(Placement::Cpu),
        (Residence::Host, Some(FrameDevice::Cuda)) => Ok(Placement::HostOnGpu {
            cpu_fallback: false,
        }),
        (Residence::Host, Some(FrameDevice::Auto)) => Ok(Placement::HostOnGpu {
            cpu_fallback: out == FramesOut::Host,
        }),
    }
}

/// What a conversion produced.
#[derive(Debug)]
pub enum Converted {
    /// The frames were written into the host buffer given; `ran_on` is `"cpu"` or `"cuda"`.
    InHost {
        /// Where the conversion ran.
        ran_on: &'static str,
    },
    /// The frames are in a new device buffer.
    OnDevice(DeviceFrames),
}

/// Converts a tensor in host memory (`bytes`) where [`place`] puts it (`device`, and the
/// destination's kind), into `destination`.
pub fn convert_host_tensor(
    bytes: &[u8],
    dtype: DType,
    layout: Layout,
    dims: Dims,
    device: Option<crate::gpu::FrameDevice>,
    destination: FramesDestination<'_>,
    threads: usize,
) -> Result<Converted, GpuError> {
    use crate::gpu::{convert_frames_on, FrameDevice};
    let out = match destination {
        FramesDestination::Host(_) => FramesOut::Host,
        FramesDestination::Device => FramesOut::Device,
    };
    let run_on = match place(crate::dlpack::Residence::Host, device, out)? {
        Placement::Cpu => FrameDevice::Cpu,
        Placement::HostOnGpu { cpu_fallback: true } => FrameDevice::Auto,
        Placement::HostOnGpu {
            cpu_fallback: false,
        } => FrameDevice::Cuda,
        Placement::OnTensorDevice { .. } => {
            return Err(GpuError::new(
                GpuErrorKind::Driver,
                "host memory was placed on a tensor's device",
            ))
        }
    };
    match destination {
        FramesDestination::Host(buf) => Ok(Converted::InHost {
            ran_on: convert_frames_on(run_on, bytes, dtype, layout, dims, buf, threads)?,
        }),
        FramesDestination::Device => Ok(Converted::OnDevice(
            GpuFrames::shared()?.convert_to_device(bytes, dtype, layout, dims)?,
        )),
    }
}

/// A tensor in device memory as its producer describes it: the device may be unnamed
/// (`__cuda_array_interface__`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescribedDeviceTensor {
    /// Address of the first element.
    pub address: u64,
    /// Bytes of the tensor.
    pub byte_len: usize,
    /// The device the producer named, if it did.
    pub ordinal: Option<usize>,
    /// The producer's stream to wait for (see [`DeviceTensor::producer_stream`]).
    pub producer_stream: Option<u64>,
}

/// Converts a producer's device tensor on the GPU that holds it: the description is checked
/// before the driver is asked anything, the driver names the device when the producer did
/// not, and that device's kernels convert it into `destination`.
pub fn convert_device_memory(
    tensor: &DescribedDeviceTensor,
    dtype: DType,
    layout: Layout,
    dims: Dims,
    destination: FramesDestination<'_>,
) -> Result<Converted, GpuError> {
    let mut input = DeviceTensor {
        address: tensor.address,
        byte_len: tensor.byte_len,
        ordinal: tensor.ordinal.unwrap_or(0),
        producer_stream: tensor.producer_stream,
    };
    input.validate(dtype, layout, dims)?;
    if tensor.ordinal.is_none() {
        input.ordinal = device_of_address(tensor.address)?;
    }
    let gpu = GpuFrames::on_device(input.ordinal)?;
    Ok(
        match gpu.convert_device_tensor(&input, dtype, layout, dims, destination)? {
            Some(frames) => Converted::OnDevice(frames),
            None => Converted::InHost { ran_on: "cuda" },
        },
    )
}
