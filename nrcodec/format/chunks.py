"""Chunk framing shared by every nrcodec file.

A file is ``magic (4 bytes) | format version (uint16 LE)`` followed by chunks; a chunk is
``tag (4 ASCII bytes) | payload length (uint32 LE) | payload | CRC32 (uint32 LE)`` where the
CRC covers tag, length and payload. Every length is checked against the bytes that exist
before anything is allocated, and every defect raises a FormatError naming the chunk.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from nrcodec.errors import ChecksumError, FormatError, TruncatedError

PREAMBLE = struct.Struct("<4sH")
CHUNK_HEAD = struct.Struct("<4sI")
CRC = struct.Struct("<I")
CHUNK_OVERHEAD = CHUNK_HEAD.size + CRC.size
MAX_CHUNK = 1 << 31


@dataclass(frozen=True)
class Chunk:
    """One parsed chunk; ``offset`` is where it starts in the file, ``size`` its framed size."""

    tag: bytes
    payload: bytes
    offset: int

    @property
    def size(self) -> int:
        return CHUNK_OVERHEAD + len(self.payload)

    @property
    def name(self) -> str:
        return self.tag.decode("ascii", "replace")


def preamble(magic: bytes, version: int) -> bytes:
    return PREAMBLE.pack(magic, version)


def frame(tag: bytes, payload: bytes) -> bytes:
    """Frame one chunk: header, payload and CRC32."""
    if len(tag) != 4:
        raise ValueError("chunk tags are 4 bytes")
    if len(payload) >= MAX_CHUNK:
        raise ValueError("chunk payload too large")
    head = CHUNK_HEAD.pack(tag, len(payload))
    return head + payload + CRC.pack(zlib.crc32(payload, zlib.crc32(head)))


def read_preamble(data: bytes, magic: bytes, kind: str, versions: tuple[int, ...]) -> int:
    """Check the magic and format version; return the version."""
    if len(data) < PREAMBLE.size:
        raise TruncatedError(f"not a {kind}: the file is only {len(data)} bytes long")
    got_magic, version = PREAMBLE.unpack_from(data, 0)
    if got_magic != magic:
        raise FormatError(f"not a {kind}: it does not start with the {kind} signature")
    if version not in versions:
        raise FormatError(
            f"{kind} format version {version} is not supported by this nrcodec "
            f"(supported: {', '.join(map(str, versions))}); upgrade nrcodec"
        )
    return version


def read_chunk(data: bytes, pos: int, index: int) -> Chunk:
    """The chunk at ``pos``, the ``index``-th of its file: a TruncatedError when the file ends inside
    it, a ChecksumError when its bytes do not match its CRC (``chunk_end`` then still finds the next)."""
    if len(data) - pos < CHUNK_OVERHEAD:
        raise TruncatedError(f"chunk {index} at byte {pos} is truncated (file ends inside its header)")
    tag, length = CHUNK_HEAD.unpack_from(data, pos)
    name = tag.decode("ascii", "replace")
    end = pos + CHUNK_HEAD.size + length
    if end + CRC.size > len(data):
        raise TruncatedError(
            f"chunk {index} ({name!r}) at byte {pos} announces {length} bytes but the file ends "
            f"{len(data) - pos - CHUNK_HEAD.size} bytes later"
        )
    (crc,) = CRC.unpack_from(data, end)
    if zlib.crc32(data[pos:end]) != crc:
        raise ChecksumError(f"chunk {index} ({name!r}) at byte {pos} is corrupted (CRC32 mismatch)")
    return Chunk(tag, bytes(data[pos + CHUNK_HEAD.size : end]), pos)


def chunk_end(data: bytes, pos: int) -> int:
    """Where the chunk at ``pos`` ends by its announced length (checked by ``read_chunk`` first)."""
    _, length = CHUNK_HEAD.unpack_from(data, pos)
    return pos + CHUNK_OVERHEAD + length


def read_chunks(data: bytes, start: int = PREAMBLE.size) -> list[Chunk]:
    """Parse every chunk from ``start`` to the end, validating lengths and CRCs."""
    chunks: list[Chunk] = []
    pos = start
    while pos < len(data):
        chunks.append(read_chunk(data, pos, len(chunks)))
        pos += chunks[-1].size
    return chunks
