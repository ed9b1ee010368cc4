"""The archive (.nrc) as a Library: create or open, add a session under the writer lock, describe.

Adding a session appends one chunk to the file and fsyncs it (the first session commits header and
chunk atomically), so earlier sessions' bytes are never rewritten and a writer costs O(chunk). A
kill leaves the old archive or the new one as far as any reader is concerned: a torn last chunk is
ignored by readers and dropped by the next writer (``format.lock``). One writer at a time: the whole
read-train-commit of ``Archive.writing`` holds the lock. A damaged session is recorded, not fatal:
the sessions before it open and decode. An archive keeps the format version it was created with.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrcodec import __version__, parallel
from nrcodec.errors import FormatError, InputError, UsageError
from nrcodec.format import nrc
from nrcodec.format.atomic import append_bytes, commit_bytes, remove_temporaries
from nrcodec.format.lock import WriterLock, read_pending, writer_lock
from nrcodec.format.record import need
from nrcodec.runtime import Progress
from nrcodec.video import kinds
from nrcodec.video.archive_guard import (
    appendable,
    damage_notices,
    has_room,
    unchanged,
    unreadable,
    unreadable_video,
)
from nrcodec.video.contract import TrainingPlan, VideoLibrary
from nrcodec.video.damage import ArchiveCheck, SessionCheck, Status, load
from nrcodec.video.records import AddReport, CapacityReport, LibraryConfig, SessionRow
from nrcodec.video.settings import NewArchive, SessionRequest, SessionSettings
from nrcodec.video.videos import Video, decode_video, group

MAX_ARCHIVE = 1 << 34


@dataclass(frozen=True)
class ArchiveInfo:
    """What ``info`` shows about an archive."""

    path: Path
    format_version: int
    config: LibraryConfig
    forget_free: bool
    file_bytes: int
    header_bytes: int
    usage: CapacityReport
    videos: list[Video]
    """The sessions as the user added them: a long clip's segments make one."""
    strategy_summary: dict[str, Any]
    damaged: list[SessionCheck] = field(default_factory=list)
    """Sessions in the file that cannot be read (damaged, torn, or after a damaged one)."""

    def to_json(self) -> dict[str, Any]:
        config, capacity = self.config, self.usage
        return {
            "path": str(self.path),
            "format_version": self.format_version,
            **config.figures(),
            "strategy": config.strategy,
            "strategy_options": config.strategy_options,
            "forget_free": self.forget_free,
            "seed": config.seed,
            "file_bytes": self.file_bytes,
            "header_bytes": self.header_bytes,
            "capacity_used": capacity.used,
            "capacity_left": 1 - capacity.used,
            "weights": capacity.weights,
            "layers": {n: use.to_json() for n, use in capacity.layers.items()},
            "sessions": [video.to_json() for video in self.videos],
            "damaged_sessions": [check.to_json() for check in self.damaged],
            **self.strategy_summary,
        }


