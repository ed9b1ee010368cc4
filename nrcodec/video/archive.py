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
from dataclasses import dataclass, field
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
from nrcodec.runtime import Progress, TrainSettings
from nrcodec.video.archive_guard import appendable, damage_notices, has_room, unchanged, unreadable
from nrcodec.video.damage import ArchiveCheck, SessionCheck, Status, load
from nrcodec.video.grow import GrowLibrary
from nrcodec.video.kinds import AnyLibrary, library_class, make_library
from nrcodec.video.model import preset, with_embedding
from nrcodec.video.records import AddReport, CapacityReport, LibraryConfig, SessionRow
from nrcodec.video.session_net import (
    BATCH_SIZE,
    DEFAULT_QUALITY,
    DEFAULT_WEIGHT_BITS,
    LEARNING_RATE,
    check_quality,
)
from nrcodec.video.strategies import DEFAULT_STRATEGY, make_strategy, strategy_class

MAX_ARCHIVE = 1 << 34
DEFAULT_MINUTES = 14.0
"""Training budget of a grow session when neither --epochs nor --minutes is given: with reading,
measuring and writing, a session takes at most about 15 minutes."""


@dataclass(frozen=True)
class NewArchive:
    """The settings asked for when an archive may be created; None means "the default" for a new
    archive and "whatever it has" for an existing one, which cannot change them."""

    preset: str | None = None
    capacity: float | None = None
    strategy: str | None = None
    strategy_options: dict[str, Any] = field(default_factory=dict)
    embedding: str | None = None
    seed: int = 0

    def config(self) -> LibraryConfig:
        """The settings of a new archive (checked: a bad option is a UsageError here)."""
        self._refuse_supernet_options(self.strategy or DEFAULT_STRATEGY)
        chosen = preset(self.preset or "small")
        return LibraryConfig(
            chosen.name,
            with_embedding(chosen.architecture, self.embedding or "sinusoidal"),
            capacity=0.3 if self.capacity is None else self.capacity,
            strategy=self.strategy or DEFAULT_STRATEGY,
            strategy_options=self.strategy_options,
            seed=self.seed,
        )

    def _refuse_supernet_options(self, strategy: str) -> None:
        """--preset, --capacity and --embedding shape a shared supernet, which grow does not have."""
        if not strategy_class(strategy).owns_network:
            return
        flags = (("--preset", self.preset), ("--capacity", self.capacity), ("--embedding", self.embedding))
        given = [flag for flag, value in flags if value is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)} shape the shared supernet of pnr and the other masked strategies; a grow "
                "session sizes its own network (use --quality, or --strategy pnr for a supernet)"
            )

    def check_fixed(self, path: Path, config: LibraryConfig) -> None:
        """An existing archive's settings cannot change: a different value is a usage error."""
        self._refuse_supernet_options(config.strategy)
        fixed = (
            ("--preset", self.preset, config.preset),
            ("--capacity", self.capacity, config.capacity),
            ("--strategy", self.strategy, config.strategy),
            ("--embedding", self.embedding, config.architecture.embedding),
        )
        for option, given, stored in fixed:
            if given is not None and given != stored:
                raise UsageError(
                    f"{path} was created with {option} {stored}; it cannot change to {given} "
                    f"(leave {option} out, or add the video to a new archive)"
                )
        if self.strategy_options:
            raise UsageError(f"{path} exists; --strategy-option applies to new archives only")


@dataclass(frozen=True)
class GrowRequest:
    """What a session of a grow archive may ask for; None is the default."""

    quality: int | None = None
    weight_bits: int | None = None
    minutes: float | None = None

    def refuse(self, strategy: str) -> None:
        """A UsageError if any was given for an archive whose strategy is not grow."""
        given = [flag for flag, value in self.flags() if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} apply to grow archives; this archive's strategy is {strategy}")

    def flags(self) -> tuple[tuple[str, object], ...]:
        return (("--quality", self.quality), ("--weight-bits", self.weight_bits), ("--minutes", self.minutes))


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
    sessions: list[SessionRow]
    strategy_summary: dict[str, Any]
    damaged: list[SessionCheck] = field(default_factory=list)
    """Sessions in the file that cannot be read (damaged, torn, or after a damaged one)."""

    def to_json(self) -> dict[str, Any]:
        config, capacity = self.config, self.usage
        return {
            "path": str(self.path),
            "format_version": self.format_version,
            "preset": config.preset,
            "canvas": list(config.architecture.canvas),
            "strategy": config.strategy,
            "strategy_options": config.strategy_options,
            "embedding": config.architecture.embedding,
            "forget_free": self.forget_free,
            "capacity": config.capacity,
            "quantization": config.quantization,
            "seed": config.seed,
            "file_bytes": self.file_bytes,
            "header_bytes": self.header_bytes,
            "capacity_used": capacity.used,
            "capacity_left": 1 - capacity.used,
            "weights": capacity.weights,
            "layers": {n: use.to_json() for n, use in capacity.layers.items()},
            "sessions": [row.to_json() for row in self.sessions],
            "damaged_sessions": [check.to_json() for check in self.damaged],
            **self.strategy_summary,
        }


