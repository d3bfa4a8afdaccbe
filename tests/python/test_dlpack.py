"""Frames from DLPack tensors (``__dlpack__``): read in place from host memory, every element
type the frame path takes (bfloat16 included, which numpy cannot hold), and every refusal a
coded error. Producers here are numpy's own ``__dlpack__`` behind a foreign object, and
``ctypes``-built capsules for what numpy cannot export (bfloat16, device memory, offsets)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from inferwarden import _native
from inferwarden.errors import DependencyUnavailableError, RequestValidationError
from inferwarden.frames import frames_gpu_status, frames_to_u8

from dlpack_producers import Handmade


class Foreign:
    """A tensor of another library: only ``__dlpack__``, so the DLPack path is taken."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array

    def __dlpack__(self, stream=None):
        return self.array.__dlpack__()


def reference(x: np.ndarray, layout: str) -> np.ndarray:
    return frames_to_u8(np.ascontiguousarray(x), layout)


def sample(dtype, shape=(1, 3, 4, 6, 8), seed=5) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-1.2, 1.2, size=shape).astype(dtype)
    x.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, 1.0]
    return x


@pytest.mark.parametrize("layout", ["NCTHW", "NTCHW"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_a_foreign_host_tensor_matches_the_array_path(layout, dtype):
    x = sample(dtype)
    got = frames_to_u8(Foreign(x), layout)
    assert got.dtype == np.uint8
    assert np.array_equal(got, reference(x, layout))


@pytest.mark.parametrize("layout", ["NCTHW", "NTCHW"])
def test_bfloat16_tensors_are_read_as_bfloat16(layout):
    bits = (sample(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    expected = frames_to_u8(bits, layout, dtype="bfloat16")
    assert np.array_equal(frames_to_u8(Handmade(bits, bits.shape, code=4, bits=16), layout), expected)
    # A uint16 tensor of bit patterns, read as asked (as the array path's dtype=...).
    as_uint = Handmade(bits, bits.shape, code=1, bits=16)
    assert np.array_equal(frames_to_u8(as_uint, layout, dtype="bfloat16"), expected)
    with pytest.raises(RequestValidationError, match="not float32, float16 or bfloat16"):
        frames_to_u8(as_uint, layout)


def test_the_byte_offset_and_compact_strides_are_honoured():
    x = sample(np.float32)
    padded = np.concatenate([np.full(16, 9.0, np.float32), x.reshape(-1)])
    strides = [int(s // 4) for s in x.strides]
    t = Handmade(padded, x.shape, code=2, bits=32, byte_offset=64, strides=strides)
    assert np.array_equal(frames_to_u8(t), reference(x, "NCTHW"))


def test_refusals_are_coded_and_name_the_problem():
    x = sample(np.float32)
    with pytest.raises(RequestValidationError, match="not C-contiguous"):
        frames_to_u8(Foreign(x.transpose(0, 2, 1, 3, 4)))
    with pytest.raises(RequestValidationError, match="5-D"):
        frames_to_u8(Foreign(x.reshape(3, 4, 48)))
    with pytest.raises(RequestValidationError, match="code 0"):
        frames_to_u8(Foreign(np.zeros((1, 3, 2, 2, 2), np.int32)))
    with pytest.raises(RequestValidationError, match="unused DLPack capsule"):
        frames_to_u8(Handmade(x, x.shape, code=2, bits=32, name=b"used_dltensor"))
    with pytest.raises(RequestValidationError, match="unused DLPack capsule"):
        _native.convert_frames_dlpack(ctypes.pythonapi.PyCapsule_New, None, "NCTHW")
    with pytest.raises(RequestValidationError, match="layout"):
        frames_to_u8(Foreign(x), "NHWC")


def test_a_device_tensor_without_a_gpu_is_refused_without_touching_its_memory():
    # The data pointer is not host memory: reading it would crash the test. A device tensor is
    # converted on its own GPU (tests/python/test_device_frames.py); with none it is a missing
    # dependency, and device="cpu" cannot read it at all.
    if frames_gpu_status()["available"]:
        pytest.skip("a GPU is present: test_device_frames.py converts device tensors there")
    x = np.zeros(1, np.float32)
    t = Handmade(x, (1, 3, 2, 4, 4), code=2, bits=16, device_type=2, data=0xDEAD0000)
    with pytest.raises(DependencyUnavailableError) as caught:
        frames_to_u8(t)
    assert caught.value.code == "dependency_unavailable"
    assert "CUDA" in caught.value.detail
    with pytest.raises(RequestValidationError, match="cannot read"):
        frames_to_u8(t, device="cpu")


def test_the_capsule_is_borrowed_not_consumed():
    # The capsule keeps its name `dltensor` (so its producer still frees the tensor), and the
    # same capsule converts again: a consumer that took it over would rename it.
    x = sample(np.float16)
    capsule = x.__dlpack__()
    first, shape, _ = _native.convert_frames_dlpack(capsule, None, "NCTHW")
    is_valid = ctypes.pythonapi.PyCapsule_IsValid
    is_valid.restype = ctypes.c_int
    is_valid.argtypes = [ctypes.py_object, ctypes.c_char_p]
    assert is_valid(capsule, b"dltensor") == 1
    again, _, _ = _native.convert_frames_dlpack(capsule, None, "NCTHW")
    assert first == again
    assert np.array_equal(np.frombuffer(first, np.uint8).reshape(shape), reference(x, "NCTHW"))