class Archive:
    """An archive's library, what state each session's chunk is in, and where its bytes stand."""

    def __init__(
        self,
        path: Path,
        library: VideoLibrary[Any],
        parsed: nrc.ParsedArchive,
        checks: list[SessionCheck],
        file_bytes: int,
    ) -> None:
        self.path = path
        self.library = library
        self.version = parsed.version
        self.header_bytes = parsed.header_bytes
        self.checks = checks
        self.session_bytes = [c.bytes for c in checks if c.status == Status.OK]
        self.file_bytes = file_bytes
        self.valid_bytes = parsed.header_bytes + sum(c.size for c in parsed.readable)
        """Where the next session's chunk goes: the end of the last chunk that passed its CRC."""
        self.notices = damage_notices(path, checks, read_pending(path))
        self._header: bytes | None = None
        """The header of an archive not yet on disk, written with its first session."""
        self._lock: WriterLock | None = None

    @property
    def config(self) -> LibraryConfig:
        return self.library.config

    @property
    def damaged(self) -> list[SessionCheck]:
        """Sessions in the file that cannot be read."""
        return [c for c in self.checks if c.status not in (Status.OK, Status.UNREAD)]

    @classmethod
    def create(cls, path: str | os.PathLike[str], config: LibraryConfig, device: str | torch.device = "cpu") -> Archive:
        """A new, empty archive in memory; nothing is written before the first session."""
        header = {"format": nrc.KIND, "nrcodec_version": __version__, "config": config.to_json()}
        library = kinds.make_library(config, device)
        data = nrc.header_chunk(header, library.format_version)
        parsed = nrc.ParsedArchive(library.format_version, header, len(data), [])
        archive = cls(Path(path), library, parsed, [], 0)
        archive._header = data
        return archive

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], device: str | torch.device = "cpu", sessions: int | None = None
    ) -> Archive:
        """Open ``path`` with every session that can be read. ``sessions=k`` is for decoding session k: a
        forget-free archive then decodes only sessions 1..k, and a session k that cannot be read is a
        FormatError saying what to do (a strategy that is not forget-free decodes with every session's
        weights, so any damaged session is)."""
        path = Path(path)
        data = _read(path)
        parsed = _parse(path, data)
        config = _config(path, parsed)
        empty = kinds.make_library(config, device)
        if parsed.version != empty.format_version:
            raise FormatError(
                f"{path}: a {config.strategy} archive cannot be in format {parsed.version}; the file is damaged"
            )
        loaded = load(empty, parsed, sessions if empty.forget_free else None)
        if sessions is not None:
            problem = unreadable(path, loaded.checks, sessions, empty.forget_free)
            if problem:
                raise FormatError(problem)
        return cls(path, loaded.library, parsed, loaded.checks, len(data))

    @classmethod
    def check(cls, path: str | os.PathLike[str]) -> ArchiveCheck:
        """Decode every session on the CPU and report each one's state; a damaged header is a FormatError."""
        archive = cls.open(path)
        return ArchiveCheck(archive.path, archive.version, archive.file_bytes, archive.header_bytes, archive.checks)

    @classmethod
    @contextlib.contextmanager
    def writing(
        cls,
        path: str | os.PathLike[str],
        request: NewArchive,
        device: str | torch.device,
        on_wait: Callable[[str], None] | None = None,
    ) -> Iterator[Archive]:
        """The archive to add sessions to, under its writer lock for as long as the block runs.

        ``request``'s settings are checked before waiting (a UsageError); if another process writes,
        ``on_wait`` gets one line and this waits. Then the archive is read (or created in memory), so
        the other writer's sessions are kept. A damaged archive, or a torn chunk no interrupted add
        explains, is a FormatError saying to run repair; a full supernet is an InputError.
        """
        path = Path(path)
        _check_request(path, request)
        with writer_lock(path, on_wait) as lock:
            remove_temporaries(path)
            if path.exists():
                archive = cls.open(path, device)
                _check_fixed(path, request, archive.config)
            else:
                archive = cls.create(path, kinds.new_config(request), device)
            archive.notices = appendable(path, archive.checks, lock.pending())
            has_room(path, len(archive.library.records), archive.library.capacity())
            archive._lock = lock
            try:
                yield archive
            finally:
                archive._lock = None

    def settings(self, request: SessionRequest) -> SessionSettings:
        """How this archive's next session trains, as its library kind makes it from ``request``."""
        return self.library.settings(_parent_as_session(request, self))

    def plan(self, frames: np.ndarray, settings: SessionSettings) -> TrainingPlan:
        """How ``frames`` will train, said before the work (``VideoLibrary.plan``); ``add`` takes
        ``plan.settings``."""
        return self.library.plan(frames, settings)

    def add(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: SessionSettings,
        progress: Progress | None = None,
        source: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> AddReport:
        """Train one more session and append it to the file durably (under torchrun: rank 0 only)."""
        result = self.library.add_session(frames, name, fps, settings, progress, source, meta)
        chunk = result.chunk
        world = parallel.current()
        if not world.main:
            return AddReport(result.info, len(chunk), self.file_bytes, (), world.size)
        notices = self._commit(chunk)
        self.session_bytes.append(len(chunk))
        self.checks.append(SessionCheck(len(self.checks) + 1, Status.OK, self.valid_bytes - len(chunk), len(chunk)))
        return AddReport(result.info, len(chunk), self.file_bytes, (*notices, *result.notices), world.size)

    def _commit(self, chunk: bytes) -> list[str]:
        """Append ``chunk`` under the writer lock: the one ``writing`` holds, else taken now, after
        checking that nobody changed the file since it was read."""
        if self._lock is not None:
            return self._append(self._lock, chunk)
        with writer_lock(self.path) as lock:
            unchanged(self.path, self.file_bytes if self._header is None else None)
            appendable(self.path, self.checks, lock.pending())
            return self._append(lock, chunk)

    def _append(self, lock: WriterLock, chunk: bytes) -> list[str]:
        notices = []
        if self._header is None and self.file_bytes > self.valid_bytes:
            notices.append(f"dropped the {self.file_bytes - self.valid_bytes} bytes an interrupted add left")
        _write(self.path, lock, (self._header, chunk), self.valid_bytes)
        self._header = None
        self.valid_bytes = self.file_bytes = self.valid_bytes + len(chunk)
        self.checks = [c for c in self.checks if c.status == Status.OK]
        return notices

    def sessions(self) -> list[SessionRow]:
        """One row per session, with bytes and bpp from the chunk's real size."""
        return [SessionRow(self.library.info(i), n) for i, n in enumerate(self.session_bytes, start=1)]

    def videos(self) -> list[Video]:
        """The sessions as the user added them (``video.videos``): a long clip's segments make one."""
        return group(self.sessions())

    def video(self, number: int) -> Video:
        """Session ``number`` as the user counts them (a long clip's segments are one). One that damage
        keeps from decoding is a FormatError saying to run repair (``archive_guard.unreadable``)."""
        videos = self.videos()
        found = videos[number - 1] if 1 <= number <= len(videos) else None
        problem = unreadable_video(self.path, self.checks, found, self.library.forget_free)
        if problem:
            raise FormatError(problem)
        if found is None:
            raise InputError(f"session {number} does not exist; the library has {len(videos)} sessions")
        return found

    def decode(self, number: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``start:stop`` of session ``number`` as the user counts them, from the segments they
        fall in only, as uint8 (T, H, W, 3) at the source size."""
        return decode_video(self.library, self.video(number), start, stop)

    def describe(self) -> ArchiveInfo:
        """Everything ``info`` shows."""
        library = self.library
        return ArchiveInfo(
            path=self.path,
            format_version=self.version,
            config=self.config,
            forget_free=library.forget_free,
            file_bytes=self.file_bytes,
            header_bytes=self.header_bytes,
            usage=library.capacity(),
            videos=self.videos(),
            strategy_summary=library.summary(),
            damaged=self.damaged,
        )


def _write(path: Path, lock: WriterLock, data: tuple[bytes | None, bytes], at: int) -> None:
    """Commit a new archive's header and first chunk atomically, or append ``chunk`` at ``at`` under
    the lock's journal; a failed write is one InputError (readers still see the old archive)."""
    header, chunk = data
    try:
        if header is not None:
            commit_bytes(path, header + chunk)
        else:
            lock.begin_append(at, len(chunk))
            append_bytes(path, chunk, at)
            lock.end_append()
    except OSError as error:
        raise InputError(
            f"cannot write {path}: {error.strerror or error}; readers still see the archive as it was "
            "before this add: fix that, then add the video again"
        ) from None


@contextlib.contextmanager
def training(
    path: Path, request: NewArchive, device: torch.device, on_wait: Callable[[str], None] | None = None
) -> Iterator[Archive]:
    """``Archive.writing`` on rank 0 of a torchrun run (or the only process); the other ranks read
    the archive once rank 0 holds the lock, so all of them start from the same sessions."""
    world = parallel.current()
    if world.main:
        with Archive.writing(path, request, device, on_wait) as archive:
            parallel.barrier(world)
            yield archive
        return
    parallel.barrier(world)
    yield Archive.open(path, device) if path.exists() else Archive.create(path, kinds.new_config(request), device)


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise InputError(f"archive {path} does not exist")
    size = path.stat().st_size
    if size > MAX_ARCHIVE:
        raise FormatError(f"{path} is {size} bytes, larger than any archive nrcodec writes")
    return path.read_bytes()


def _parse(path: Path, data: bytes) -> nrc.ParsedArchive:
    """Preamble and header; their damage is fatal, named with the file."""
    try:
        return nrc.parse(data)
    except FormatError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _config(path: Path, parsed: nrc.ParsedArchive) -> LibraryConfig:
    """The header's settings, read by the kind its strategy names."""
    data = need(parsed.header, "config", dict, "archive header")
    try:
        kind = kinds.resolve(str(data.get("strategy")))
    except UsageError as exc:
        raise FormatError(f"{path}: archive header: settings are malformed ({exc})") from None
    try:
        return kind.config_from_json(data)
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _check_fixed(path: Path, request: NewArchive, config: LibraryConfig) -> None:
    """Refuse what ``request`` cannot ask of the existing archive ``path``: options its kind does not
    have (checked as if creating one of its kind), and settings that differ from its own."""
    kinds.resolve(config.strategy).new_config(replace(request, strategy=config.strategy, strategy_options={}))
    request.check_fixed(path, config)


def _check_request(path: Path, request: NewArchive) -> None:
    """Refuse settings that cannot apply before waiting for the lock: the archive's header is
    enough (read without the lock, as any reader does)."""
    if path.exists():
        _check_fixed(path, request, _config(path, _parse(path, _read(path))))
    else:
        kinds.new_config(request)


def _parent_as_session(request: SessionRequest, archive: Archive) -> SessionRequest:
    """``request`` with a parent named by video number (``--parent N``) as that video's last session,
    in a kind with parents (another kind refuses ``--parent`` in its ``settings``)."""
    if not isinstance(request.parent, int) or not archive.library.parents:
        return request
    videos = archive.videos()
    if not 1 <= request.parent <= len(videos):
        raise UsageError(f"--parent {request.parent}: the archive has {len(videos)} videos; give one, auto or none")
    return replace(request, parent=videos[request.parent - 1].sessions[-1])
