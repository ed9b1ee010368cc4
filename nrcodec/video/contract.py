"""The written contract of a library kind: what the archive, evaluation, benchmarks and CLI may ask.

Two kinds implement it. ``SupernetLibrary`` (``video.supernet``) keeps every session as a
subnetwork of one shared masked supernet, trained with a continual-learning strategy (pnr, wsn,
ewc...; archive format 1). ``GrowLibrary`` (``video.grow``) gives every session a dense network of
its own (format 2). ``video.kinds`` is the one place that maps an archive's strategy to its kind;
everything else talks to ``VideoLibrary`` and asks its capabilities (``forget_free``,
``transfer_matrix``) instead of its class.

The contract is shaped for sessions that build on earlier ones: ``read_session`` and ``install``
see the sessions installed before (a session chunk may be coded against them, as a supernet
session's masks are against the earlier frozen sets), and sessions are installed in order, so a
session whose network starts from a parent's reads that parent from ``records``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import torch

from nrcodec.errors import InputError
from nrcodec.format.session import SessionRecord
from nrcodec.metrics import ms_ssim_video, psnr
from nrcodec.runtime import Progress
from nrcodec.video.records import CapacityReport, LibraryConfig, SessionInfo
from nrcodec.video.settings import NewArchive, SessionRequest, SessionSettings


@dataclass
class SessionResult:
    """A finished session: its record, its metadata, its framed archive chunk (what is appended),
    and what the user should hear about how it was trained."""

    record: SessionRecord
    info: SessionInfo
    chunk: bytes
    seconds: float
    notices: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TrainingPlan:
    """How a session will train, decided before it starts: its settings (a default budget resolved
    to the clip), the minutes it is expected to take here (None where not timed) and a line saying so."""

    settings: SessionSettings
    minutes: float | None = None
    text: str | None = None


def check_frames(frames: np.ndarray) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] < 1:
        raise InputError("frames must be a non-empty (T, H, W, 3) uint8 array")


Settings = TypeVar("Settings", bound=SessionSettings)


class VideoLibrary(ABC, Generic[Settings]):
    """Sessions in memory: learned from frames, read from and written to archive chunks, decoded.
    ``Settings`` is the record its sessions train with (``settings`` makes it from a request)."""

    format_version: ClassVar[int]
    """The archive format this kind writes (and the only one it reads)."""
    transfer_matrix: ClassVar[bool] = False
    """Whether ``decode(subnetwork=j)`` means something: one session's weights decoding another's."""
    quality_levels: ClassVar[bool] = False
    """Whether a session's network is sized by ``--quality`` and ``--weight-bits`` (a network of its
    own) rather than by a preset fixed for the whole archive."""
    segments: ClassVar[bool] = False
    """Whether a long clip is split into segments of at most ``--segment`` frames, a session each
    (``video.videos``): a network sized per pixel of the whole clip would not train in its budget."""
    parents: ClassVar[bool] = False
    """Whether a session's training may start from an earlier session's network (``--parent``;
    provenance in its metadata, ``videos.PARENT_KEY``)."""

    def __init__(self, config: LibraryConfig, device: str | torch.device = "cpu") -> None:
        self.config = config
        self.device = torch.device(device)
        self.records: list[SessionRecord] = []

    @classmethod
    @abstractmethod
    def strategies(cls) -> list[str]:
        """The strategy names (archive headers, ``--strategy``) this kind serves."""

    @classmethod
    @abstractmethod
    def new_config(cls, request: NewArchive) -> LibraryConfig:
        """The settings of a new archive of this kind, checked (a UsageError for a bad option)."""

    @classmethod
    @abstractmethod
    def config_from_json(cls, data: Any) -> LibraryConfig:
        """The settings an archive header holds, checked (a FormatError if malformed)."""

    @property
    @abstractmethod
    def forget_free(self) -> bool:
        """Whether adding a session leaves every earlier one's decode unchanged."""

    @abstractmethod
    def settings(self, request: SessionRequest) -> Settings:
        """How the next session trains: this kind's recipe with what ``request`` asks (a UsageError
        for what it cannot do)."""

    def plan(self, frames: np.ndarray, settings: Settings) -> TrainingPlan:
        """How ``frames`` will train with ``settings``, before any work (a UsageError for a budget that
        cannot work); the default trains ``settings`` as they are."""
        check_frames(frames)
        return TrainingPlan(settings)

    @abstractmethod
    def add_session(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: Settings,
        progress: Progress | None = None,
        source: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> SessionResult:
        """Learn ``frames`` (T, H, W, 3) uint8 as the next session, store it, and measure it; ``meta``
        is kept in its metadata (e.g. which segment of a video it is)."""

    @abstractmethod
    def read_session(self, payload: bytes, session: int) -> SessionRecord:
        """Decode session ``session``'s chunk payload against the sessions installed so far."""

    @abstractmethod
    def install(self, record: SessionRecord) -> None:
        """Add a stored session after checking it (a FormatError if it cannot be this kind's)."""

    @abstractmethod
    def decode(
        self, session: int, start: int = 0, stop: int | None = None, subnetwork: int | None = None
    ) -> np.ndarray:
        """Frames ``start:stop`` of ``session`` (1-based) as uint8 (T, H, W, 3) at the source size,
        the same on any thread count; ``subnetwork`` only where ``transfer_matrix``."""

    @abstractmethod
    def info(self, session: int) -> SessionInfo:
        """Session ``session``'s (1-based) metadata, typed and checked."""

    def capacity(self) -> CapacityReport:
        """How much of a shared network earlier sessions hold (nothing, for a kind without one)."""
        return CapacityReport({})

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """Kind- and strategy-specific figures for ``info``."""

    def check_session(self, session: int) -> None:
        if not 1 <= session <= len(self.records):
            raise InputError(f"session {session} does not exist; the library has {len(self.records)} sessions")

    def measured(self, record: SessionRecord, info: SessionInfo, frames: np.ndarray) -> None:
        """Keep a just-trained session and measure it as a decoder will rebuild it: PSNR and MS-SSIM
        of its decode against ``frames`` go into ``info`` and the record's metadata."""
        self.records.append(record)
        decoded = self.decode(info.session)
        info.psnr = round(psnr(frames, decoded), 4)
        quality = ms_ssim_video(frames, decoded)
        info.ms_ssim = None if quality is None else round(quality, 6)
        record.meta = info.to_json()
