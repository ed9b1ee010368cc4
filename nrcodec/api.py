"""The Python surface of the video library: open an archive, read its sessions, decode, add.

``open`` gives a ``VideoArchive`` for an existing archive and ``create`` one for a new archive
(nothing is written before its first session). Every error is an ``nrcodec.errors.NrcodecError``,
the same ones the CLI turns into one-line messages. The CLI's video commands run on these calls.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from nrcodec.errors import InputError, UsageError
from nrcodec.media.video import read_video
from nrcodec.runtime import StepReport, resolve_device, resolve_precision
from nrcodec.video import kinds
from nrcodec.video.archive import Archive, ArchiveInfo
from nrcodec.video.decoding import DECODE_BATCH
from nrcodec.video.grow.parents import parse_choice
from nrcodec.video.settings import NewArchive, SessionRequest
from nrcodec.video.videos import DEFAULT_SEGMENT, Video, decode_video, plan_video

PathLike = str | os.PathLike[str]
SAMPLES = ("bunny.mp4", "closeup.mp4", "meadow.mp4")


@dataclass(frozen=True)
class Session:
    """One session of an archive as ``info`` lists it: ``bytes`` and ``bpp`` from its chunk's real
    size, ``psnr`` and ``ms_ssim`` as measured when it was added (``ms_ssim`` is None for frames
    under 161 pixels a side); ``parent`` is the video whose network its training started from
    (None: a fresh start; either way it decodes alone)."""

    number: int
    name: str
    frames: int
    width: int
    height: int
    fps: float
    bytes: int
    bpp: float
    psnr: float | None
    ms_ssim: float | None
    parent: int | None = None

    segments: int = 1
    """How many sessions of the file hold it: a long clip is split into segments (``--segment``)."""

    @classmethod
    def from_video(cls, video: Video) -> Session:
        v = video.to_json()
        figures = (v["frames"], v["width"], v["height"], v["fps"], v["bytes"], v["bpp"], v["psnr"], v["ms_ssim"])
        return cls(video.number, v["name"], *figures, parent=video.parent, segments=len(video.segments))


class VideoArchive:
    """An archive (.nrc) on disk: its sessions, decoded to uint8 arrays (T, H, W, 3) at each video's own
    size, and new videos added under the writer lock."""

    def __init__(self, path: PathLike, device: str = "cpu", new: NewArchive | None = None) -> None:
        self.path = Path(path)
        self.device = resolve_device(device)
        self._new = new or NewArchive()
        self._archive: Archive | None = None

    def _opened(self) -> Archive:
        if self._archive is None:
            self._archive = Archive.open(self.path, self.device)
        return self._archive

    @property
    def sessions(self) -> list[Session]:
        """Every readable session, in order (none for an archive created but not yet written)."""
        if not self.path.exists():
            return []
        return [Session.from_video(video) for video in self._opened().videos()]

    def info(self) -> ArchiveInfo:
        """Everything ``nrcodec info`` shows (``to_json()`` gives its JSON)."""
        return self._opened().describe()

    def decode(self, session: int, frames: slice | None = None) -> np.ndarray:
        """Frames of ``session`` (from 1), all or ``frames`` (a slice with step 1), as uint8 (T, H, W, 3)
        at the source size; the same values on any thread count."""
        archive = self._opened()
        video = archive.video(session)
        start, stop, step = (frames or slice(None)).indices(video.frames)
        if step != 1 or start >= stop:
            raise UsageError(f"frames {frames} is not a non-empty range of session {session}'s {video.frames} frames")
        return decode_video(archive.library, video, start, stop)

    def iter_frames(self, session: int) -> Iterator[np.ndarray]:
        """Session ``session``'s frames one at a time, decoded a batch at a time (never the whole clip)."""
        archive = self._opened()
        video = archive.video(session)
        for first in range(0, video.frames, DECODE_BATCH):
            yield from decode_video(archive.library, video, first, min(video.frames, first + DECODE_BATCH))

    def add(
        self,
        video: PathLike | np.ndarray,
        name: str | None = None,
        fps: float = 25.0,
        progress: Callable[[StepReport], None] | None = None,
        **settings: Any,
    ) -> Session:
        """Learn ``video`` (a file PyAV reads, or uint8 frames (T, H, W, 3)) as the next session and
        append it durably; ``settings`` are add-video's: epochs, minutes, quality, weight_bits, seed,
        precision ('auto', 'fp32', 'bf16'), compile, allow_below_floor, parent ('auto', 'none' or a
        video number), segment (frames; 0: never split). ``progress`` gets one ``StepReport`` per
        epoch. As add-video, it splits a long clip into segments, refuses a time budget too short for
        the quality asked, and a time-budgeted session below the quality floor (``BelowFloorError``)."""
        frames, label, fps, source = _clip(video, name, fps)
        segment = settings.pop("segment", DEFAULT_SEGMENT)
        request = _session_request(settings, self.device)
        with Archive.writing(self.path, self._new, self.device) as archive:
            planned = plan_video(archive.library, frames, archive.settings(request), segment)
            for index, (start, stop) in enumerate(planned.parts, start=1):
                part, meta = frames[start:stop], planned.meta(index)
                archive.add(part, label, fps, planned.plan.settings, progress, source, meta)
            added = archive.videos()[-1]
        self._archive = None
        return Session.from_video(added)


