"""Boolean arrays <-> packed bytes (little bit order)."""

from __future__ import annotations

import numpy as np

from nrcodec.errors import FormatError


def pack_bits(bits: np.ndarray) -> bytes:
    return np.packbits(np.asarray(bits, dtype=bool).ravel(), bitorder="little").tobytes()


def unpack_bits(data: bytes, count: int, where: str) -> np.ndarray:
    if len(data) != (count + 7) // 8:
        raise FormatError(f"{where}: bitset of {len(data)} bytes cannot hold exactly {count} bits")
    return np.unpackbits(np.frombuffer(data, dtype=np.uint8), count=count, bitorder="little").astype(bool)
