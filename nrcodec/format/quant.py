"""Symmetric ``BITS``-bit quantization of weights, per output channel or per tensor.

Dequantization is one float32 multiply, ``q * scale``, which is exactly rounded in IEEE
arithmetic: numpy here and torch in the model give the same bits, so what the encoder trains
against is what the decoder rebuilds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRANULARITIES = ("channel", "tensor")
BITS = 8
"""Every stored weight is a signed integer of this many bits (the archive format assumes 8)."""
LEVELS = (1 << (BITS - 1)) - 1
"""Largest magnitude of a quantized value: symmetric, so -LEVELS..LEVELS."""


@dataclass(frozen=True)
class Quantized:
    """int8 values of the selected positions and the scale of each row they belong to."""

    q: np.ndarray
    scales: np.ndarray

    def dequantize(self, rows: np.ndarray) -> np.ndarray:
        """Float32 values; ``rows`` gives the output channel of each value (ignored per tensor)."""
        scale = self.scales[rows] if self.scales.size > 1 else self.scales
        return self.q.astype(np.float32) * scale


def quantize(values: np.ndarray, rows: np.ndarray, num_rows: int, granularity: str) -> Quantized:
    """Quantize ``values`` (float32) whose output-channel index is ``rows``."""
    values = np.asarray(values, dtype=np.float32)
    if granularity == "tensor":
        rows = np.zeros_like(rows)
        num_rows = 1
    elif granularity != "channel":
        raise ValueError(f"unknown quantization granularity {granularity!r}")
    peak = np.zeros(num_rows, dtype=np.float32)
    np.maximum.at(peak, rows, np.abs(values))
    scales = (peak / np.float32(LEVELS)).astype(np.float32)
    safe = np.where(scales > 0, scales, np.float32(1))
    q = np.clip(np.rint(values / safe[rows]), -LEVELS, LEVELS).astype(np.int8)
    return Quantized(q, scales)
