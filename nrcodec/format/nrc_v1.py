"""Session chunks of archive format version 1, described once by ``LAYER_PARTS`` / ``DENSE_PARTS``.

A session chunk is a record whose JSON holds the session metadata and per-layer coding models,
and whose blobs hold, per masked layer, the parts of ``LAYER_PARTS`` in that order: the histogram
of the new weights, the mask coded in two contexts (positions already frozen, positions still
free: the decoder knows which is which from the earlier sessions), for a strategy that is not
forget-free the bitset of the weights the session rewrote, the new ``BITS``-bit weights coded under
the histogram, and the dequantization scales. One more blob holds the dense per-session tensors
(head, biases) as ``DENSE_PARTS``. The encoder and the decoder both walk these tables; the JSON
lists each part's byte length (``parts``) and each bitset's counts (its coding model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np

from nrcodec.errors import FormatError
from nrcodec.format import entropy
from nrcodec.format.entropy import FrequencyTable
from nrcodec.format.quant import LEVELS, Quantized
from nrcodec.format.record import blob, need, pack_record, unpack_record
from nrcodec.format.session import LayerRecord, SessionRecord

LAYER_PARTS = ("table", "frozen", "free", "written", "values", "scales")
"""Parts of a masked layer's blob, in order; ``written`` only for sessions that rewrite weights."""
DENSE_PARTS = ("table", "values", "scales")
MAX_SCALES = 1 << 20


@dataclass
class CodedSize:
    """Ideal code length of a session's coded parts under their stored models, in bits."""

    bits: float = 0.0


def _code_bits(bits: np.ndarray) -> tuple[list[int], bytes]:
    ones = int(bits.sum())
    counts = [int(bits.size - ones), ones]
    if bits.size == 0 or 0 in counts:
        return counts, b""
    return counts, entropy.encode(bits.astype(np.int64), FrequencyTable(0, tuple(counts)))


def _bits_cost(bits: np.ndarray, counts: list[int]) -> float:
    return 0.0 if 0 in counts else FrequencyTable(0, tuple(counts)).bits(bits.astype(np.int64))


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


def code_values(q: np.ndarray, size: CodedSize) -> dict[str, bytes]:
    """The ``table`` and ``values`` parts of quantized values."""
    table = FrequencyTable.fit(q)
    size.bits += table.bits(q)
    return {"table": table.to_bytes(), "values": entropy.encode(q.astype(np.int64), table)}


def decode_values(parts: dict[str, bytes], count: int, where: str) -> np.ndarray:
    table, end = FrequencyTable.from_bytes(parts["table"], where)
    if end != len(parts["table"]) or table.low < -LEVELS or table.high > LEVELS:
        raise FormatError(f"{where}: weight model is malformed")
    return entropy.decode(parts["values"], table, count, where).astype(np.int8)


def read_scales(data: bytes, where: str) -> np.ndarray:
    if len(data) % 4 or not 4 <= len(data) <= 4 * MAX_SCALES:
        raise FormatError(f"{where}: scales blob has {len(data)} bytes")
    scales = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise FormatError(f"{where}: scales are not finite and non-negative")
    return scales


def join_parts(parts: dict[str, bytes], order: tuple[str, ...]) -> tuple[list[int], bytes]:
    """The blob of ``parts`` in table order, and the sizes the JSON lists."""
    present = [parts[name] for name in order if name in parts]
    return [len(p) for p in present], b"".join(present)


def split_parts(data: bytes, sizes: Any, names: list[str], where: str) -> dict[str, bytes]:
    """Cut a blob into the named parts of the sizes the metadata gives."""
    if not (isinstance(sizes, list) and len(sizes) == len(names) and all(isinstance(v, int) and v >= 0 for v in sizes)):
        raise FormatError(f"{where}: part sizes are malformed")
    if sum(sizes) != len(data):
        raise FormatError(f"{where}: parts add up to {sum(sizes)} bytes but the blob has {len(data)}")
    offsets = np.cumsum([0, *sizes])
    return {name: data[a:b] for name, (a, b) in zip(names, pairwise(offsets))}


def _encode_layer(layer: LayerRecord, frozen: np.ndarray, size: CodedSize) -> tuple[dict[str, Any], bytes]:
    bitsets = {"frozen": layer.mask[frozen], "free": layer.mask[~frozen]}
    if layer.written is not None:
        bitsets["written"] = layer.written
    model: dict[str, Any] = {}
    parts = code_values(layer.new.q, size)
    for key, bits in bitsets.items():
        model[key], parts[key] = _code_bits(bits)
        size.bits += _bits_cost(bits, model[key])
    parts["scales"] = layer.new.scales.astype("<f4").tobytes()
    model["parts"], data = join_parts(parts, LAYER_PARTS)
    return model, data


