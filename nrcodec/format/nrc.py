"""The archive file (.nrc): magic, a header chunk, then one chunk per session.

A session chunk is a record whose JSON holds the session metadata and per-layer coding models,
and whose blobs hold, per masked layer, the mask coded in two contexts (positions already
frozen, positions still free: the decoder knows which is which from the earlier sessions), the
session's new 8-bit weights coded under a stored histogram, and the dequantization scales;
then the dense per-session tensors (head, biases) coded the same way. A session of a strategy that
is not forget-free adds one more part per layer: the bitset of the weights it rewrote.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from nrcodec.errors import FormatError
from nrcodec.format import entropy
from nrcodec.format.chunks import PREAMBLE, frame, preamble, read_chunks, read_preamble
from nrcodec.format.entropy import FrequencyTable
from nrcodec.format.quant import Quantized
from nrcodec.format.record import blob, need, pack_record, unpack_record
from nrcodec.format.session import LayerRecord, SessionRecord

MAGIC = b"NRCA"
VERSION = 1
KIND = "nrcodec archive (.nrc)"
HEADER_TAG = b"HEAD"
SESSION_TAG = b"SESS"
MAX_SCALES = 1 << 20


@dataclass
class ParsedArchive:
    """An archive split into its header and its session chunks (not yet decoded)."""

    version: int
    header: dict[str, Any]
    header_bytes: int
    sessions: list[bytes]
    session_bytes: list[int]


def header_chunk(header: dict[str, Any]) -> bytes:
    return preamble(MAGIC, VERSION) + frame(HEADER_TAG, pack_record(header))


def parse(data: bytes) -> ParsedArchive:
    version = read_preamble(data, MAGIC, KIND, (VERSION,))
    chunks = read_chunks(data)
    if not chunks or chunks[0].tag != HEADER_TAG:
        raise FormatError("archive has no header chunk; the file is damaged")
    header, _ = unpack_record(chunks[0].payload, "header chunk")
    for i, chunk in enumerate(chunks[1:], start=1):
        if chunk.tag != SESSION_TAG:
            raise FormatError(f"chunk {i} has unknown tag {chunk.name!r}")
    return ParsedArchive(
        version,
        header,
        PREAMBLE.size + chunks[0].size,
        [c.payload for c in chunks[1:]],
        [c.size for c in chunks[1:]],
    )


def _code_bits(bits: np.ndarray) -> tuple[list[int], bytes]:
    ones = int(bits.sum())
    counts = [int(bits.size - ones), ones]
    if bits.size == 0 or 0 in counts:
        return counts, b""
    return counts, entropy.encode(bits.astype(np.int64), FrequencyTable(0, tuple(counts)))


def _decode_bits(data: bytes, counts: Any, size: int, where: str) -> np.ndarray:
    if not (isinstance(counts, list) and len(counts) == 2 and all(isinstance(c, int) and c >= 0 for c in counts)):
        raise FormatError(f"{where}: mask model is malformed")
    if sum(counts) != size:
        raise FormatError(f"{where}: mask model covers {sum(counts)} positions, expected {size}")
    if 0 in counts:
        if data:
            raise FormatError(f"{where}: unexpected coded mask bits")
        return np.full(size, counts[1] > 0, dtype=bool)
    return entropy.decode(data, FrequencyTable(0, tuple(counts)), size, where).astype(bool)


def _code_values(q: np.ndarray) -> tuple[FrequencyTable, bytes]:
    table = FrequencyTable.fit(q)
    return table, entropy.encode(q.astype(np.int64), table)


def _decode_values(table_bytes: bytes, data: bytes, count: int, where: str) -> np.ndarray:
    table, end = FrequencyTable.from_bytes(table_bytes, where)
    if end != len(table_bytes) or table.low < -127 or table.high > 127:
        raise FormatError(f"{where}: weight model is malformed")
    return entropy.decode(data, table, count, where).astype(np.int8)


def _scales(data: bytes, where: str) -> np.ndarray:
    if len(data) % 4 or not 4 <= len(data) <= 4 * MAX_SCALES:
        raise FormatError(f"{where}: scales blob has {len(data)} bytes")
    scales = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise FormatError(f"{where}: scales are not finite and non-negative")
    return scales


@dataclass
class CodedSize:
    """Ideal code length of a session's coded parts under their stored models, in bits."""

    bits: float = 0.0


def _split(data: bytes, sizes: Any, parts: int, where: str) -> list[bytes]:
    """Cut a blob into ``parts`` pieces of the sizes the metadata gives."""
    if not (isinstance(sizes, list) and len(sizes) == parts and all(isinstance(v, int) and v >= 0 for v in sizes)):
        raise FormatError(f"{where}: part sizes are malformed")
    if sum(sizes) != len(data):
        raise FormatError(f"{where}: parts add up to {sum(sizes)} bytes but the blob has {len(data)}")
    offsets = np.cumsum([0, *sizes])
    return [data[a:b] for a, b in pairwise(offsets)]


