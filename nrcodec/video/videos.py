"""Videos as the user sees them: one per add-video, made of one session or, for a long clip, of the
consecutive sessions (segments) it was split into.

A segment's metadata says where it belongs (``"segment": {"index": i, "of": n}``); sessions written
without it are videos of one session, so an archive without long clips numbers its videos as its
sessions. A video is numbered by its place among the videos; its figures add up its segments'
(bytes, frames) or weight them by frames (PSNR and MS-SSIM are means over frames).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nrcodec.errors import InputError, UsageError
from nrcodec.runtime import duration
from nrcodec.video.contract import TrainingPlan, VideoLibrary, check_frames
from nrcodec.video.records import AddReport, SessionInfo, SessionRow, bits_per_pixel
from nrcodec.video.settings import SessionSettings

SEGMENT_KEY = "segment"
PARENT_KEY = "warm_start"
"""Metadata key naming the session a grow session's training started from (``grow.parents``):
provenance only, since a session decodes from its own record."""
DEFAULT_SEGMENT = 120
"""Frames of a segment when a long clip is split (``--segment``): the length grow's quality levels
and default budget were measured on (notes/rate.md), so a long clip gets what a 120-frame clip gets,
once per segment."""


def segment_meta(index: int, count: int) -> dict[str, Any]:
    """What segment ``index`` (from 1) of ``count`` stores in its session's metadata."""
    return {SEGMENT_KEY: {"index": index, "of": count}}


def _place(info: SessionInfo) -> tuple[int, int]:
    """(index, of) of a session's segment; (1, 1) for a session that is a whole video."""
    place = info.extra.get(SEGMENT_KEY)
    if not isinstance(place, dict):
        return 1, 1
    index, count = place.get("index"), place.get("of")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (index, count)) or not 1 <= index <= count:
        return 1, 1
    return index, count


@dataclass(frozen=True)
class Video:
    """One video of an archive: its number, and the sessions (segments) that hold its frames in order."""

    number: int
    segments: list[SessionRow]
    expected: int = 1
    """How many segments it was split into (more than it holds if an add was interrupted)."""
    parent: int | None = None
    """The video whose network its first segment's training started from (None: a fresh start)."""

    @property
    def first(self) -> SessionInfo:
        return self.segments[0].info

    @property
    def sessions(self) -> list[int]:
        return [row.info.session for row in self.segments]

    @property
    def frames(self) -> int:
        return sum(row.info.frames for row in self.segments)

    @property
    def bytes(self) -> int:
        return sum(row.bytes for row in self.segments)

    @property
    def complete(self) -> bool:
        return len(self.segments) == self.expected

    def _mean(self, key: str) -> float | None:
        values = [(getattr(row.info, key), row.info.frames) for row in self.segments]
        if any(v is None for v, _ in values):
            return None
        return sum(v * n for v, n in values) / self.frames

    @property
    def psnr(self) -> float | None:
        value = self._mean("psnr")
        return None if value is None else round(value, 4)

    @property
    def ms_ssim(self) -> float | None:
        value = self._mean("ms_ssim")
        return None if value is None else round(value, 6)

    def locate(self, start: int, stop: int | None) -> list[tuple[int, int, int]]:
        """(session, first frame, end frame) of each segment that frames ``start:stop`` of the video
        fall in, in order."""
        stop = self.frames if stop is None else stop
        if not 0 <= start < stop <= self.frames:
            raise InputError(f"frame range {start}:{stop} is outside video {self.number}'s {self.frames} frames")
        parts, offset = [], 0
        for row in self.segments:
            end = offset + row.info.frames
            if start < end and stop > offset:
                parts.append((row.info.session, max(start, offset) - offset, min(stop, end) - offset))
            offset = end
        return parts

    def to_json(self) -> dict[str, Any]:
        """The keys of a session row (``SessionRow.to_json``) for the whole video; a video of several
        segments adds ``segments`` (their rows) and ``complete``."""
        first = self.first
        out = {
            **self.segments[0].to_json(),
            "session": self.number,
            "frames": self.frames,
            "psnr": self.psnr,
            "ms_ssim": self.ms_ssim,
            "bytes": self.bytes,
            "bpp": bits_per_pixel(self.bytes, first.width, first.height, self.frames),
            "new_weights": sum(row.info.new_weights for row in self.segments),
            "reused_weights": sum(row.info.reused_weights for row in self.segments),
            "parent": self.parent,
        }
        if self.expected > 1:
            out["segments"] = [row.to_json() for row in self.segments]
            out["complete"] = self.complete
        return out


