"""Frame conversion of a 1x3x81x480x832 clip (N,C,T,H,W): inferwarden's CPU path against the
numpy diffusers-style conversion ``((x/2+0.5).clip(0,1)*255).round().astype(uint8)`` followed
by a contiguous transpose to T,H,W,C, for float32 and float16, in the same run; with a usable
GPU also ``device="cuda"`` (scripts/gpu-check.sh runs it there).

Run: .venv/bin/python benches/python/bench_frames.py   (after scripts/setup-python.sh --release)
"""

from __future__ import annotations

import os
import time

import numpy as np

from inferwarden.frames import frames_gpu_status, frames_to_u8


def numpy_way(x: np.ndarray) -> np.ndarray:
    u8 = ((x / 2 + 0.5).clip(0, 1) * 255).round().astype(np.uint8)
    return np.ascontiguousarray(u8.transpose(0, 2, 3, 4, 1))


def best(fn, x, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    gpu = frames_gpu_status()
    print(f"threads: {os.cpu_count()}; GPU path: {gpu['device'] if gpu['available'] else gpu['reason']}")
    rng = np.random.default_rng(0)
    base = rng.uniform(-1.05, 1.05, size=(1, 3, 81, 480, 832)).astype(np.float32)
    for dtype in (np.float32, np.float16):
        x = base.astype(dtype)
        # Correctness against numpy computing in float32 (the contract); the timed numpy
        # baseline below computes in the input dtype, as diffusers-style code does.
        assert np.array_equal(frames_to_u8(x), numpy_way(x.astype(np.float32))), "results differ"
        ours = best(frames_to_u8, x, 5)
        ref = best(numpy_way, x, 3)
        print(f"{np.dtype(dtype).name:<8} inferwarden {ours * 1e3:8.1f} ms   numpy {ref * 1e3:8.1f} ms   speed-up {ref / ours:5.1f}x")
        if gpu["available"]:
            # The GPU path from numpy: copy in, kernel, copy out (pageable memory).
            assert np.array_equal(frames_to_u8(x, device="cuda"), frames_to_u8(x)), "GPU differs"
            cuda = best(lambda a: frames_to_u8(a, device="cuda"), x, 5)
            print(f"{'':<8} inferwarden device='cuda' ({gpu['device']}) {cuda * 1e3:8.1f} ms   speed-up over numpy {ref / cuda:5.1f}x")


if __name__ == "__main__":
    main()
