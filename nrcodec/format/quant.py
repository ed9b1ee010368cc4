"""Symmetric b-bit quantization of weights (``BITS`` = 8 unless asked), per output channel or per tensor.

Dequantization is one float32 multiply, ``q * scale``, which is exactly rounded in IEEE
arithmetic: numpy here and torch in the model give the same bits, so what the encoder trains
against is what the decoder rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRANULARITIES = ("channel", "tensor")
BITS = 8
"""Bits of a stored weight in version-1 archives and the most any archive stores (values fit int8)."""


def levels(bits: int) -> int:
    """Largest magnitude of a ``bits``-bit value: symmetric, so -levels..levels."""
    return (1 << (bits - 1)) - 1


LEVELS = levels(BITS)


@dataclass(frozen=True)
class Quantized:
    """int8 values of the selected positions and the scale of each row they belong to."""

    q: np.ndarray
    scales: np.ndarray

    def dequantize(self, rows: np.ndarray) -> np.ndarray:
        """Float32 values; ``rows`` gives the output channel of each value (ignored per tensor)."""
        scale = self.scales[rows] if self.scales.size > 1 else self.scales
        return self.q.astype(np.float32) * scale


def quantize(values: np.ndarray, rows: np.ndarray, num_rows: int, granularity: str, bits: int = BITS) -> Quantized:
    """Quantize ``values`` (float32) whose output-channel index is ``rows`` to ``bits`` bits."""
    values = np.asarray(values, dtype=np.float32)
    if granularity == "tensor":
        rows = np.zeros_like(rows)
        num_rows = 1
    elif granularity != "channel":
        raise ValueError(f"unknown quantization granularity {granularity!r}")
    peak = np.zeros(num_rows, dtype=np.float32)
    np.maximum.at(peak, rows, np.abs(values))
    top = levels(bits)
    scales = (peak / np.float32(top)).astype(np.float32)
    safe = np.where(scales > 0, scales, np.float32(1))
    q = np.clip(np.rint(values / safe[rows]), -top, top).astype(np.int8)
    return Quantized(q, scales)