def encode_session(record: SessionRecord, frozen_before: dict[str, np.ndarray], size: CodedSize | None = None) -> bytes:
    """One framed session chunk: a blob per masked layer and one for all dense tensors."""
    size = size if size is not None else CodedSize()
    models: dict[str, Any] = {}
    blobs: dict[str, bytes] = {}
    for n, layer in record.layers.items():
        frozen = frozen_before[n]
        bitsets = {"frozen": layer.mask[frozen], "free": layer.mask[~frozen]}
        if layer.written is not None:
            bitsets["written"] = layer.written
        coded_bits = {key: _code_bits(bits) for key, bits in bitsets.items()}
        table, coded = _code_values(layer.new.q)
        scales = layer.new.scales.astype("<f4").tobytes()
        parts = [table.to_bytes(), *(c for _, c in coded_bits.values()), coded, scales]
        models[n] = {key: counts for key, (counts, _) in coded_bits.items()} | {"parts": [len(p) for p in parts]}
        blobs[n] = b"".join(parts)
        for key, (counts, _) in coded_bits.items():
            if 0 not in counts:
                size.bits += FrequencyTable(0, tuple(counts)).bits(bitsets[key].astype(np.int64))
        size.bits += table.bits(layer.new.q)
    dense_q = np.concatenate([t.q for t in record.dense.values()]) if record.dense else np.zeros(0, np.int8)
    table, coded = _code_values(dense_q)
    scales = np.concatenate([t.scales for t in record.dense.values()]) if record.dense else np.zeros(0)
    dense_parts = [table.to_bytes(), coded, scales.astype("<f4").tobytes()]
    blobs["dense"] = b"".join(dense_parts)
    size.bits += table.bits(dense_q)
    dense = {
        "names": list(record.dense),
        "sizes": [int(t.q.size) for t in record.dense.values()],
        "parts": [len(p) for p in dense_parts],
    }
    meta = {"meta": record.meta, "layers": models, "dense": dense}
    return frame(SESSION_TAG, pack_record(meta, blobs))


def decode_session(
    payload: bytes,
    layer_sizes: dict[str, int],
    session_sizes: Callable[[int], dict[str, int]],
    frozen_before: dict[str, np.ndarray],
    session: int,
) -> SessionRecord:
    """Decode a session chunk; ``frozen_before`` is the frozen set after the earlier sessions and
    ``session_sizes`` gives the dense tensors' sizes for the session's frame count."""
    where = f"session {session} chunk"
    head, blobs = unpack_record(payload, where)
    meta = need(head, "meta", dict, where)
    frames = need(meta, "frames", int, where)
    if not 1 <= frames <= 1 << 24:
        raise FormatError(f"{where}: frame count {frames} is out of range")
    need(meta, "name", str, where)
    need(meta, "session", int, where)
    need(meta, "placement", dict, where)
    models = need(head, "layers", dict, where)
    if set(models) != set(layer_sizes):
        raise FormatError(f"{where}: layers {sorted(models)} do not match the architecture")
    layers: dict[str, LayerRecord] = {}
    for n, numel in layer_sizes.items():
        at = f"{where}, layer {n}"
        model = models[n]
        if not isinstance(model, dict):
            raise FormatError(f"{at}: model is malformed")
        rewrites = "written" in model
        parts = _split(blob(blobs, n, where), model.get("parts"), 6 if rewrites else 5, at)
        table, coded_frozen, coded_free, coded, scales = parts[:3] + parts[-2:]
        frozen = frozen_before[n]
        mask = np.zeros(numel, dtype=bool)
        mask[frozen] = _decode_bits(coded_frozen, model.get("frozen"), int(frozen.sum()), at)
        mask[~frozen] = _decode_bits(coded_free, model.get("free"), int((~frozen).sum()), at)
        written = _decode_bits(parts[3], model.get("written"), numel, at) if rewrites else None
        count = int((mask & ~frozen).sum()) if written is None else int(written.sum())
        q = _decode_values(table, coded, count, at)
        layers[n] = LayerRecord(mask, Quantized(q, _scales(scales, at)), written)
    dense_sizes = session_sizes(frames)
    dense_meta = need(head, "dense", dict, where)
    if dense_meta.get("names") != list(dense_sizes) or dense_meta.get("sizes") != list(dense_sizes.values()):
        raise FormatError(f"{where}: dense tensors do not match the architecture")
    at = f"{where}, dense tensors"
    table, coded, scales = _split(blob(blobs, "dense", where), dense_meta.get("parts"), 3, at)
    q = _decode_values(table, coded, sum(dense_sizes.values()), at)
    all_scales = _scales(scales, at)
    if all_scales.size != len(dense_sizes):
        raise FormatError(f"{at}: expected one scale per tensor")
    offsets = np.cumsum([0, *dense_sizes.values()])
    dense = {
        n: Quantized(q[a:b], all_scales[i : i + 1])
        for i, (n, a, b) in enumerate(zip(dense_sizes, offsets[:-1], offsets[1:]))
    }
    return SessionRecord(meta, layers, dense)
