"""A record: JSON metadata plus named binary blobs, the payload of most chunks.

Layout: ``uint32 json length | UTF-8 JSON | blobs``; the JSON lists the blobs in order as
``{"name": ..., "size": ...}`` under the key ``"blobs"``. Sizes are validated against the
payload before any blob is sliced.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from nrcodec.errors import FormatError

_LEN = struct.Struct("<I")


def pack_record(meta: dict[str, Any], blobs: dict[str, bytes] | None = None) -> bytes:
    blobs = blobs or {}
    if "blobs" in meta:
        raise ValueError("'blobs' is reserved in record metadata")
    head = dict(meta, blobs=[{"name": k, "size": len(v)} for k, v in blobs.items()])
    text = json.dumps(head, separators=(",", ":"), sort_keys=True).encode()
    return _LEN.pack(len(text)) + text + b"".join(blobs.values())


def unpack_record(payload: bytes, where: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Split a record into its metadata and blobs; ``where`` names it in errors."""
    if len(payload) < _LEN.size:
        raise FormatError(f"{where}: record too short")
    (n,) = _LEN.unpack_from(payload, 0)
    if n > len(payload) - _LEN.size:
        raise FormatError(f"{where}: metadata length {n} exceeds the record")
    try:
        meta = json.loads(payload[_LEN.size : _LEN.size + n].decode())
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise FormatError(f"{where}: metadata is not valid JSON ({exc.__class__.__name__})") from None
    entries = meta.pop("blobs", None) if isinstance(meta, dict) else None
    if not isinstance(entries, list):
        raise FormatError(f"{where}: metadata has no blob list")
    blobs: dict[str, bytes] = {}
    pos = _LEN.size + n
    for entry in entries:
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("name"), str)
            and type(entry.get("size")) is int
            and entry["size"] >= 0
        ):
            raise FormatError(f"{where}: malformed blob entry")
        if entry["name"] in blobs:
            raise FormatError(f"{where}: blob {entry['name']!r} is listed twice")
        size = entry["size"]
        if size > len(payload) - pos:
            raise FormatError(f"{where}: blob {entry['name']!r} of {size} bytes exceeds the record")
        blobs[entry["name"]] = payload[pos : pos + size]
        pos += size
    if pos != len(payload):
        raise FormatError(f"{where}: {len(payload) - pos} unexpected trailing bytes")
    return meta, blobs


def need(meta: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """Fetch a required metadata field of a given type, or raise a FormatError."""
    value = meta.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: field {key!r} is missing or malformed")
    return value


def blob(blobs: dict[str, bytes], key: str, where: str, size: int | None = None) -> bytes:
    """Fetch a required blob, optionally of an exact size, or raise a FormatError."""
    if key not in blobs:
        raise FormatError(f"{where}: blob {key!r} is missing")
    data = blobs[key]
    if size is not None and len(data) != size:
        raise FormatError(f"{where}: blob {key!r} has {len(data)} bytes, expected {size}")
    return data
