"""Session chunks of archive format version 2: a session that owns its whole network.

A version-2 session (the ``grow`` strategy) shares nothing with the others: its chunk holds its
metadata, which includes the network's architecture and weight bit depth, and every tensor of
that network as integers of at most 8 bits with one float32 scale, coded under the tensor's own
histogram (``format.entropy``). The record's JSON lists, per tensor in network order, its name,
shape and the byte lengths of its parts (``TENSOR_PARTS``); each tensor is one blob. Decoding a
session needs its own chunk and nothing else.
"""

from __future__ import annotations

import math
from typing import Any

from nrcodec.errors import FormatError
from nrcodec.format.nrc_v1 import CodedSize, code_values, decode_values, join_parts, read_scales, split_parts
from nrcodec.format.quant import Quantized
from nrcodec.format.record import blob, need, pack_record, unpack_record
from nrcodec.format.session import SessionRecord

TENSOR_PARTS = ("table", "values", "scales")
MAX_TENSOR = 1 << 24
"""Values in one tensor (bounds what a decoder allocates for a damaged chunk)."""
MAX_TENSORS = 256
MAX_VALUES = 1 << 26
"""Values in one session's network."""


def encode_session(record: SessionRecord, size: CodedSize) -> bytes:
    """A version-2 session chunk's payload: ``record.dense`` holds every tensor of its network,
    ``record.shapes`` their shapes."""
    models = []
    blobs = {}
    for name, tensor in record.dense.items():
        parts = code_values(tensor.q, size) | {"scales": tensor.scales.astype("<f4").tobytes()}
        sizes, blobs[name] = join_parts(parts, TENSOR_PARTS)
        models.append({"name": name, "shape": list(record.shapes[name]), "parts": sizes})
    return pack_record({"meta": record.meta, "tensors": models}, blobs)


def decode_session(payload: bytes, where: str) -> SessionRecord:
    """Decode a version-2 session chunk's payload (its tensors checked against their own table;
    the library checks them against the architecture)."""
    head, blobs = unpack_record(payload, where)
    meta = need(head, "meta", dict, where)
    frames = need(meta, "frames", int, where)
    if not 1 <= frames <= 1 << 24:
        raise FormatError(f"{where}: frame count {frames} is out of range")
    need(meta, "name", str, where)
    need(meta, "session", int, where)
    need(meta, "placement", dict, where)
    need(meta, "architecture", dict, where)
    models = need(head, "tensors", list, where)
    if not 1 <= len(models) <= MAX_TENSORS:
        raise FormatError(f"{where}: {len(models)} tensors is out of range")
    shapes = dict(_tensor_model(model, where) for model in models)
    if len(shapes) != len(models):
        raise FormatError(f"{where}: a tensor name appears twice")
    if sum(math.prod(shape) for shape in shapes.values()) > MAX_VALUES:
        raise FormatError(f"{where}: the network is larger than any nrcodec writes")
    dense: dict[str, Quantized] = {}
    for model, (name, shape) in zip(models, shapes.items()):
        at = f"{where}, tensor {name}"
        parts = split_parts(blob(blobs, name, where), model["parts"], list(TENSOR_PARTS), at)
        scales = read_scales(parts["scales"], at)
        if scales.size != 1:
            raise FormatError(f"{at}: expected one scale")
        dense[name] = Quantized(decode_values(parts, math.prod(shape), at), scales)
    return SessionRecord(meta, {}, dense, shapes)


def _tensor_model(model: Any, where: str) -> tuple[str, tuple[int, ...]]:
    if not isinstance(model, dict):
        raise FormatError(f"{where}: tensor model is malformed")
    name = need(model, "name", str, where)
    shape = need(model, "shape", list, where)
    if not (1 <= len(shape) <= 4 and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)):
        raise FormatError(f"{where}: tensor {name} has a malformed shape")
    if math.prod(shape) > MAX_TENSOR:
        raise FormatError(f"{where}: tensor {name} of shape {shape} is larger than any nrcodec writes")
    return name, tuple(shape)
