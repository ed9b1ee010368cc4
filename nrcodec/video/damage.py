"""What state each session of an archive is in, and loading the sessions that can be loaded.

A session is decoded from the header and the sessions before it (their frozen sets condition its
masks), so a damaged session j leaves sessions 1..j-1 readable and j+1.. unreachable. ``load``
installs the readable prefix into a fresh library and reports every chunk's status.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nrcodec.errors import FormatError
from nrcodec.format import nrc
from nrcodec.video.contract import VideoLibrary


class Status(enum.StrEnum):
    OK = "ok"
    DAMAGED = "damaged"
    """Its chunk fails its CRC, or its contents do not decode."""
    TORN = "torn"
    """The file ends inside its chunk: an add was interrupted (or the file was cut)."""
    UNREACHABLE = "unreachable"
    """It comes after a damaged session, which decoding it needs."""
    UNREAD = "unread"
    """Past the sessions asked for; its CRC is fine but it was not decoded."""


@dataclass(frozen=True)
class SessionCheck:
    session: int
    status: Status
    offset: int
    """Where its chunk starts in the file."""
    bytes: int
    """Its framed chunk; for a torn one, what the file holds of it."""
    reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "status": str(self.status),
            "offset": self.offset,
            "bytes": self.bytes,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ArchiveCheck:
    """``Archive.check``: each session's state and whether the file ends in a torn append."""

    path: Path
    format_version: int
    file_bytes: int
    header_bytes: int
    sessions: list[SessionCheck]

    @property
    def intact(self) -> int:
        """How many sessions, from the first, decode."""
        return next((c.session - 1 for c in self.sessions if c.status != Status.OK), len(self.sessions))

    @property
    def torn_tail(self) -> bool:
        return any(c.status == Status.TORN for c in self.sessions)

    @property
    def ok(self) -> bool:
        return self.intact == len(self.sessions)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format_version": self.format_version,
            "file_bytes": self.file_bytes,
            "header_bytes": self.header_bytes,
            "ok": self.ok,
            "intact": self.intact,
            "torn_tail": self.torn_tail,
            "sessions": [c.to_json() for c in self.sessions],
        }


@dataclass
class Loaded:
    library: VideoLibrary[Any]
    checks: list[SessionCheck]


def load(library: VideoLibrary[Any], parsed: nrc.ParsedArchive, limit: int | None) -> Loaded:
    """Install sessions 1..``limit`` (all when None) into the empty ``library``, in order, until one
    cannot be read."""
    checks: list[SessionCheck] = []
    broken: int | None = None
    for chunk in parsed.chunks:
        if broken is not None:
            checks.append(_after_damage(chunk, broken))
        elif chunk.payload is None:
            status = Status.TORN if chunk.torn else Status.DAMAGED
            checks.append(SessionCheck(chunk.session, status, chunk.offset, chunk.size, chunk.problem))
            broken = chunk.session
        elif limit is not None and chunk.session > limit:
            checks.append(SessionCheck(chunk.session, Status.UNREAD, chunk.offset, chunk.size))
        else:
            problem = _install(library, chunk)
            status = Status.DAMAGED if problem else Status.OK
            checks.append(SessionCheck(chunk.session, status, chunk.offset, chunk.size, problem))
            if problem:
                broken = chunk.session
                library = _rebuilt(library)
    return Loaded(library, checks)


def _install(library: VideoLibrary[Any], chunk: nrc.SessionChunk) -> str | None:
    """Decode and install one session chunk; the reason it cannot be, or None."""
    assert chunk.payload is not None
    i = chunk.session
    try:
        record = library.read_session(chunk.payload, i)
        if record.meta.get("session") != i:
            raise FormatError(f"session {i} chunk is out of order (it says session {record.meta.get('session')})")
        library.install(record)
    except FormatError as exc:
        return str(exc)
    return None


def _rebuilt(damaged: VideoLibrary[Any]) -> VideoLibrary[Any]:
    """A library of the same kind holding ``damaged``'s records only: a failed install may have
    written part of its session."""
    library = type(damaged)(damaged.config, damaged.device)
    for record in list(damaged.records):
        library.install(record)
    return library


def _after_damage(chunk: nrc.SessionChunk, broken: int) -> SessionCheck:
    reason = f"needs session {broken}, which cannot be read"
    if chunk.payload is None:
        reason += f"; its own chunk is damaged too ({chunk.problem})"
    return SessionCheck(chunk.session, Status.UNREACHABLE, chunk.offset, chunk.size, reason)
