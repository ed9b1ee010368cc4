"""Quality of every session now against its source, next to its quality at add time (PNR's tables)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nrcodec.errors import InputError, UsageError
from nrcodec.metrics import average_and_bwt, ms_ssim_video, psnr
from nrcodec.video.archive import Archive
from nrcodec.video.videos import Video


def _round(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True)
class EvalRow:
    session: int
    name: str
    psnr_at_add: float
    psnr_now: float
    ms_ssim_at_add: float | None
    ms_ssim_now: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "name": self.name,
            "psnr_at_add": self.psnr_at_add,
            "psnr_now": self.psnr_now,
            "ms_ssim_at_add": self.ms_ssim_at_add,
            "ms_ssim_now": self.ms_ssim_now,
        }


@dataclass(frozen=True)
class TransferMatrix:
    """Cell (i, j): PSNR of video j as session i's subnetwork (mask, head, biases) produces it."""

    subnetworks: list[int]
    videos: list[int]
    psnr: list[list[float]]

    def to_json(self) -> dict[str, Any]:
        return {"subnetworks": self.subnetworks, "videos": self.videos, "psnr": self.psnr}


@dataclass
class EvalReport:
    """What ``eval`` reports: per session now vs at add, the averages and backward transfer."""

    sessions: list[EvalRow]
    matrix: TransferMatrix | None = None
    heatmap: str | None = None

    def _averages(self) -> dict[str, float | None]:
        rows = self.sessions
        avg_psnr, bwt_psnr = average_and_bwt([r.psnr_at_add for r in rows], [r.psnr_now for r in rows])
        both = [r for r in rows if r.ms_ssim_now is not None and r.ms_ssim_at_add is not None]
        avg_ssim, bwt_ssim = average_and_bwt([r.ms_ssim_at_add for r in both], [r.ms_ssim_now for r in both])
        return {
            "avg_psnr": round(avg_psnr, 4),
            "bwt_psnr": round(bwt_psnr, 4),
            "avg_ms_ssim": round(avg_ssim, 6) if both else None,
            "bwt_ms_ssim": round(bwt_ssim, 6) if both else None,
        }

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sessions": [r.to_json() for r in self.sessions], **self._averages()}
        if self.matrix is not None:
            out["matrix"] = self.matrix.to_json()
        if self.heatmap is not None:
            out["heatmap"] = self.heatmap
        return out


def _checked_source(video: Video, source: np.ndarray) -> np.ndarray:
    """The source's first frames, after checking that it can be the video of session ``video``."""
    session, first = video.number, video.first
    if source.shape[1:3] != (first.height, first.width):
        raise InputError(
            f"source for session {session} is {source.shape[2]}x{source.shape[1]}, "
            f"but session {session} was {first.width}x{first.height}; give the file it was added from"
        )
    if source.shape[0] < video.frames:
        raise InputError(f"source for session {session} has {source.shape[0]} frames, the session has {video.frames}")
    return source[: video.frames]


def evaluate(archive: Archive, sources: dict[int, np.ndarray], matrix: bool = False) -> EvalReport:
    """Decode each session given a source and compare with it (a long clip's segments as one video);
    ``matrix`` adds the transfer matrix of the PNR paper (the diagonal is the normal decode; the lower
    triangle shows forgetting, the upper one how alike the videos are), which only a shared supernet
    has."""
    library = archive.library
    if matrix and not library.transfer_matrix:
        raise UsageError(
            "--matrix needs a shared supernet (pnr and the other masked strategies); grow sessions own their networks"
        )
    videos = archive.videos()
    for session in sources:
        if not 1 <= session <= len(videos):
            raise InputError(f"--source names session {session}, but the archive has {len(videos)} sessions")
    trimmed = {n: _checked_source(videos[n - 1], sources[n]) for n in sorted(sources)}
    rows = []
    for session, source in trimmed.items():
        video, decoded = videos[session - 1], archive.decode(session)
        now = (round(psnr(source, decoded), 4), _round(ms_ssim_video(source, decoded)))
        rows.append(EvalRow(session, video.first.name, video.psnr, now[0], video.ms_ssim, now[1]))
    report = EvalReport(rows)
    if matrix:
        subnetworks = list(range(1, len(library.records) + 1))
        grid = [[round(psnr(trimmed[j], library.decode(j, subnetwork=i)), 4) for j in trimmed] for i in subnetworks]
        report.matrix = TransferMatrix(subnetworks, list(trimmed), grid)
    return report
