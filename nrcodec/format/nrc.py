"""The archive file (.nrc): magic and format version, a header chunk, then one chunk per session.

The container (framing, CRCs, the header) is the same in every version; what is inside a session
chunk is described by the module of its format version (``nrc_v1``...), which the library kind
that writes that version reads and writes; the version in the preamble names the kind, so every
version ever written keeps decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nrcodec.errors import ChecksumError, FormatError, TruncatedError
from nrcodec.format.chunks import PREAMBLE, chunk_end, frame, preamble, read_chunk, read_preamble
from nrcodec.format.record import pack_record, unpack_record

MAGIC = b"NRCA"
KIND = "nrcodec archive (.nrc)"
HEADER_TAG = b"HEAD"
SESSION_TAG = b"SESS"
VERSIONS = (1, 2)
"""Format versions this reader knows: 1, sessions of a shared masked supernet (``nrc_v1``); 2,
sessions that own their networks (``nrc_v2``). An archive keeps the version it was created with."""


@dataclass(frozen=True)
class SessionChunk:
    """One session's chunk as found in the file; ``payload`` is None when it cannot be read."""

    session: int
    offset: int
    size: int
    """Its framed bytes; for a torn chunk, the bytes from its start to the end of the file."""
    payload: bytes | None
    problem: str | None = None
    """Why it cannot be read (CRC mismatch, unknown tag, the file ends inside it)."""
    torn: bool = False
    """The file ends inside it: what an interrupted append, or a cut copy, leaves behind."""


@dataclass
class ParsedArchive:
    """An archive split into its header and its session chunks (not yet decoded).

    A damaged session chunk is recorded, not fatal: the sessions before it stay readable. Only a
    damaged preamble or header is a FormatError, since nothing can be read without them.
    """

    version: int
    header: dict[str, Any]
    header_bytes: int
    chunks: list[SessionChunk]

    @property
    def readable(self) -> list[SessionChunk]:
        """The leading chunks that passed their CRC, up to the first one that did not."""
        prefix = []
        for chunk in self.chunks:
            if chunk.payload is None:
                break
            prefix.append(chunk)
        return prefix

    @property
    def sessions(self) -> list[bytes]:
        return [c.payload for c in self.readable if c.payload is not None]


def header_chunk(header: dict[str, Any], version: int) -> bytes:
    return preamble(MAGIC, version) + frame(HEADER_TAG, pack_record(header))


def parse(data: bytes) -> ParsedArchive:
    """Preamble and header (a FormatError if either is damaged), then every session chunk as found."""
    version = read_preamble(data, MAGIC, KIND, VERSIONS)
    if len(data) == PREAMBLE.size:
        raise FormatError("archive has no header chunk; the file is damaged")
    try:
        head = read_chunk(data, PREAMBLE.size, 0)
    except FormatError as exc:
        raise FormatError(f"archive header is damaged ({exc}); no session can be read without it") from None
    if head.tag != HEADER_TAG:
        raise FormatError("archive has no header chunk; the file is damaged")
    header, _ = unpack_record(head.payload, "header chunk")
    header_bytes = PREAMBLE.size + head.size
    return ParsedArchive(version, header, header_bytes, _session_chunks(data, header_bytes))


def _session_chunks(data: bytes, pos: int) -> list[SessionChunk]:
    """Walk the session chunks; past a CRC mismatch the framing still finds the next chunk, the
    file ending inside one stops the walk."""
    chunks: list[SessionChunk] = []
    while pos < len(data):
        session = len(chunks) + 1
        try:
            chunk = read_chunk(data, pos, session)
        except ChecksumError as exc:
            end = chunk_end(data, pos)
            chunks.append(SessionChunk(session, pos, end - pos, None, str(exc)))
            pos = end
            continue
        except TruncatedError as exc:
            chunks.append(SessionChunk(session, pos, len(data) - pos, None, str(exc), torn=True))
            break
        if chunk.tag != SESSION_TAG:
            chunks.append(
                SessionChunk(session, pos, chunk.size, None, f"chunk {session} has unknown tag {chunk.name!r}")
            )
        else:
            chunks.append(SessionChunk(session, pos, chunk.size, chunk.payload))
        pos += chunk.size
    return chunks


def session_chunk(payload: bytes) -> bytes:
    """A session chunk's payload (written by its format version's module) framed for the archive."""
    return frame(SESSION_TAG, payload)
