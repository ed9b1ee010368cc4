"""The archive file (.nrc): magic and format version, a header chunk, then one chunk per session.

The container (framing, CRCs, the header) is the same in every version; what is inside a session
chunk is described by the module of its format version (``nrc_v1``...). Readers dispatch on the
version in the preamble, so every version ever written keeps decoding; new archives are written in
``VERSION``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from nrcodec.errors import FormatError
from nrcodec.format import nrc_v1
from nrcodec.format.chunks import PREAMBLE, frame, preamble, read_chunks, read_preamble
from nrcodec.format.nrc_v1 import CodedSize
from nrcodec.format.record import pack_record, unpack_record
from nrcodec.format.session import SessionRecord

MAGIC = b"NRCA"
KIND = "nrcodec archive (.nrc)"
HEADER_TAG = b"HEAD"
SESSION_TAG = b"SESS"
SESSION_CODECS: dict[int, ModuleType] = {1: nrc_v1}
"""Format version → the module that encodes and decodes its session chunks."""
VERSION = max(SESSION_CODECS)


@dataclass
class ParsedArchive:
    """An archive split into its header and its session chunks (not yet decoded)."""

    version: int
    header: dict[str, Any]
    header_bytes: int
    sessions: list[bytes]
    session_bytes: list[int]


def header_chunk(header: dict[str, Any], version: int = VERSION) -> bytes:
    return preamble(MAGIC, version) + frame(HEADER_TAG, pack_record(header))


def parse(data: bytes) -> ParsedArchive:
    version = read_preamble(data, MAGIC, KIND, tuple(SESSION_CODECS))
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


def encode_session(
    record: SessionRecord,
    frozen_before: dict[str, np.ndarray],
    size: CodedSize | None = None,
    version: int = VERSION,
) -> bytes:
    """One framed session chunk in format ``version``; ``size`` collects its ideal code length."""
    payload = SESSION_CODECS[version].encode_session(record, frozen_before, size or CodedSize())
    return frame(SESSION_TAG, payload)


def decode_session(
    version: int,
    payload: bytes,
    frozen_before: dict[str, np.ndarray],
    session_sizes: Callable[[int], dict[str, int]],
    session: int,
) -> SessionRecord:
    """Decode the payload of session ``session``'s chunk, written in format ``version``."""
    return SESSION_CODECS[version].decode_session(payload, frozen_before, session_sizes, f"session {session} chunk")
