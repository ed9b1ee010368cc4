"""Entropy coding of integer latents, in groups under one table each, into one ANS stream, with an escape.

Each channel has a :class:`FrequencyTable` whose *last* entry is the escape symbol: a value
``low <= v < high`` (``high`` being the table's last index) is coded as itself, anything else as
the escape followed, after all channels, by a side-coded overflow. One stream for all channels
keeps the 4-byte word padding of ANS to a single word per image instead of one per channel.

Overflows are coded with uniform models: a side bit (below or above the table), the bit length
``k`` of the distance to the table (1..MAX_ESCAPE_BITS) and the ``k - 1`` bits below its leading one.
"""

from __future__ import annotations

import constriction
import numpy as np

from nrcodec.errors import FormatError
from nrcodec.format.entropy import FrequencyTable

MAX_ESCAPE_BITS = 25
_HEADER_SIZES = (2, 32)


def table_range(table: FrequencyTable) -> tuple[int, int]:
    """Smallest and largest value a table codes directly (its last entry is the escape)."""
    return table.low, table.high - 1


def _categorical(table: FrequencyTable) -> object:
    return constriction.stream.model.Categorical(table.probabilities(), perfect=False)


def _overflow(values: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> tuple[np.ndarray, ...]:
    above = values > highs
    dist = np.where(above, values - highs, lows - values)
    nbits = np.floor(np.log2(dist.astype(np.float64))).astype(np.int64) + 1
    nbits = np.where((1 << nbits) <= dist, nbits + 1, nbits)  # guard float rounding at powers of two
    nbits = np.where((1 << (nbits - 1)) > dist, nbits - 1, nbits)
    return above.astype(np.int64), nbits, dist - (1 << (nbits - 1))


def encode_channels(symbols: np.ndarray, tables: list[FrequencyTable]) -> bytes:
    """Code ``symbols`` of shape (channels, n) with one escape table per channel."""
    symbols = np.asarray(symbols, dtype=np.int64)
    if symbols.ndim != 2 or symbols.shape[0] != len(tables):
        raise ValueError("symbols must be (channels, n) with one table per channel")
    return encode_groups(list(symbols), tables)


def decode_channels(data: bytes, tables: list[FrequencyTable], count: int, where: str) -> np.ndarray:
    """Decode ``count`` values per channel coded by :func:`encode_channels`; shape (channels, count)."""
    return np.stack(decode_groups(data, tables, [count] * len(tables), where)).reshape(len(tables), count)


def _bounds(tables: list[FrequencyTable], sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Per symbol of the concatenated groups: the lowest and highest value its table codes directly."""
    lows = np.repeat(np.array([t.low for t in tables], dtype=np.int64), sizes)
    highs = np.repeat(np.array([table_range(t)[1] for t in tables], dtype=np.int64), sizes)
    return lows, highs


def encode_groups(groups: list[np.ndarray], tables: list[FrequencyTable]) -> bytes:
    """Code one array of integers per table (any lengths) into one ANS stream."""
    if len(groups) != len(tables):
        raise ValueError("one group of symbols per table")
    sizes = [int(np.size(g)) for g in groups]
    if sum(sizes) == 0:
        return b""
    symbols = np.concatenate([np.asarray(g, dtype=np.int64).reshape(-1) for g in groups])
    if np.abs(symbols).max() >= 1 << (MAX_ESCAPE_BITS - 1):
        raise ValueError(f"latent values must stay below 2**{MAX_ESCAPE_BITS - 1} in magnitude")
    lows, highs = _bounds(tables, sizes)
    escaped = (symbols < lows) | (symbols > highs)
    direct = np.where(escaped, highs + 1, symbols) - lows
    side, nbits, rest = _overflow(symbols[escaped], lows[escaped], highs[escaped])
    uniform = constriction.stream.model.Uniform()
    coder = constriction.stream.stack.AnsCoder()
    wide = nbits > 1
    if wide.any():
        coder.encode_reverse(rest[wide].astype(np.int32), uniform, (1 << (nbits[wide] - 1)).astype(np.int32))
    if side.size:
        heads = np.stack([side, nbits - 1], axis=1).ravel().astype(np.int32)
        coder.encode_reverse(heads, uniform, np.tile(np.array(_HEADER_SIZES, dtype=np.int32), side.size))
    ends = np.cumsum(sizes)
    for group in reversed(range(len(tables))):
        if sizes[group]:
            part = direct[ends[group] - sizes[group] : ends[group]]
            coder.encode_reverse(part.astype(np.int32), _categorical(tables[group]))
    return coder.get_compressed().astype("<u4").tobytes()


def decode_groups(data: bytes, tables: list[FrequencyTable], sizes: list[int], where: str) -> list[np.ndarray]:
    """Decode what :func:`encode_groups` coded, ``sizes[i]`` values under ``tables[i]``."""
    if sum(sizes) == 0:
        if data:
            raise FormatError(f"{where}: coded latents where none were expected")
        return [np.zeros(0, dtype=np.int64) for _ in tables]
    if not data or len(data) % 4:
        raise FormatError(f"{where}: coded latents have {len(data)} bytes, not a whole number of words")
    uniform = constriction.stream.model.Uniform()
    try:
        coder = constriction.stream.stack.AnsCoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
        rows = [coder.decode(_categorical(t), n).astype(np.int64) for t, n in zip(tables, sizes) if n]
        direct = np.concatenate(rows)
        lows, highs = _bounds(tables, sizes)
        escaped = direct == highs + 1 - lows
        values = direct + lows
        n_esc = int(escaped.sum())
        if n_esc:
            sizes_h = np.tile(np.array(_HEADER_SIZES, dtype=np.int32), n_esc)
            heads = coder.decode(uniform, sizes_h).astype(np.int64).reshape(n_esc, 2)
            nbits = heads[:, 1] + 1
            if nbits.max() > MAX_ESCAPE_BITS:
                raise FormatError(f"{where}: an escaped latent announces more than {MAX_ESCAPE_BITS} bits")
            rest = np.zeros(n_esc, dtype=np.int64)
            wide = nbits > 1
            if wide.any():
                rest[wide] = coder.decode(uniform, (1 << (nbits[wide] - 1)).astype(np.int32))
            dist = rest + (1 << (nbits - 1))
            values[escaped] = np.where(heads[:, 0] == 1, highs[escaped] + dist, lows[escaped] - dist)
    except ValueError as exc:
        raise FormatError(f"{where}: coded latents are malformed ({exc})") from None
    if not coder.is_empty():
        raise FormatError(f"{where}: coded latents do not match the codec's tables (bytes left over)")
    return np.split(values, np.cumsum(sizes)[:-1])