def _encode_dense(dense: dict[str, Quantized], size: CodedSize) -> tuple[dict[str, Any], bytes]:
    q = np.concatenate([t.q for t in dense.values()]) if dense else np.zeros(0, np.int8)
    scales = np.concatenate([t.scales for t in dense.values()]) if dense else np.zeros(0)
    parts = code_values(q, size) | {"scales": scales.astype("<f4").tobytes()}
    sizes, data = join_parts(parts, DENSE_PARTS)
    return {"names": list(dense), "sizes": [int(t.q.size) for t in dense.values()], "parts": sizes}, data


def encode_session(record: SessionRecord, frozen_before: dict[str, np.ndarray], size: CodedSize | None = None) -> bytes:
    """A session chunk's payload: a blob per masked layer and one for all dense tensors; ``size``
    collects its ideal code length."""
    size = size or CodedSize()
    models: dict[str, Any] = {}
    blobs: dict[str, bytes] = {}
    for n, layer in record.layers.items():
        models[n], blobs[n] = _encode_layer(layer, frozen_before[n], size)
    dense, blobs["dense"] = _encode_dense(record.dense, size)
    return pack_record({"meta": record.meta, "layers": models, "dense": dense}, blobs)


def _decode_layer(data: bytes, model: Any, frozen: np.ndarray, where: str) -> LayerRecord:
    if not isinstance(model, dict):
        raise FormatError(f"{where}: model is malformed")
    rewrites = "written" in model
    names = [name for name in LAYER_PARTS if name != "written" or rewrites]
    parts = split_parts(data, model.get("parts"), names, where)
    mask = np.zeros(frozen.size, dtype=bool)
    mask[frozen] = _decode_bits(parts["frozen"], model.get("frozen"), int(frozen.sum()), where)
    mask[~frozen] = _decode_bits(parts["free"], model.get("free"), int((~frozen).sum()), where)
    written = _decode_bits(parts["written"], model.get("written"), frozen.size, where) if rewrites else None
    count = int((mask & ~frozen).sum()) if written is None else int(written.sum())
    q = decode_values(parts, count, where)
    return LayerRecord(mask, Quantized(q, read_scales(parts["scales"], where)), written)


def _decode_dense(data: bytes, meta: dict[str, Any], sizes: dict[str, int], where: str) -> dict[str, Quantized]:
    if meta.get("names") != list(sizes) or meta.get("sizes") != list(sizes.values()):
        raise FormatError(f"{where}: dense tensors do not match the architecture")
    at = f"{where}, dense tensors"
    parts = split_parts(data, meta.get("parts"), list(DENSE_PARTS), at)
    q = decode_values(parts, sum(sizes.values()), at)
    scales = read_scales(parts["scales"], at)
    if scales.size != len(sizes):
        raise FormatError(f"{at}: expected one scale per tensor")
    offsets = np.cumsum([0, *sizes.values()])
    return {n: Quantized(q[a:b], scales[i : i + 1]) for i, (n, (a, b)) in enumerate(zip(sizes, pairwise(offsets)))}


def decode_session(
    payload: bytes,
    frozen_before: dict[str, np.ndarray],
    session_sizes: Callable[[int], dict[str, int]],
    where: str,
) -> SessionRecord:
    """Decode a session chunk's payload; ``frozen_before`` is the flat frozen set of every masked
    layer after the earlier sessions, ``session_sizes`` the dense tensors' sizes for a frame count."""
    head, blobs = unpack_record(payload, where)
    meta = need(head, "meta", dict, where)
    frames = need(meta, "frames", int, where)
    if not 1 <= frames <= 1 << 24:
        raise FormatError(f"{where}: frame count {frames} is out of range")
    need(meta, "name", str, where)
    need(meta, "session", int, where)
    need(meta, "placement", dict, where)
    models = need(head, "layers", dict, where)
    if set(models) != set(frozen_before):
        raise FormatError(f"{where}: layers {sorted(models)} do not match the architecture")
    layers = {
        n: _decode_layer(blob(blobs, n, where), models[n], frozen, f"{where}, layer {n}")
        for n, frozen in frozen_before.items()
    }
    dense = _decode_dense(blob(blobs, "dense", where), need(head, "dense", dict, where), session_sizes(frames), where)
    return SessionRecord(meta, layers, dense)
