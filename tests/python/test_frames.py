"""Frame conversion through the Python binding against numpy's diffusers-style conversion."""

from __future__ import annotations

import numpy as np
import pytest

from inferwarden.errors import RequestValidationError
from inferwarden.frames import frames_to_u8


def numpy_reference(x: np.ndarray, layout: str) -> np.ndarray:
    u8 = ((x.astype(np.float32) / 2 + 0.5).clip(0, 1) * 255).round().astype(np.uint8)
    u8 = np.where(np.isnan(x), 0, u8).astype(np.uint8)
    return u8.transpose(0, 2, 3, 4, 1) if layout == "NCTHW" else u8.transpose(0, 1, 3, 4, 2)


@pytest.mark.parametrize("layout", ["NCTHW", "NTCHW"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_matches_numpy_bit_for_bit(layout, dtype):
    rng = np.random.default_rng(7)
    x = rng.uniform(-1.2, 1.2, size=(2, 3, 5, 7, 9)).astype(dtype)
    edges = np.array([1, -1, 1.1, -1.1, np.nan, np.inf, -np.inf, 0.0], dtype=dtype)
    x.reshape(-1)[: edges.size] = edges
    got = frames_to_u8(x, layout)
    assert got.dtype == np.uint8
    assert np.array_equal(got, numpy_reference(x, layout))


def test_non_contiguous_input_and_errors():
    x = np.zeros((1, 3, 2, 4, 4), dtype=np.float32)[:, :, :, :, ::2]
    assert frames_to_u8(x).shape == (1, 2, 4, 2, 3)
    with pytest.raises(RequestValidationError):
        frames_to_u8(np.zeros((3, 4, 4), dtype=np.float32))
    with pytest.raises(RequestValidationError):
        frames_to_u8(np.zeros((1, 1, 1, 1, 1), dtype=np.float64))
