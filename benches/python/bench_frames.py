"""Frame conversion of a 1x3x81x480x832 clip (N,C,T,H,W): inferwarden's CPU path against the
numpy diffusers-style conversion ``((x/2+0.5).clip(0,1)*255).round().astype(uint8)`` followed
by a contiguous transpose to T,H,W,C, for float32 and float16, in the same run; with a usable
GPU also ``device="cuda"`` (scripts/gpu-check.sh runs it there), and, where torch with CUDA
is installed, a tensor already on the GPU: inferwarden reading it in place (frames to the host,
and frames kept on the device) against torch's own ops on the same device
``((t/2+0.5).clamp(0,1)*255).round().to(uint8).permute(0,2,3,4,1).contiguous()``.

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
            on_device(x, gpu["device"])


def on_device(x: np.ndarray, device_name: str) -> None:
    """A tensor already on the GPU: inferwarden in place vs torch's ops, both synchronised."""
    try:
        import torch
    except ImportError:
        print(f"{'':<8} (torch is not installed: no device-tensor comparison)")
        return
    if not torch.cuda.is_available():
        print(f"{'':<8} (torch has no CUDA: no device-tensor comparison)")
        return
    t = torch.from_numpy(x).cuda()

    def torch_way(a):
        out = ((a / 2 + 0.5).clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 4, 1).contiguous()
        torch.cuda.synchronize()
        return out

    def kept(a):
        return frames_to_u8(a, out="device")

    assert np.array_equal(frames_to_u8(t), frames_to_u8(x)), "device tensor differs"
    assert torch.equal(torch.from_dlpack(kept(t)), torch.from_numpy(frames_to_u8(x)).cuda()), "kept frames differ"
    ref = best(torch_way, t, 10)
    ours = best(kept, t, 10)
    host = best(frames_to_u8, t, 5)
    print(f"{'':<8} tensor on {device_name}: inferwarden kept on device {ours * 1e3:7.2f} ms   torch ops {ref * 1e3:7.2f} ms   "
          f"ratio {ref / ours:4.2f}x   (to host memory {host * 1e3:7.1f} ms)")


if __name__ == "__main__":
    main()
