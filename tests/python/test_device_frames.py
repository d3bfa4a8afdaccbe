"""Frames from tensors in GPU memory (DLPack with a CUDA device, ``__cuda_array_interface__``)
and frames kept on the GPU (``out="device"``, a ``DeviceFrames``).

On every machine: where a conversion may run, and every refusal a coded error raised before
a device address is followed (the addresses here are not memory at all). With
``INFERWARDEN_GPU=1`` on a GPU machine (``scripts/gpu-check.sh``): tensors in device memory
allocated through the CUDA driver itself (``dlpack_producers.Driver``) are converted where they
lie, aligned or at an offset, into host memory and into device memory, byte for byte as the CPU
path; the frames kept on the device come back through ``copy_to_host``, DLPack and
``__cuda_array_interface__``; torch and cupy, when installed there, too."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

from inferwarden import _native
from inferwarden.errors import DependencyUnavailableError, RequestValidationError
from inferwarden.frames import DeviceFrames, frames_gpu_status, frames_to_u8

from dlpack_producers import CudaArray, DeviceBuffer, Driver, Handmade

GPU = os.environ.get("INFERWARDEN_GPU") == "1"
NOWHERE = 0xDEAD0000


class Nowhere:
    """Stands in for device memory on a machine without a GPU: an address never followed."""

    address = NOWHERE


def cuda_array(**changes):
    interface = {"shape": (1, 3, 2, 4, 4), "typestr": "<f4", "data": (NOWHERE, False), "version": 3, "strides": None}
    interface.update(changes)
    array = CudaArray(Nowhere(), (1,), "<f4")
    array.__cuda_array_interface__ = interface
    return array


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"typestr": ">f4"}, "big-endian"),
        ({"typestr": "<i4"}, "not float32, float16 or bfloat16"),
        ({"typestr": 7}, "must be a string"),
        ({"shape": (3, 2, 4, 4)}, "5-D"),
        ({"shape": None}, "shape"),
        ({"data": NOWHERE}, "data"),
        ({"strides": (192, 64, 4, 32, 8)}, "not C-contiguous"),
        ({"strides": (192, 64, 32, 8, 3)}, "not whole elements"),
        ({"version": 9}, "version 9"),
        ({"mask": object()}, "masked"),
        ({"stream": 0}, "stream 0"),
        ({"stream": "fast"}, "stream"),
    ],
)
def test_a_cuda_array_that_is_not_frame_data_is_refused_with_its_reason(changes, reason):
    with pytest.raises(RequestValidationError, match=reason) as caught:
        frames_to_u8(cuda_array(**changes))
    assert caught.value.code == "validation_error"


def test_arguments_are_checked_before_any_device_work():
    with pytest.raises(RequestValidationError, match="out must be host or device"):
        frames_to_u8(np.zeros((1, 3, 1, 2, 2), np.float32), out="gpu")
    with pytest.raises(RequestValidationError, match="device must be"):
        frames_to_u8(cuda_array(), device="tpu")
    with pytest.raises(RequestValidationError, match="must be a dict"):
        _native.convert_frames_cuda_array([1, 2], None, "NCTHW")
    with pytest.raises(RequestValidationError, match="no data"):
        frames_to_u8(cuda_array(data=(0, False)))


def test_device_memory_is_never_read_on_the_cpu():
    # Refused by where it is, before the driver is asked anything.
    with pytest.raises(RequestValidationError, match="cannot read"):
        frames_to_u8(cuda_array(), device="cpu")
    t = Handmade(Nowhere(), (1, 3, 2, 4, 4), code=2, bits=32, device_type=2)
    with pytest.raises(RequestValidationError, match="cannot read"):
        frames_to_u8(t, device="cpu")


def test_a_device_tensor_misaligned_for_its_element_is_refused_before_the_driver():
    # A misaligned load faults the whole device context (the producer's too): refused here.
    t = Handmade(Nowhere(), (1, 3, 2, 4, 4), code=2, bits=32, device_type=2, byte_offset=2)
    with pytest.raises(RequestValidationError, match="not a multiple of its 4-byte element"):
        frames_to_u8(t)
    array = cuda_array(data=(NOWHERE + 3, False), typestr="<f2")
    with pytest.raises(RequestValidationError, match="2-byte element"):
        frames_to_u8(array)


def test_frames_kept_on_the_device_need_the_conversion_on_a_gpu():
    x = np.zeros((1, 3, 2, 4, 4), np.float32)
    for device in (None, "cpu"):
        with pytest.raises(RequestValidationError, match='out="device"'):
            frames_to_u8(x, device=device, out="device")


@pytest.mark.skipif(frames_gpu_status()["available"], reason="the no-GPU path; a GPU runs the INFERWARDEN_GPU=1 tests")
def test_without_a_gpu_device_tensors_are_a_missing_dependency():
    assert not GPU, "INFERWARDEN_GPU=1 but the GPU path did not load"
    t = Handmade(Nowhere(), (1, 3, 2, 4, 4), code=2, bits=32, device_type=2)
    for case in (lambda: frames_to_u8(t), lambda: frames_to_u8(t, out="device"), lambda: frames_to_u8(cuda_array())):
        with pytest.raises(DependencyUnavailableError, match="CUDA") as caught:
            case()
        assert caught.value.code == "dependency_unavailable"
        assert caught.value.http_status == 503
    with pytest.raises(DependencyUnavailableError):
        frames_to_u8(np.zeros((1, 3, 2, 4, 4), np.float32), device="auto", out="device")


def numpy_reference(x: np.ndarray, layout: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        u8 = ((x.astype(np.float32) / 2 + 0.5).clip(0, 1) * 255).round().astype(np.uint8)
    u8 = np.where(np.isnan(x), 0, u8).astype(np.uint8)
    return u8.transpose(0, 2, 3, 4, 1) if layout == "NCTHW" else u8.transpose(0, 1, 3, 4, 2)


def sample(dtype, shape, seed=3) -> np.ndarray:
    x = np.random.default_rng(seed).uniform(-1.2, 1.2, size=shape).astype(dtype)
    x.reshape(-1)[:4] = [np.nan, np.inf, -np.inf, 1.0]
    return x


needs_gpu = pytest.mark.skipif(not GPU, reason="needs a GPU: INFERWARDEN_GPU=1 scripts/gpu-check.sh")


@pytest.fixture(scope="module")
def driver() -> Driver:
    return Driver()


@needs_gpu
@pytest.mark.parametrize("layout", ["NCTHW", "NTCHW"])
@pytest.mark.parametrize(("dtype", "code", "pad"), [(np.float32, 2, 0), (np.float32, 2, 4), (np.float16, 2, 0), (np.float16, 2, 2)])
@pytest.mark.parametrize("shape", [(1, 3, 4, 32, 48), (2, 4, 3, 5, 7)])
def test_gpu_a_dlpack_device_tensor_converts_where_it_lies(driver, layout, dtype, code, pad, shape):
    x = sample(dtype, shape)
    want = numpy_reference(x, layout)
    memory = DeviceBuffer(driver, x, pad=pad)
    t = Handmade(memory, shape, code=code, bits=x.dtype.itemsize * 8, device_type=2)
    got = frames_to_u8(t, layout)
    assert isinstance(got, np.ndarray) and got.dtype == np.uint8
    assert np.array_equal(got, want)
    kept = frames_to_u8(t, layout, out="device")
    assert isinstance(kept, DeviceFrames)
    assert kept.shape == want.shape and kept.nbytes == want.size and kept.device_id == 0
    assert np.array_equal(np.frombuffer(kept.copy_to_host(), np.uint8).reshape(want.shape), want)


@needs_gpu
def test_gpu_bfloat16_and_a_cuda_array_interface(driver):
    x = sample(np.float32, (1, 3, 2, 8, 8))
    bits = (x.view(np.uint32) >> 16).astype(np.uint16)
    want = frames_to_u8(bits, dtype="bfloat16")
    memory = DeviceBuffer(driver, bits)
    assert np.array_equal(frames_to_u8(Handmade(memory, bits.shape, code=4, bits=16, device_type=2)), want)
    # The same memory through __cuda_array_interface__ (uint16 read as bfloat16), the
    # producer's stream waited for.
    for stream in (None, 1, 2):
        array = CudaArray(memory, bits.shape, "<u2", stream=stream)
        assert np.array_equal(frames_to_u8(array, dtype="bfloat16"), want)
    strides = tuple(s for s in bits.strides)
    assert np.array_equal(frames_to_u8(CudaArray(memory, bits.shape, "<u2", strides=strides), dtype="bfloat16"), want)


@needs_gpu
def test_gpu_frames_kept_on_the_device_export_through_dlpack_and_the_array_interface(driver):
    x = sample(np.float32, (1, 3, 2, 8, 8))
    want = numpy_reference(x, "NCTHW")
    kept = frames_to_u8(x, device="cuda", out="device")
    assert repr(kept).startswith("DeviceFrames(shape=(1, 2, 8, 8, 3)")
    assert kept.__dlpack_device__() == (2, 0)
    interface = kept.__cuda_array_interface__
    assert interface["typestr"] == "|u1" and interface["shape"] == want.shape and interface["version"] == 3
    # The exported capsule: a uint8 5-D tensor at the same address; read back through the
    # array interface path of frames_to_u8's own reader is not possible (uint8 is not frame
    # data), so the capsule's fields are read here.
    capsule = kept.__dlpack__(stream=1)
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype = ctypes.c_void_p
    get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    from dlpack_producers import DLManagedTensor

    managed = DLManagedTensor.from_address(get_pointer(capsule, b"dltensor"))
    t = managed.dl_tensor
    assert (t.device.device_type, t.device.device_id, t.ndim) == (2, 0, 5)
    assert (t.dtype.code, t.dtype.bits, t.dtype.lanes) == (1, 8, 1)
    assert tuple(t.shape[i] for i in range(5)) == want.shape
    assert t.data == interface["data"][0]
    del capsule  # never consumed: its destructor frees the tensor
    # A consumer takes the tensor over: renames the capsule, calls the deleter itself (once),
    # and the capsule's destructor then leaves it alone.
    taken = kept.__dlpack__()
    address = get_pointer(taken, b"dltensor")
    set_name = ctypes.pythonapi.PyCapsule_SetName
    set_name.argtypes = [ctypes.py_object, ctypes.c_char_p]
    assert set_name(taken, b"used_dltensor") == 0
    consumed = DLManagedTensor.from_address(address)
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(consumed.deleter)(address)
    del taken
    with pytest.raises(BufferError):
        kept.__dlpack__(dl_device=(1, 0))
    with pytest.raises(BufferError):
        kept.__dlpack__(copy=True)
    assert np.array_equal(np.frombuffer(kept.copy_to_host(), np.uint8).reshape(want.shape), want)


@needs_gpu
def test_gpu_torch_and_cupy_tensors_when_installed():
    x = sample(np.float32, (1, 3, 4, 16, 16))
    want = numpy_reference(x, "NCTHW")
    ran = 0
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available():
        t = torch.from_numpy(x).cuda()
        assert np.array_equal(frames_to_u8(t), want)
        assert np.array_equal(frames_to_u8(t.to(torch.float16)), numpy_reference(x.astype(np.float16), "NCTHW"))
        kept = torch.from_dlpack(frames_to_u8(t, out="device"))
        assert kept.is_cuda and np.array_equal(kept.cpu().numpy(), want)
        ran += 1
    try:
        import cupy
    except ImportError:
        cupy = None
    if cupy is not None:
        c = cupy.asarray(x)
        assert np.array_equal(frames_to_u8(c), want)
        kept = cupy.asarray(frames_to_u8(c, out="device"))
        assert np.array_equal(cupy.asnumpy(kept), want)
        ran += 1
    if ran == 0:
        pytest.skip("neither torch with CUDA nor cupy is installed on this GPU machine")
