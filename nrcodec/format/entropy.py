"""Entropy coding with constriction's ANS coder under integer frequency tables.

Models are stored as integer counts, and turned into probabilities by exact integer-to-float
division at both ends, so encoder and decoder build bit-identical models on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import constriction
import numpy as np

from nrcodec.errors import FormatError
from nrcodec.format.varint import pack_uvarints, unpack_uvarints, unzigzag, zigzag

TABLE_TOTAL = 1 << 12
MAX_TABLE = 1 << 16


@dataclass(frozen=True)
class FrequencyTable:
    """Integer counts for the symbols ``low .. low + len(counts) - 1``."""

    low: int
    counts: tuple[int, ...]

    @classmethod
    def fit(cls, symbols: np.ndarray, total: int = TABLE_TOTAL) -> FrequencyTable:
        """Histogram of ``symbols`` scaled to about ``total``, every seen symbol kept >= 1."""
        symbols = np.asarray(symbols, dtype=np.int64)
        if symbols.size == 0:
            return cls(0, (1,))
        low = int(symbols.min())
        hist = np.bincount(symbols - low).astype(np.float64)
        scaled = np.where(hist > 0, np.maximum(1, np.round(hist * (total / symbols.size))), 0)
        return cls(low, tuple(int(c) for c in scaled))

    @property
    def high(self) -> int:
        return self.low + len(self.counts) - 1

    def probabilities(self) -> np.ndarray:
        counts = np.asarray(self.counts, dtype=np.float64)
        return counts / counts.sum()

    def bits(self, symbols: np.ndarray) -> float:
        """Ideal code length of ``symbols`` under this table, in bits (the entropy bound)."""
        symbols = np.asarray(symbols, dtype=np.int64)
        if symbols.size == 0:
            return 0.0
        hist = np.bincount(symbols - self.low, minlength=len(self.counts))
        probs = self.probabilities()
        used = hist > 0
        return float(-(hist[used] * np.log2(probs[used])).sum())

    def to_bytes(self) -> bytes:
        return pack_uvarints([zigzag(self.low), len(self.counts), *self.counts])

    @classmethod
    def from_bytes(cls, data: bytes, where: str, pos: int = 0) -> tuple[FrequencyTable, int]:
        (low, n), pos = unpack_uvarints(data, 2, where, pos)
        if not 1 <= n <= MAX_TABLE:
            raise FormatError(f"{where}: frequency table of {n} entries is out of range")
        counts, pos = unpack_uvarints(data, n, where, pos)
        if sum(counts) == 0:
            raise FormatError(f"{where}: frequency table is empty")
        return cls(unzigzag(low), tuple(counts)), pos


def _model(table: FrequencyTable) -> object:
    return constriction.stream.model.Categorical(table.probabilities(), perfect=False)


def encode(symbols: np.ndarray, table: FrequencyTable) -> bytes:
    """Code ``symbols`` (all within the table's range) to bytes.

    A table of one symbol leaves nothing to code: its symbols take no bytes at all.
    """
    symbols = np.asarray(symbols, dtype=np.int64)
    if symbols.size and (symbols.min() < table.low or symbols.max() > table.high):
        raise ValueError("symbol outside the frequency table")
    if symbols.size == 0 or len(table.counts) == 1:
        return b""
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse((symbols - table.low).astype(np.int32), _model(table))
    return coder.get_compressed().astype("<u4").tobytes()


def decode(data: bytes, table: FrequencyTable, count: int, where: str) -> np.ndarray:
    """Decode ``count`` symbols coded by :func:`encode`."""
    if count == 0 or len(table.counts) == 1:
        if data:
            raise FormatError(f"{where}: coded data where none was expected")
        return np.full(count, table.low, dtype=np.int64)
    if len(data) % 4:
        raise FormatError(f"{where}: coded data has a length of {len(data)} bytes, not a whole number of words")
    try:
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
        out = coder.decode(_model(table), count)
    except (ValueError, RuntimeError, AssertionError) as exc:
        raise FormatError(f"{where}: coded data is malformed ({exc})") from None
    if not coder.is_empty():
        raise FormatError(f"{where}: coded data does not match its model (bytes left over)")
    return out.astype(np.int64) + table.low
