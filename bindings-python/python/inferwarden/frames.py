"""Frame post-processing: decoded diffusion output in ``[-1, 1]`` to ``uint8`` frames.

``frames_to_u8(x, layout="NCTHW")`` takes a numpy array (float32, float16, or bfloat16 from
``ml_dtypes``; shape ``N,C,T,H,W`` or ``N,T,C,H,W``), or any tensor with ``__dlpack__`` in
host memory (a torch CPU tensor, bfloat16 included, read where it lies with no copy; it must
be C-contiguous), and returns a ``uint8`` array
``N,T,H,W,C`` computed as ``round_half_even(clip((x + 1) / 2, 0, 1) * 255)`` with NaN -> 0,
bit-identical to numpy's ``((x / 2 + 0.5).clip(0, 1) * 255).round().astype(uint8)`` followed
by the transpose (numpy computing in float32).

``dtype="bfloat16"`` (or ``"float16"``) reads a ``uint16`` array as those bit patterns.
``device`` picks where it runs: ``"cpu"`` (default: Rust on all cores, no intermediate
arrays), ``"cuda"`` (the NVRTC-compiled kernel on GPU 0; without a usable GPU it raises
``DependencyUnavailableError``, and ``GpuMemoryExceededError`` when the device is out of
memory) or ``"auto"`` (the GPU when its kernels load, else the CPU). Both paths give the same
bytes. For arrays in host memory the GPU path is bound by PCIe copies: on a many-core host the
CPU path can be faster (see BENCHMARKS.md). ``frames_gpu_status()`` says whether the GPU path is usable and, if not, why.

A DLPack tensor in CUDA device memory is refused with ``DependencyUnavailableError``
(``metadata["reason"] == "device_tensor"``): converting on the device without a host round
trip is not available in this version; move the tensor to the host first (``t.cpu()``).
"""

from __future__ import annotations

from typing import Any

from inferwarden import _native


def frames_to_u8(x: Any, layout: str = "NCTHW", threads: int = 0, device: str = "cpu", dtype: str | None = None) -> Any:
    """Convert a 5-D numpy array to ``uint8`` frames ``N,T,H,W,C`` on ``device``.

    ``dtype`` reads the array's bytes as another element type of the same size: numpy has no
    bfloat16, so a torch bf16 tensor arrives as its bit patterns,
    ``frames_to_u8(t.view(torch.uint16).numpy(), dtype="bfloat16")``.
    """
    try:
        import numpy as np
    except ImportError as missing:  # the extra was not installed
        raise ImportError("inferwarden.frames needs numpy: install it with pip install 'inferwarden[frames]'") from missing

    if not isinstance(x, np.ndarray) and hasattr(x, "__dlpack__"):
        # A tensor of another library (torch, cupy, jax): read through DLPack, in place.
        data, shape, _ran_on = _native.convert_frames_dlpack(x.__dlpack__(), dtype, layout, threads, device)
        return np.frombuffer(data, dtype=np.uint8).reshape(shape)
    arr = np.ascontiguousarray(x)
    dtype = dtype or arr.dtype.name
    data, shape, _ran_on = _native.convert_frames(memoryview(arr).cast("B"), dtype, layout, list(arr.shape), threads, device)
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def frames_gpu_status() -> dict[str, Any]:
    """``{"available", "device", "arch", "reason"}`` for the GPU frame path (device 0)."""
    return _native.frames_gpu_status()


__all__ = ["frames_gpu_status", "frames_to_u8"]
