"""The codec file (``.nic``): version 0 (the base) and each adaptation, one chunk per version.

File: ``b"NRIC" | uint16 format version`` then one ``VERS`` chunk per version, in id order. A
chunk is a record whose JSON names the version (id, parent, mode, architecture, fingerprint,
training settings under ``info``) and says for each stored tensor how it combines with the parent:

- ``full``: the tensor as stored;
- ``grow``: the parent's tensor sits unchanged at the origin of a larger tensor and the blob holds
  only the other (custom) entries, in C order — this is how CAwF keeps the base embedded;
- absent: the parent's tensor is used as is.

A version's architecture may be another model than its parent's where it only adds parameters: mode
``context`` (:mod:`nrcodec.image.context`) stores a ``checkerboard`` model's context layers and
inherits everything else from a ``hyperprior`` parent.

The architecture is ``"architecture": {"model": <registered name>, "params": {<hyper-parameters>}}``
(:class:`nrcodec.image.models.Architecture`). Chunks written before models were registered have no
such entry but top-level ``width`` and ``affine``: they are the ``factorized`` model with those
hyper-parameters, and their fingerprint covers the layout as they wrote it.

Blobs: ``tensors`` (safetensors bytes of float32 or float16 tensors, read as float32) and ``tables``
(the model's integer frequency tables, last entry of each being the escape). Adding a version appends a
chunk, so the bytes of earlier versions never change. The fingerprint of a version hashes its
parent's fingerprint, its layout and both blobs; readers recompute and check it.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from nrcodec.errors import FormatError
from nrcodec.format.chunks import frame, preamble, read_chunks, read_preamble
from nrcodec.format.entropy import FrequencyTable
from nrcodec.format.record import blob, need, pack_record, unpack_record
from nrcodec.format.varint import pack_uvarints, unpack_uvarints
from nrcodec.image.models import Architecture, model_class

MAGIC = b"NRIC"
FORMAT_VERSION = 1
KIND = "nrcodec codec file"
VERSION_TAG = b"VERS"
MODES = ("base", "cawf", "selective", "naive", "context")
MAX_VERSIONS = 4096
FINGERPRINT_BYTES = 8
LEGACY_MODEL = "factorized"
"""The model of a chunk without an architecture entry, its hyper-parameters at the top level."""


@dataclass
class Version:
    """One stored version: its layout, stored tensors and integer tables, as bytes."""

    id: int
    parent: int | None
    mode: str
    architecture: Architecture
    kinds: dict[str, str]
    tensors_blob: bytes
    tables_blob: bytes
    fingerprint: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    legacy: bool = False
    """Read from a chunk without an architecture entry (hyper-parameters at the top level)."""

    def layout(self) -> dict[str, Any]:
        """What the chunk's JSON says of the version's structure; hashed into its fingerprint."""
        arch = self.architecture
        structure = arch.params.to_json() if self.legacy else {"architecture": arch.to_json()}
        return {
            "id": self.id,
            "parent": self.parent,
            "mode": self.mode,
            **structure,
            "tensors": dict(sorted(self.kinds.items())),
        }

    def compute_fingerprint(self, parent_fingerprint: str) -> str:
        digest = hashlib.sha256()
        digest.update(parent_fingerprint.encode())
        digest.update(json.dumps(self.layout(), sort_keys=True, separators=(",", ":")).encode())
        digest.update(hashlib.sha256(self.tensors_blob).digest())
        digest.update(hashlib.sha256(self.tables_blob).digest())
        return digest.hexdigest()[: 2 * FINGERPRINT_BYTES]

    def tables(self) -> list[FrequencyTable]:
        count = self.architecture.params.table_count
        return unpack_tables(self.tables_blob, count, f"version {self.id} tables")


def pack_tables(tables: list[FrequencyTable]) -> bytes:
    return pack_uvarints([len(tables)]) + b"".join(t.to_bytes() for t in tables)


def unpack_tables(data: bytes, expected: int, where: str) -> list[FrequencyTable]:
    (count,), pos = unpack_uvarints(data, 1, where)
    if count != expected:
        raise FormatError(f"{where}: {count} tables where the model codes with {expected}")
    tables = []
    for channel in range(count):
        table, pos = FrequencyTable.from_bytes(data, f"{where}, channel {channel}", pos)
        if len(table.counts) < 2 or table.counts[-1] == 0:
            raise FormatError(f"{where}, channel {channel}: table has no escape entry")
        if abs(table.low) > 1 << 20:
            raise FormatError(f"{where}, channel {channel}: table starts at an absurd value {table.low}")
        tables.append(table)
    if pos != len(data):
        raise FormatError(f"{where}: {len(data) - pos} unexpected trailing bytes")
    return tables


STORED_DTYPES = (torch.float32, torch.float16)


def pack_tensors(tensors: dict[str, torch.Tensor], dtype: torch.dtype = torch.float32) -> bytes:
    return save_tensors({k: v.detach().to(dtype).contiguous().cpu() for k, v in sorted(tensors.items())})


def _unpack_tensors(data: bytes, where: str) -> dict[str, torch.Tensor]:
    try:
        tensors = load_tensors(data)
    except SafetensorError as exc:
        raise FormatError(f"{where}: parameters are malformed ({exc})") from None
    for name, tensor in tensors.items():
        if tensor.dtype not in STORED_DTYPES:
            raise FormatError(f"{where}: parameter {name!r} is {tensor.dtype}, expected float32 or float16")
        if not torch.isfinite(tensor).all():
            raise FormatError(f"{where}: parameter {name!r} holds non-finite values")
    return {name: tensor.to(torch.float32) for name, tensor in tensors.items()}


@functools.lru_cache(maxsize=16)
def expected_shapes(architecture: Architecture) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of a model of this architecture; the global RNG is left untouched."""
    with torch.random.fork_rng(devices=[]):
        model = architecture.build()
    return {name: tuple(p.shape) for name, p in model.named_parameters()}


