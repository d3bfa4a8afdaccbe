"""Frame post-processing: decoded diffusion output in ``[-1, 1]`` to ``uint8`` frames.

``frames_to_u8(x, layout="NCTHW")`` takes a numpy array (float32, float16, or bfloat16 from
``ml_dtypes``; shape ``N,C,T,H,W`` or ``N,T,C,H,W``), or a tensor of another library: one with
``__dlpack__`` (torch, cupy, jax; bfloat16 included) or ``__cuda_array_interface__`` (cupy,
numba). It returns ``uint8`` frames ``N,T,H,W,C`` computed as
``round_half_even(clip((x + 1) / 2, 0, 1) * 255)`` with NaN -> 0, bit-identical to numpy's
``((x / 2 + 0.5).clip(0, 1) * 255).round().astype(uint8)`` followed by the transpose (numpy
computing in float32). A tensor must be C-contiguous; it is read where it lies, never copied.

``dtype="bfloat16"`` (or ``"float16"``) reads a ``uint16`` array as those bit patterns.

Where it runs:

- A tensor in host memory runs where ``device`` says: ``"cpu"`` (the default: Rust on all
  cores, no intermediate arrays), ``"cuda"`` (the NVRTC-compiled kernel on GPU 0; without a
  usable GPU it raises ``DependencyUnavailableError``, and ``GpuMemoryExceededError`` when the
  device is out of memory) or ``"auto"`` (the GPU when its kernels load, else the CPU). For
  host arrays the GPU path is bound by PCIe copies: on a many-core host the CPU path can be
  faster (see BENCHMARKS.md).
- A tensor in CUDA device memory (a torch or cupy GPU tensor) is converted on its own GPU,
  with no round trip through the host: leave ``device`` unset (or ``"cuda"``/``"auto"``);
  ``device="cpu"`` cannot read device memory and raises ``RequestValidationError``. The
  producer is asked for the tensor ready on the legacy default stream (DLPack's
  ``stream=1``); torch records that on the *current* device's stream, so convert a tensor on
  another GPU under ``with torch.cuda.device(t.device):``.

Where the frames go: ``out="host"`` (default) returns a numpy ``uint8`` array; ``out="device"``
keeps them on the GPU and returns a ``DeviceFrames`` (``torch.from_dlpack(frames)``,
``cupy.asarray(frames)``, ``frames.copy_to_host()``), which needs the conversion on a GPU.
Both paths give the same bytes. ``frames_gpu_status()`` says whether the GPU path is usable
and, if not, why.
"""

from __future__ import annotations

from typing import Any

from inferwarden import _native

DeviceFrames = _native.DeviceFrames

#: DLPack device types whose memory only a GPU reads (``kDLCUDA``, ``kDLCUDAManaged``).
_DLPACK_DEVICE_MEMORY = (2, 13)


def frames_to_u8(
    x: Any,
    layout: str = "NCTHW",
    threads: int = 0,
    device: str | None = None,
    dtype: str | None = None,
    out: str = "host",
) -> Any:
    """Convert a 5-D tensor to ``uint8`` frames ``N,T,H,W,C`` (see the module text).

    ``dtype`` reads the array's bytes as another element type of the same size: numpy has no
    bfloat16, so a torch bf16 tensor can also arrive as its bit patterns,
    ``frames_to_u8(t.view(torch.uint16).numpy(), dtype="bfloat16")``.
    """
    try:
        import numpy as np
    except ImportError as missing:  # the extra was not installed
        raise ImportError("inferwarden.frames needs numpy: install it with pip install 'inferwarden[frames]'") from missing

    if not isinstance(x, np.ndarray) and hasattr(x, "__dlpack__"):
        # A tensor of another library (torch, cupy, jax): read through DLPack, in place. A
        # device tensor is asked for its data ready on the legacy default stream (DLPack's
        # ``stream=1``), the stream the kernels run on.
        kind = x.__dlpack_device__()[0] if hasattr(x, "__dlpack_device__") else None
        capsule = x.__dlpack__(stream=1) if kind in _DLPACK_DEVICE_MEMORY else x.__dlpack__()
        frames, shape, _ran_on = _native.convert_frames_dlpack(capsule, dtype, layout, threads, device, out)
    elif not isinstance(x, np.ndarray) and hasattr(x, "__cuda_array_interface__"):
        frames, shape, _ran_on = _native.convert_frames_cuda_array(
            x.__cuda_array_interface__, dtype, layout, threads, device, out
        )
    else:
        arr = np.ascontiguousarray(x)
        frames, shape, _ran_on = _native.convert_frames(
            memoryview(arr).cast("B"), dtype or arr.dtype.name, layout, list(arr.shape), threads, device, out
        )
    if isinstance(frames, DeviceFrames):
        return frames
    return np.frombuffer(frames, dtype=np.uint8).reshape(shape)


def frames_gpu_status() -> dict[str, Any]:
    """``{"available", "device", "arch", "reason"}`` for the GPU frame path (device 0)."""
    return _native.frames_gpu_status()


__all__ = ["DeviceFrames", "frames_gpu_status", "frames_to_u8"]