def decode_video(library: VideoLibrary[Any], video: Video, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Frames ``start:stop`` of ``video``, decoded from the segments they fall in only."""
    return np.concatenate([library.decode(session, a, b) for session, a, b in video.locate(start, stop)])


def group(rows: list[SessionRow]) -> list[Video]:
    """The videos that ``rows`` (every readable session, in order) make up."""
    videos: list[Video] = []
    owner: dict[int, int] = {}
    for row in rows:
        index, count = _place(row.info)
        last = videos[-1] if videos else None
        if index > 1 and last is not None and last.expected == count and len(last.segments) == index - 1:
            last.segments.append(row)
        else:
            parent = owner.get(row.info.extra.get(PARENT_KEY))
            videos.append(Video(len(videos) + 1, [row], count if index == 1 else 1, parent))
        owner[row.info.session] = videos[-1].number
    return videos


def split(frames: int, segment: int) -> list[tuple[int, int]]:
    """Consecutive (start, stop) ranges of at most ``segment`` frames, as even as they can be (320
    frames by 120: 107 + 107 + 106, not 120 + 120 + 80)."""
    count = math.ceil(frames / segment)
    bounds = [round(i * frames / count) for i in range(count + 1)]
    return list(itertools.pairwise(bounds))


@dataclass(frozen=True)
class VideoPlan:
    """How a clip will be added: its segments' frame ranges, and the plan each segment trains with
    (timed on the first; segments differ by at most a frame)."""

    parts: list[tuple[int, int]]
    plan: TrainingPlan

    def meta(self, index: int) -> dict[str, Any] | None:
        """What segment ``index`` (from 1) stores; nothing for a clip that is not split."""
        return segment_meta(index, len(self.parts)) if len(self.parts) > 1 else None

    @property
    def text(self) -> str | None:
        """The line add-video prints before training."""
        one = self.plan.text
        if len(self.parts) == 1 or one is None:
            return one
        total = "" if self.plan.minutes is None else f"; about {duration(self.plan.minutes * len(self.parts))} in all"
        return f"{len(self.parts)} segments of about {self.parts[0][1] - self.parts[0][0]} frames, each {one}{total}"


def plan_video(library: VideoLibrary[Any], frames: np.ndarray, settings: SessionSettings, segment: int) -> VideoPlan:
    """Split ``frames`` into segments of at most ``segment`` frames where the library kind splits long
    clips (``segment`` 0: never), and plan their training."""
    check_frames(frames)
    if segment < 0:
        raise UsageError(f"--segment must be a number of frames (0: do not split), got {segment}")
    long = library.segments and segment and frames.shape[0] > segment
    parts = split(frames.shape[0], segment) if long else [(0, frames.shape[0])]
    first, stop = parts[0]
    return VideoPlan(parts, library.plan(frames[first:stop], settings))


@dataclass(frozen=True)
class AddedVideo:
    """What add-video reports: the video added (its segments' reports, in order) and the file after."""

    video: Video
    reports: list[AddReport]

    @property
    def notices(self) -> list[str]:
        return [notice for report in self.reports for notice in report.notices]

    @property
    def seconds(self) -> float:
        return sum(report.info.seconds for report in self.reports)

    def to_json(self) -> dict[str, Any]:
        """``Video.to_json`` with add-video's keys: seconds, device, world_size, file_bytes."""
        last = self.reports[-1]
        extra = {"seconds": round(self.seconds, 2), "device": last.info.device, "world_size": last.world_size}
        return {**self.video.to_json(), **extra, "file_bytes": last.file_bytes}
