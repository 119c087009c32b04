"""Read the pixels of a screenshot: 8-bit RGB or RGBA PNGs, with the standard library only.

Chromium's ``Page.captureScreenshot`` gives PNGs; tests check what Godot drew by the colour of
known pixels, so they need no imaging package.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

__all__ = ["Image"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Image:
    """A decoded image: ``rows[y]`` holds ``width * step`` bytes (RGB or RGBA)."""

    width: int
    height: int
    rows: list[bytes]
    step: int

    @classmethod
    def from_png(cls, png: bytes) -> Image:
        """Decode an 8-bit, non-interlaced RGB or RGBA PNG.

        Raises:
            ValueError: It is not such a PNG.
        """
        if png[:8] != _SIGNATURE:
            raise ValueError("not a PNG")
        position, compressed = 8, bytearray()
        chunks: dict[bytes, bytes] = {}
        while position < len(png):
            length, kind = struct.unpack_from(">I4s", png, position)
            data = png[position + 8 : position + 8 + length]
            position += 12 + length  # length, type, data, crc
            chunks.setdefault(kind, data)
            if kind == b"IDAT":
                compressed += data
        width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
        if depth != 8 or colour not in (2, 6) or interlace != 0:
            raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
        step = 3 if colour == 2 else 4
        raw = zlib.decompress(compressed)
        stride = width * step
        rows, previous = [], bytes(stride)
        for y in range(height):
            start = y * (stride + 1)
            line = bytearray(raw[start + 1 : start + 1 + stride])
            row = _unfilter(raw[start], line, previous, step)
            rows.append(row)
            previous = row
        return cls(width, height, rows, step)

    def rgb(self, x: int, y: int) -> tuple[int, int, int]:
        """The colour of pixel (x, y)."""
        offset = x * self.step
        r, g, b = self.rows[y][offset : offset + 3]
        return r, g, b

    def near(self, x: int, y: int, colour: tuple[int, int, int], tolerance: int = 8) -> bool:
        """Whether pixel (x, y) is ``colour``, each channel within ``tolerance``."""
        return all(abs(a - b) <= tolerance for a, b in zip(self.rgb(x, y), colour, strict=True))

    def count(
        self, box: tuple[int, int, int, int], colour: tuple[int, int, int], tolerance: int = 8
    ) -> int:
        """How many pixels of ``box`` (x0, y0, x1, y1; the ends excluded) are ``colour``."""
        x0, y0, x1, y1 = box
        return sum(
            self.near(x, y, colour, tolerance) for y in range(y0, y1) for x in range(x0, x1)
        )

    def crop(self, box: tuple[int, int, int, int]) -> bytes:
        """The bytes of the pixels of ``box``, row by row (to compare two regions)."""
        x0, y0, x1, y1 = box
        return b"".join(self.rows[y][x0 * self.step : x1 * self.step] for y in range(y0, y1))


def _unfilter(kind: int, row: bytearray, up: bytes, step: int) -> bytes:
    """Undo one row's PNG filter (0 none, 1 sub, 2 up, 3 average, 4 Paeth)."""
    for i in range(len(row)):
        left = row[i - step] if i >= step else 0
        corner = up[i - step] if i >= step else 0
        if kind == 1:
            row[i] = (row[i] + left) & 0xFF
        elif kind == 2:
            row[i] = (row[i] + up[i]) & 0xFF
        elif kind == 3:
            row[i] = (row[i] + (left + up[i]) // 2) & 0xFF
        elif kind == 4:
            row[i] = (row[i] + _paeth(left, up[i], corner)) & 0xFF
    return bytes(row)


def _paeth(left: int, up: int, corner: int) -> int:
    guess = left + up - corner
    near_left, near_up, near_corner = abs(guess - left), abs(guess - up), abs(guess - corner)
    if near_left <= near_up and near_left <= near_corner:
        return left
    return up if near_up <= near_corner else corner
