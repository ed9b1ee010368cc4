"""The archive (.nrc) as a Library: create or open, add a session with an atomic commit, describe.

Adding a session appends one chunk to the bytes that were read and commits the whole file
atomically, so earlier sessions' bytes are never rewritten and a kill leaves the old archive
or the new one. An archive keeps the format version it was created with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrcodec import __version__
from nrcodec.errors import FormatError, InputError, UsageError
from nrcodec.format import nrc
from nrcodec.format.atomic import commit_bytes
from nrcodec.format.record import need
from nrcodec.runtime import Progress, TrainSettings
from nrcodec.video.library import Library
from nrcodec.video.model import preset, with_embedding
from nrcodec.video.records import AddReport, CapacityReport, LibraryConfig, SessionRow

MAX_ARCHIVE = 1 << 34


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
        chosen = preset(self.preset or "small")
        return LibraryConfig(
            chosen.name,
            with_embedding(chosen.architecture, self.embedding or "sinusoidal"),
            capacity=0.3 if self.capacity is None else self.capacity,
            strategy=self.strategy or "pnr",
            strategy_options=self.strategy_options,
            seed=self.seed,
        )

    def check_fixed(self, path: Path, config: LibraryConfig) -> None:
        """An existing archive's settings cannot change: a different value is a usage error."""
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
            **self.strategy_summary,
        }


class Archive:
    def __init__(self, path: Path, library: Library, data: bytes, parsed: nrc.ParsedArchive) -> None:
        self.path = path
        self.library = library
        self.version = parsed.version
        self._data = data
        self.header_bytes = parsed.header_bytes
        self.session_bytes = parsed.session_bytes

    @property
    def config(self) -> LibraryConfig:
        return self.library.config

    @property
    def file_bytes(self) -> int:
        return len(self._data)

    @classmethod
    def create(cls, path: str | os.PathLike[str], config: LibraryConfig, device: str | torch.device = "cpu") -> Archive:
        """A new, empty archive in memory; nothing is written before the first session."""
        header = {"format": nrc.KIND, "nrcodec_version": __version__, "config": config.to_json()}
        data = nrc.header_chunk(header)
        return cls(Path(path), Library(config, device), data, nrc.ParsedArchive(nrc.VERSION, header, len(data), [], []))

    @classmethod
    def open(cls, path: str | os.PathLike[str], device: str | torch.device = "cpu") -> Archive:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"archive {path} does not exist")
        size = path.stat().st_size
        if size > MAX_ARCHIVE:
            raise FormatError(f"{path} is {size} bytes, larger than any archive nrcodec writes")
        data = path.read_bytes()
        parsed = nrc.parse(data)
        library = Library(LibraryConfig.from_json(need(parsed.header, "config", dict, "archive header")), device)
        for i, payload in enumerate(parsed.sessions, start=1):
            record = nrc.decode_session(parsed.version, payload, library.state.frozen(), library.model.session_sizes, i)
            if record.meta.get("session") != i:
                raise FormatError(f"session {i} chunk is out of order (it says session {record.meta.get('session')})")
            library.install(record)
        return cls(path, library, data, parsed)

    @classmethod
    def open_or_create(cls, path: Path, request: NewArchive, device: torch.device) -> Archive:
        """``path`` if it exists (whose settings ``request`` may not change), else a new archive."""
        if not path.exists():
            return cls.create(path, request.config(), device)
        archive = cls.open(path, device)
        request.check_fixed(path, archive.config)
        return archive

    def training_settings(self, epochs: int | None = None, seed: int = 0) -> TrainSettings:
        """The archive preset's training settings, with ``epochs`` instead of its default if given."""
        chosen = preset(self.config.preset)
        return TrainSettings(epochs or chosen.epochs, chosen.batch_size, chosen.lr, seed=seed)

    def add(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: TrainSettings,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> AddReport:
        """Train one more session and commit it to disk atomically."""
        result = self.library.add_session(frames, name, fps, settings, progress, source)
        chunk = nrc.encode_session(result.record, result.frozen_before, version=self.version)
        data = self._data + chunk
        commit_bytes(self.path, data)
        self._data = data
        self.session_bytes.append(len(chunk))
        return AddReport(result.info, len(chunk), len(data), tuple(result.notices))

    def sessions(self) -> list[SessionRow]:
        """One row per session, with bytes and bpp from the chunk's real size."""
        state = self.library.state
        return [SessionRow(state.info(i), n) for i, n in enumerate(self.session_bytes, start=1)]

    def describe(self) -> ArchiveInfo:
        """Everything ``info`` shows."""
        state = self.library.state
        return ArchiveInfo(
            path=self.path,
            format_version=self.version,
            config=self.config,
            forget_free=state.strategy.forget_free,
            file_bytes=self.file_bytes,
            header_bytes=self.header_bytes,
            usage=state.capacity(),
            sessions=self.sessions(),
            strategy_summary=state.strategy.summary(state.records, state.model),
        )