class Archive:
    """An archive's library, what state each session's chunk is in, and where its bytes stand."""

    def __init__(
        self, path: Path, library: AnyLibrary, parsed: nrc.ParsedArchive, checks: list[SessionCheck], file_bytes: int
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
        library = make_library(config, device)
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
        if parsed.version != library_class(config).format_version:
            raise FormatError(
                f"{path}: a {config.strategy} archive cannot be in format {parsed.version}; the file is damaged"
            )
        forget_free = make_strategy(config.strategy, config.strategy_options).forget_free
        loaded = load(config, device, parsed, sessions if forget_free else None)
        if sessions is not None:
            problem = unreadable(path, loaded.checks, sessions, forget_free)
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
                request.check_fixed(path, archive.config)
            else:
                archive = cls.create(path, request.config(), device)
            archive.notices = appendable(path, archive.checks, lock.pending())
            has_room(path, len(archive.library.records), archive.library.capacity())
            archive._lock = lock
            try:
                yield archive
            finally:
                archive._lock = None

    def training_settings(
        self, epochs: int | None = None, seed: int = 0, grow: GrowRequest | None = None
    ) -> TrainSettings:
        """The archive preset's training settings, with ``epochs`` instead of its default if given.

        A grow archive trains with its own recipe (``session_net.BATCH_SIZE``, ``LEARNING_RATE``) and
        takes the session's quality, weight bits and time budget (``grow``); by default it trains for
        ``DEFAULT_MINUTES`` unless ``epochs`` is given. Other archives refuse those three.
        """
        grow = grow or GrowRequest()
        if not isinstance(self.library, GrowLibrary):
            grow.refuse(self.config.strategy)
            chosen = preset(self.config.preset)
            return TrainSettings(epochs or chosen.epochs, chosen.batch_size, chosen.lr, seed=seed)
        minutes = grow.minutes or (0.0 if epochs else DEFAULT_MINUTES)
        settings = TrainSettings(
            epochs or 0,
            minutes=minutes,
            quality=grow.quality or DEFAULT_QUALITY,
            weight_bits=grow.weight_bits or DEFAULT_WEIGHT_BITS,
            batch_size=BATCH_SIZE,
            lr=LEARNING_RATE,
            seed=seed,
        )
        check_quality(settings.quality, settings.weight_bits)
        return settings

    def add(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: TrainSettings,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> AddReport:
        """Train one more session and append it to the file durably (under torchrun: rank 0 only)."""
        result = self.library.add_session(frames, name, fps, settings, progress, source)
        chunk = nrc.encode_session(result.record, result.frozen_before, version=self.version)
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
        try:
            if self._header is not None:
                commit_bytes(self.path, self._header + chunk)
            else:
                lock.begin_append(self.valid_bytes, len(chunk))
                append_bytes(self.path, chunk, self.valid_bytes)
                lock.end_append()
        except OSError as error:
            raise InputError(
                f"cannot write {self.path}: {error.strerror or error}; readers still see the archive as it was "
                "before this add: fix that, then add the video again"
            ) from None
        self._header = None
        self.valid_bytes = self.file_bytes = self.valid_bytes + len(chunk)
        self.checks = [c for c in self.checks if c.status == Status.OK]
        return notices

    def sessions(self) -> list[SessionRow]:
        """One row per session, with bytes and bpp from the chunk's real size."""
        return [SessionRow(self.library.info(i), n) for i, n in enumerate(self.session_bytes, start=1)]

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
            sessions=self.sessions(),
            strategy_summary=library.summary(),
            damaged=self.damaged,
        )


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
    yield Archive.open(path, device) if path.exists() else Archive.create(path, request.config(), device)


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
    try:
        return LibraryConfig.from_json(need(parsed.header, "config", dict, "archive header"))
    except FormatError as exc:
        raise FormatError(f"{path}: {exc}") from None


def _check_request(path: Path, request: NewArchive) -> None:
    """Refuse settings that cannot apply before waiting for the lock: the archive's header is
    enough (read without the lock, as any reader does)."""
    if path.exists():
        request.check_fixed(path, _config(path, _parse(path, _read(path))))
    else:
        request.config()
