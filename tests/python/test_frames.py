"""Frame conversion through the Python binding against numpy's diffusers-style conversion, on
the CPU and (with ``INFERWARDEN_GPU=1`` on a GPU machine, ``scripts/gpu-check.sh``) on CUDA."""

from __future__ import annotations

import os

import numpy as np
import pytest

from inferwarden.errors import DependencyUnavailableError, RequestValidationError
from inferwarden.frames import frames_gpu_status, frames_to_u8

GPU = os.environ.get("INFERWARDEN_GPU") == "1"


def numpy_reference(x: np.ndarray, layout: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        u8 = ((x.astype(np.float32) / 2 + 0.5).clip(0, 1) * 255).round().astype(np.uint8)
    u8 = np.where(np.isnan(x), 0, u8).astype(np.uint8)
    return u8.transpose(0, 2, 3, 4, 1) if layout == "NCTHW" else u8.transpose(0, 1, 3, 4, 2)


def sample(dtype, shape=(2, 3, 5, 7, 9), seed=7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.2, 1.2, size=shape).astype(dtype)
    flat = x.reshape(-1)
    edges = np.array([1, -1, 1.1, -1.1, np.nan, np.inf, -np.inf, 0.0, -0.0], dtype=dtype)
    flat[: edges.size] = edges
    # Inputs that land exactly on .5 after scaling (float32 only: in float16 they round away).
    if dtype == np.float32:
        k = np.arange(255, dtype=np.float32)
        mids = ((k + 0.5) / 255 * 2 - 1).astype(np.float32)
        n = min(mids.size, flat.size - edges.size)
        flat[edges.size : edges.size + n] = mids[:n]
    return x


@pytest.mark.parametrize("layout", ["NCTHW", "NTCHW"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7, 9), (1, 3, 4, 8, 12), (1, 1, 2, 3, 5), (1, 4, 3, 6, 6)])
def test_matches_numpy_bit_for_bit(layout, dtype, shape):
    x = sample(dtype, shape)
    got = frames_to_u8(x, layout)
    assert got.dtype == np.uint8
    assert np.array_equal(got, numpy_reference(x, layout))


@pytest.mark.parametrize("layout", ["NCTHW", "NTCHW"])
def test_bfloat16_bit_patterns_through_a_uint16_view(layout):
    rng = np.random.default_rng(3)
    f32 = rng.uniform(-1.2, 1.2, size=(1, 3, 4, 6, 8)).astype(np.float32)
    f32.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, 1.0]
    bits = (f32.view(np.uint32) >> 16).astype(np.uint16)  # truncated to bfloat16
    as_f32 = (bits.astype(np.uint32) << 16).view(np.float32)
    got = frames_to_u8(bits, layout, dtype="bfloat16")
    assert np.array_equal(got, numpy_reference(as_f32, layout))
    # Every 16-bit pattern as float16 matches numpy's own float16 -> float32 widening.
    every = np.arange(65536, dtype=np.uint32).astype(np.uint16).reshape(1, 4, 1, 128, 128)
    assert np.array_equal(frames_to_u8(every, layout, dtype="float16"), numpy_reference(every.view(np.float16), layout))
    with pytest.raises(RequestValidationError):
        frames_to_u8(bits, layout, dtype="float32")  # 2-byte elements read as 4-byte ones


def test_non_contiguous_input_and_errors():
    x = np.zeros((1, 3, 2, 4, 4), dtype=np.float32)[:, :, :, :, ::2]
    assert frames_to_u8(x).shape == (1, 2, 4, 2, 3)
    with pytest.raises(RequestValidationError):
        frames_to_u8(np.zeros((3, 4, 4), dtype=np.float32))
    with pytest.raises(RequestValidationError):
        frames_to_u8(np.zeros((1, 1, 1, 1, 1), dtype=np.float64))
    with pytest.raises(RequestValidationError) as bad_device:
        frames_to_u8(np.zeros((1, 1, 1, 1, 1), dtype=np.float32), device="tpu")
    assert bad_device.value.code == "validation_error"


@pytest.mark.skipif(GPU, reason="the no-GPU path; INFERWARDEN_GPU=1 runs the GPU tests instead")
def test_without_a_gpu_cuda_refuses_and_auto_uses_the_cpu():
    status = frames_gpu_status()
    assert status["available"] is False
    assert status["reason"]
    x = sample(np.float32)
    with pytest.raises(DependencyUnavailableError) as refused:
        frames_to_u8(x, device="cuda")
    assert refused.value.code == "dependency_unavailable"
    assert np.array_equal(frames_to_u8(x, device="auto"), numpy_reference(x, "NCTHW"))


@pytest.mark.skipif(not GPU, reason="needs a GPU: INFERWARDEN_GPU=1 scripts/gpu-check.sh")
@pytest.mark.parametrize("layout", ["NCTHW", "NTCHW"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("shape", [(2, 3, 5, 7, 9), (1, 3, 9, 48, 80), (1, 4, 3, 6, 6)])
def test_gpu_matches_numpy_and_the_cpu(layout, dtype, shape):
    status = frames_gpu_status()
    assert status["available"], status
    x = sample(dtype, shape, seed=11)
    got = frames_to_u8(x, layout, device="cuda")
    assert np.array_equal(got, numpy_reference(x, layout))
    assert np.array_equal(got, frames_to_u8(x, layout, device="cpu"))
    assert np.array_equal(frames_to_u8(x, layout, device="auto"), got)