def resolve_state(version: Version, parent_state: dict[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """Full parameter set of ``version`` from its stored tensors and its parent's parameters."""
    where = f"version {version.id}"
    stored = _unpack_tensors(version.tensors_blob, where)
    shapes = expected_shapes(version.architecture)
    unknown = set(version.kinds) - set(shapes)
    if unknown or set(stored) != set(version.kinds):
        raise FormatError(f"{where}: stored parameters do not match the layout it declares")
    state: dict[str, torch.Tensor] = {}
    for name, shape in shapes.items():
        kind = version.kinds.get(name)
        if kind == "full":
            if tuple(stored[name].shape) != shape:
                raise FormatError(
                    f"{where}: parameter {name!r} has shape {tuple(stored[name].shape)}, expected {shape}"
                )
            state[name] = stored[name]
            continue
        if parent_state is None or name not in parent_state:
            raise FormatError(f"{where}: parameter {name!r} is neither stored nor inherited")
        base = parent_state[name]
        if kind is None:
            if tuple(base.shape) != shape:
                raise FormatError(f"{where}: inherited parameter {name!r} does not fit the {version.architecture}")
            state[name] = base
        elif kind == "grow":
            if base.dim() != len(shape) or any(b > s for b, s in zip(base.shape, shape, strict=True)):
                raise FormatError(f"{where}: parameter {name!r} cannot grow from its parent's shape")
            custom = stored[name]
            missing = int(torch.Size(shape).numel()) - base.numel()
            if custom.dim() != 1 or custom.numel() != missing:
                raise FormatError(
                    f"{where}: parameter {name!r} stores {custom.numel()} custom values, expected {missing}"
                )
            state[name] = grow(base, shape, custom)
        else:
            raise FormatError(f"{where}: parameter {name!r} has unknown storage kind {kind!r}")
    return state


def shared_mask(base_shape: tuple[int, ...], shape: tuple[int, ...]) -> torch.Tensor:
    """True on the block of a grown tensor that holds its parent's values."""
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[tuple(slice(0, n) for n in base_shape)] = True
    return mask


def grow(base: torch.Tensor, shape: tuple[int, ...], custom: torch.Tensor) -> torch.Tensor:
    """Place ``base`` at the origin of a tensor of ``shape`` and fill the rest with ``custom``."""
    out = torch.empty(shape, dtype=base.dtype)
    mask = shared_mask(tuple(base.shape), shape)
    out[mask] = base.reshape(-1)
    out[~mask] = custom
    return out


def _version_from_chunk(payload: bytes, index: int) -> Version:
    where = f"codec file version chunk {index}"
    meta, blobs = unpack_record(payload, where)
    vid = need(meta, "id", int, where)
    parent = meta.get("parent")
    if vid != index:
        raise FormatError(f"{where}: holds version {vid}, expected {index}")
    if index == 0 and parent is not None:
        raise FormatError(f"{where}: version 0 cannot have a parent")
    if index > 0 and not (isinstance(parent, int) and not isinstance(parent, bool) and 0 <= parent < index):
        raise FormatError(f"{where}: parent {parent!r} is not an earlier version")
    mode = need(meta, "mode", str, where)
    if mode not in MODES or (mode == "base") != (index == 0):
        raise FormatError(f"{where}: mode {mode!r} is not valid here")
    legacy = "architecture" not in meta
    architecture = _legacy_architecture(meta, where) if legacy else Architecture.from_json(meta["architecture"], where)
    kinds = need(meta, "tensors", dict, where)
    if not all(isinstance(k, str) and v in ("full", "grow") for k, v in kinds.items()):
        raise FormatError(f"{where}: malformed tensor layout")
    info = meta.get("info", {})
    if not isinstance(info, dict):
        raise FormatError(f"{where}: field 'info' is malformed")
    return Version(
        vid,
        parent,
        mode,
        architecture,
        kinds,
        blob(blobs, "tensors", where),
        blob(blobs, "tables", where),
        need(meta, "fingerprint", str, where),
        info,
        legacy,
    )


def _legacy_architecture(meta: dict[str, Any], where: str) -> Architecture:
    """A chunk written before the registry: the factorized model, ``width`` and ``affine`` at the top."""
    params = {"width": need(meta, "width", int, where), "affine": need(meta, "affine", bool, where)}
    return Architecture(LEGACY_MODEL, model_class(LEGACY_MODEL).Params.from_json(params, where))


def read_codec_file(data: bytes) -> list[Version]:
    """Parse and check a codec file (framing, layout, fingerprints); tensors are decoded lazily."""
    read_preamble(data, MAGIC, KIND, (FORMAT_VERSION,))
    chunks = read_chunks(data)
    if not chunks:
        raise FormatError(f"{KIND} holds no version")
    if len(chunks) > MAX_VERSIONS:
        raise FormatError(f"{KIND} holds {len(chunks)} versions, more than {MAX_VERSIONS}")
    versions: list[Version] = []
    for index, chunk in enumerate(chunks):
        if chunk.tag != VERSION_TAG:
            raise FormatError(f"{KIND}: unexpected chunk {chunk.name!r} at byte {chunk.offset}")
        version = _version_from_chunk(chunk.payload, index)
        parent_fp = versions[version.parent].fingerprint if version.parent is not None else ""
        if version.compute_fingerprint(parent_fp) != version.fingerprint:
            raise FormatError(f"{KIND}: version {index} does not match its fingerprint")
        versions.append(version)
    return versions


def version_chunk(version: Version) -> bytes:
    meta = dict(version.layout(), fingerprint=version.fingerprint, info=version.info)
    return frame(VERSION_TAG, pack_record(meta, {"tensors": version.tensors_blob, "tables": version.tables_blob}))


def write_codec_file(versions: list[Version]) -> bytes:
    return preamble(MAGIC, FORMAT_VERSION) + b"".join(version_chunk(v) for v in versions)
