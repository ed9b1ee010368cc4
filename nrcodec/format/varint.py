"""Unsigned LEB128 varints for small integer tables (histograms, CDFs); signed values go through zigzag."""

from __future__ import annotations

from nrcodec.errors import FormatError


def pack_uvarints(values: list[int]) -> bytes:
    out = bytearray()
    for value in values:
        if value < 0:
            raise ValueError("varints are unsigned")
        while True:
            byte = value & 0x7F
            value >>= 7
            if value:
                out.append(byte | 0x80)
            else:
                out.append(byte)
                break
    return bytes(out)


def unpack_uvarints(data: bytes, count: int, where: str, pos: int = 0) -> tuple[list[int], int]:
    """Read ``count`` varints from ``pos``; return them and the position after them."""
    values: list[int] = []
    for _ in range(count):
        value = shift = 0
        while True:
            if pos >= len(data):
                raise FormatError(f"{where}: integer table is truncated")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 63:
                raise FormatError(f"{where}: integer table holds an oversized value")
        values.append(value)
    return values, pos


def zigzag(value: int) -> int:
    """A signed integer as an unsigned one, small magnitudes small (0, -1, 1, -2 -> 0, 1, 2, 3)."""
    return 2 * value if value >= 0 else -2 * value - 1


def unzigzag(value: int) -> int:
    """The inverse of :func:`zigzag`."""
    return (value >> 1) ^ -(value & 1)
