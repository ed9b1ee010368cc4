"""Session chunks of archive format version 2: a session that owns its whole network.

A version-2 session (the ``grow`` strategy) shares nothing with the others, and its chunk is laid
out to keep the fixed cost per session small:

    uint32 n | n bytes: zlib-deflated JSON head | every tensor's parts, in head order

The head holds the session metadata (which includes the network's architecture and weight bit
depth) and, per tensor in network order, ``[name, shape, table bytes, values bytes]``. A tensor's
parts are its integers (at most 8 bits) coded under its own histogram (``format.entropy``: the
table, then the coded values), or, when that would be larger (a bias of a few dozen values), the
raw int8 values with no table (table bytes 0); then its float32 scale. Decoding a session needs
its own chunk and nothing else.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from typing import Any

import numpy as np

from nrcodec.errors import FormatError
from nrcodec.format.nrc_v1 import CodedSize, code_values, decode_values, read_scales
from nrcodec.format.quant import Quantized
from nrcodec.format.record import need
from nrcodec.format.session import SessionRecord

_LEN = struct.Struct("<I")
SCALE_BYTES = 4
MAX_HEAD = 1 << 20
"""Bytes the head may inflate to."""
MAX_TENSOR = 1 << 24
"""Values in one tensor (bounds what a decoder allocates for a damaged chunk)."""
MAX_TENSORS = 256
MAX_VALUES = 1 << 26
"""Values in one session's network."""


def _tensor_parts(q: np.ndarray, size: CodedSize) -> tuple[bytes, bytes]:
    """(table, values) of one tensor: entropy-coded, or raw int8 with no table if that is smaller."""
    coded = code_values(q, size)
    if len(coded["table"]) + len(coded["values"]) < q.size:
        return coded["table"], coded["values"]
    return b"", q.astype(np.int8).tobytes()


def encode_session(record: SessionRecord, size: CodedSize | None = None) -> bytes:
    """A version-2 session chunk's payload: ``record.dense`` holds every tensor of its network,
    ``record.shapes`` their shapes; ``size`` collects its ideal code length."""
    size = size or CodedSize()
    models = []
    parts = []
    for name, tensor in record.dense.items():
        table, values = _tensor_parts(tensor.q, size)
        models.append([name, list(record.shapes[name]), len(table), len(values)])
        parts += [table, values, tensor.scales.astype("<f4").tobytes()]
    text = json.dumps({"meta": record.meta, "tensors": models}, separators=(",", ":"), sort_keys=True)
    head = zlib.compress(text.encode(), 9)
    return _LEN.pack(len(head)) + head + b"".join(parts)


def decode_session(payload: bytes, where: str) -> SessionRecord:
    """Decode a version-2 session chunk's payload (its tensors checked against their own table;
    the library checks them against the architecture)."""
    head, pos = _head(payload, where)
    meta = need(head, "meta", dict, where)
    frames = need(meta, "frames", int, where)
    if not 1 <= frames <= 1 << 24:
        raise FormatError(f"{where}: frame count {frames} is out of range")
    for key, kind in (("name", str), ("session", int), ("placement", dict), ("architecture", dict)):
        need(meta, key, kind, where)
    models = [_tensor_model(model, where) for model in need(head, "tensors", list, where)]
    if not 1 <= len(models) <= MAX_TENSORS or len({name for name, *_ in models}) != len(models):
        raise FormatError(f"{where}: the tensor list is malformed")
    if sum(math.prod(shape) for _, shape, _, _ in models) > MAX_VALUES:
        raise FormatError(f"{where}: the network is larger than any nrcodec writes")
    if sum(table + values + SCALE_BYTES for _, _, table, values in models) != len(payload) - pos:
        raise FormatError(f"{where}: tensor parts do not add up to the chunk's size")
    dense: dict[str, Quantized] = {}
    for name, shape, table, values in models:
        at = f"{where}, tensor {name}"
        count = math.prod(shape)
        coded = {"table": payload[pos : pos + table], "values": payload[pos + table : pos + table + values]}
        pos += table + values
        if table:
            q = decode_values(coded, count, at)
        elif values == count:
            q = np.frombuffer(coded["values"], dtype=np.int8).copy()
        else:
            raise FormatError(f"{at}: {values} raw bytes for {count} values")
        dense[name] = Quantized(q, read_scales(payload[pos : pos + SCALE_BYTES], at))
        pos += SCALE_BYTES
    return SessionRecord(meta, {}, dense, {name: shape for name, shape, _, _ in models})


def _head(payload: bytes, where: str) -> tuple[dict[str, Any], int]:
    """The inflated JSON head and where the tensor parts start."""
    if len(payload) < _LEN.size or _LEN.unpack_from(payload)[0] > len(payload) - _LEN.size:
        raise FormatError(f"{where}: the head is cut short")
    n = _LEN.unpack_from(payload)[0]
    inflate = zlib.decompressobj()
    try:
        text = inflate.decompress(payload[_LEN.size : _LEN.size + n], MAX_HEAD)
        head = json.loads(text.decode())
    except (zlib.error, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{where}: the head is not valid deflated JSON ({exc.__class__.__name__})") from None
    if inflate.unconsumed_tail or not inflate.eof or inflate.unused_data:
        raise FormatError(f"{where}: the head is malformed or larger than {MAX_HEAD} bytes")
    if not isinstance(head, dict):
        raise FormatError(f"{where}: the head is not a JSON object")
    return head, _LEN.size + n


def _tensor_model(model: Any, where: str) -> tuple[str, tuple[int, ...], int, int]:
    """[name, shape, table bytes, values bytes], checked."""
    if not (isinstance(model, list) and len(model) == 4 and isinstance(model[0], str)):
        raise FormatError(f"{where}: tensor model is malformed")
    name, shape, table, values = model
    sizes_ok = all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (table, values))
    if not (isinstance(shape, list) and 1 <= len(shape) <= 4 and sizes_ok):
        raise FormatError(f"{where}: tensor {name} is malformed")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise FormatError(f"{where}: tensor {name} has a malformed shape")
    if math.prod(shape) > MAX_TENSOR:
        raise FormatError(f"{where}: tensor {name} of shape {shape} is larger than any nrcodec writes")
    return name, tuple(shape), table, values
