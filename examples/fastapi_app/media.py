"""Tiny real PNG images for the example's fake worker and stub workspace."""

from __future__ import annotations

import struct
import zlib


def tiny_png(width: int, height: int) -> bytes:
    """A valid RGB PNG with a diagonal gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in ((x * 255) // max(width - 1, 1), (y * 255) // max(height - 1, 1), 128))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
