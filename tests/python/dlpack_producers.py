"""Tensor producers the frame tests build by hand, with ``ctypes``: a DLPack capsule over any
memory (host or device, any element type, offset and strides: what numpy cannot export), and,
on a machine with an NVIDIA driver, device memory from the CUDA driver itself (so the GPU
tests need no torch or cupy)."""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]


_capsule_new = ctypes.pythonapi.PyCapsule_New
_capsule_new.restype = ctypes.py_object
_capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]


class Handmade:
    """A DLPack producer built with ``ctypes`` over a buffer kept alive with it (a numpy array,
    or a ``DeviceBuffer`` with ``device_type=2``)."""

    def __init__(self, buffer, shape, code: int, bits: int, *, device_type: int = 1, strides=None,
                 byte_offset: int = 0, data: int | None = None, name: bytes = b"dltensor") -> None:
        self.buffer = buffer
        self.name = name
        self.shape = (ctypes.c_int64 * len(shape))(*shape)
        self.strides = None if strides is None else (ctypes.c_int64 * len(strides))(*strides)
        self.managed = DLManagedTensor()
        t = self.managed.dl_tensor
        t.data = (buffer.ctypes.data if isinstance(buffer, np.ndarray) else buffer.address) if data is None else data
        t.device = DLDevice(device_type, 0)
        t.ndim = len(shape)
        t.dtype = DLDataType(code, bits, 1)
        t.shape = self.shape
        if self.strides is not None:
            t.strides = self.strides
        t.byte_offset = byte_offset

    def __dlpack__(self, stream=None):
        return _capsule_new(ctypes.addressof(self.managed), self.name, None)



    def __dlpack_device__(self):
        return (self.managed.dl_tensor.device.device_type, 0)


class CudaArray:
    """A producer with only ``__cuda_array_interface__`` (as numba's device arrays)."""

    def __init__(self, buffer, shape, typestr: str, *, strides=None, stream=None, offset: int = 0, version: int = 3) -> None:
        self.buffer = buffer
        self.__cuda_array_interface__ = {
            "shape": tuple(shape),
            "typestr": typestr,
            "data": (buffer.address + offset, False),
            "strides": strides,
            "version": version,
            "stream": stream,
        }


class Driver:
    """The CUDA driver API through ``ctypes``: device 0's primary context, memory, copies."""

    def __init__(self) -> None:
        name = ctypes.util.find_library("cuda") or "libcuda.so.1"
        self.lib = ctypes.CDLL(name)
        self.check(self.lib.cuInit(0), "cuInit")
        device = ctypes.c_int()
        self.check(self.lib.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
        self.context = ctypes.c_void_p()
        self.check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(self.context), device), "cuDevicePrimaryCtxRetain")
        self.current()

    def current(self) -> None:
        self.check(self.lib.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")

    @staticmethod
    def check(result: int, what: str) -> None:
        if result != 0:
            raise RuntimeError(f"{what} failed: CUresult {result}")


class DeviceBuffer:
    """Device memory holding a copy of a numpy array's bytes (plus ``pad`` bytes first)."""

    def __init__(self, driver: Driver, host: np.ndarray, pad: int = 0) -> None:
        self.driver = driver
        raw = np.concatenate([np.full(pad, 0x7F, np.uint8), np.ascontiguousarray(host).view(np.uint8).reshape(-1)])
        self.size = raw.size
        pointer = ctypes.c_uint64()
        driver.current()
        driver.check(driver.lib.cuMemAlloc_v2(ctypes.byref(pointer), ctypes.c_size_t(max(self.size, 1))), "cuMemAlloc")
        self.address = pointer.value + pad
        self.base = pointer.value
        driver.check(
            driver.lib.cuMemcpyHtoD_v2(ctypes.c_uint64(self.base), raw.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(self.size)),
            "cuMemcpyHtoD",
        )

    def __del__(self) -> None:
        self.driver.current()
        self.driver.lib.cuMemFree_v2(ctypes.c_uint64(self.base))
