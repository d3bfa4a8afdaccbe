"""Frame post-processing: decoded diffusion output in ``[-1, 1]`` to ``uint8`` frames.

``frames_to_u8(x, layout="NCTHW")`` takes a numpy array (float32, float16, or bfloat16 from
``ml_dtypes``; shape ``N,C,T,H,W`` or ``N,T,C,H,W``) and returns a ``uint8`` array
``N,T,H,W,C`` computed as ``round_half_even(clip((x + 1) / 2, 0, 1) * 255)`` with NaN -> 0,
bit-identical to numpy's ``((x / 2 + 0.5).clip(0, 1) * 255).round().astype(uint8)`` followed
by the transpose. The work runs in Rust on all cores without intermediate arrays.
"""

from __future__ import annotations

from typing import Any

from inferwarden import _native


def frames_to_u8(x: Any, layout: str = "NCTHW", threads: int = 0) -> Any:
    """Convert a 5-D numpy array to ``uint8`` frames ``N,T,H,W,C``."""
    import numpy as np

    arr = np.ascontiguousarray(x)
    dtype = arr.dtype.name
    data, shape = _native.convert_frames(memoryview(arr).cast("B"), dtype, layout, list(arr.shape), threads)
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


__all__ = ["frames_to_u8"]