def _clip(video: PathLike | np.ndarray, name: str | None, fps: float) -> tuple[np.ndarray, str, float, str | None]:
    """(frames, session name, fps, stored source name) of a file or an array."""
    if isinstance(video, np.ndarray):
        return video, name or "array", fps, None
    clip = read_video(str(video))
    return clip.frames, name or clip.name, clip.fps, Path(video).name


def _session_request(settings: dict[str, Any], device: Any) -> SessionRequest:
    known = {field.name for field in fields(SessionRequest)}
    unknown = sorted(set(settings) - known)
    if unknown:
        listed = ", ".join(sorted(known | {"segment"}))
        raise UsageError(f"add() has no setting {', '.join(unknown)} (its settings: {listed})")
    precision = resolve_precision(settings.pop("precision", "auto"), device)
    if "parent" in settings:
        settings["parent"] = parse_choice(str(settings["parent"]))
    return SessionRequest(**settings, precision=precision)


def sample(name: str = "bunny.mp4") -> Path:
    """A sample clip shipped inside the package (Big Buck Bunny, CC-BY 3.0; samples/README.md)."""
    if name not in SAMPLES:
        raise UsageError(f"no sample {name!r}; the package ships {', '.join(SAMPLES)}")
    return Path(str(files("nrcodec").joinpath("data", name)))


def open(path: PathLike, device: str = "cpu") -> VideoArchive:
    """The archive at ``path``, which must exist (``create`` makes a new one)."""
    if not Path(path).is_file():
        raise InputError(f"archive {path} does not exist; use nrcodec.create to make a new one")
    archive = VideoArchive(path, device)
    archive._opened()
    return archive


def create(
    path: PathLike,
    strategy: str | None = None,
    device: str = "cpu",
    **archive_settings: Any,
) -> VideoArchive:
    """A new archive at ``path`` (it must not exist), written with its first ``add``. ``strategy``
    defaults to grow; ``archive_settings`` are the supernet's: preset, capacity, embedding,
    strategy_options, seed."""
    if Path(path).exists():
        raise UsageError(f"{path} exists; open it with nrcodec.open, or choose another path")
    if not Path(path).parent.is_dir():
        raise InputError(f"cannot create {path}: its folder {Path(path).parent} does not exist")
    try:
        new = NewArchive(strategy=strategy, **archive_settings)
    except TypeError:
        known = "preset, capacity, embedding, strategy_options, seed"
        raise UsageError(f"create() takes the archive settings {known}; got {', '.join(archive_settings)}") from None
    kinds.new_config(new)
    return VideoArchive(path, device, new)
