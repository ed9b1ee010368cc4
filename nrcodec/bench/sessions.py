"""``bench sessions``: what a long-lived archive costs as it grows (issue: scale).

The same short clip is added again and again to one archive on disk, each add the way ``add-video``
does it (open under the writer lock, train, append one chunk). Measured: the wall time of add #2
and add #N (each the median of ``repeats`` adds to a copy of the archive, so one slow moment does
not decide), the time to open the archive and decode session 1 when it holds one session and when
it holds N (median of ``repeats``), and every session's PSNR. A masked supernet that fills up stops
the run at the session it refused.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrcodec.errors import ArchiveFullError
from nrcodec.video import kinds
from nrcodec.video.archive import Archive
from nrcodec.video.settings import NewArchive, SessionRequest

TARGETS = {"add_ratio": 2.5, "decode_ratio": 2.5, "psnr_drop_db": 1.0}
"""add #N <= 2.5x add #2; decode of session 1 at N sessions <= 2.5x at 1; PSNR #N >= PSNR #2 - 1 dB."""


@dataclass(frozen=True)
class ScaleSettings:
    """The archive to grow: strategy (a masked one uses the tiny preset), sessions, training."""

    strategy: str = "grow"
    sessions: int = 30
    epochs: int = 3
    quality: int = 1
    repeats: int = 3


@dataclass(frozen=True)
class ScaleRow:
    """One add: its wall time (open + train + append), the session's PSNR and chunk, the file after."""

    session: int
    add_seconds: float
    psnr: float
    bytes: int
    file_bytes: int


@dataclass
class ScaleRun:
    """Adds ``frames`` to ``path`` as ``settings`` says and times what the issue asks for."""

    path: Path
    frames: np.ndarray
    settings: ScaleSettings
    device: torch.device
    rows: list[ScaleRow] = field(default_factory=list)
    decode_seconds: dict[int, float] = field(default_factory=dict)
    full_at: int | None = None

    def request(self) -> NewArchive:
        sized = kinds.resolve(self.settings.strategy).quality_levels
        return NewArchive(preset=None if sized else "tiny", strategy=self.settings.strategy)

    def add(self, path: Path) -> ScaleRow:
        """One add to ``path``, as add-video does it, and its wall time."""
        start = time.perf_counter()
        with Archive.writing(path, self.request(), self.device) as archive:
            quality = self.settings.quality if archive.library.quality_levels else None
            settings = archive.settings(SessionRequest(self.settings.epochs, quality=quality))
            report = archive.add(self.frames, "clip", 25.0, settings)
        seconds = round(time.perf_counter() - start, 4)
        return ScaleRow(report.info.session, seconds, report.info.psnr, report.bytes, report.file_bytes)

    def timed_add(self, session: int) -> ScaleRow:
        """Add session ``session``; at the two measured points, also ``repeats - 1`` adds to copies."""
        times = []
        if session in (2, self.settings.sessions) and self.path.exists():
            copy = self.path.with_name("copy.nrc")
            for _ in range(self.settings.repeats - 1):
                shutil.copyfile(self.path, copy)
                times.append(self.add(copy).add_seconds)
                copy.unlink()
        row = self.add(self.path)
        return replace(row, add_seconds=round(statistics.median([*times, row.add_seconds]), 4))

    def time_decode(self) -> None:
        """Median time to open the archive for session 1 and decode it, now."""
        times = []
        for _ in range(self.settings.repeats):
            start = time.perf_counter()
            Archive.open(self.path, self.device, sessions=1).library.decode(1)
            times.append(time.perf_counter() - start)
        self.decode_seconds[len(self.rows)] = round(statistics.median(times), 4)

    def run(self, on_session: Callable[[int], None] | None = None) -> None:
        for session in range(1, self.settings.sessions + 1):
            if on_session is not None:
                on_session(session)
            try:
                self.rows.append(self.timed_add(session))
            except ArchiveFullError:
                self.full_at = session
                break
            if session == 1:
                self.time_decode()
        self.time_decode()


def scale_result(run: ScaleRun) -> dict[str, Any]:
    """The figures, the issue's three ratios and whether each meets its target."""
    rows = run.rows
    last = rows[-1]
    second = rows[1] if len(rows) > 1 else rows[0]
    decode_first, decode_last = run.decode_seconds[1], run.decode_seconds[len(rows)]
    figures = {
        "add_ratio": last.add_seconds / second.add_seconds,
        "decode_ratio": decode_last / decode_first,
        "psnr_drop_db": second.psnr - last.psnr,
    }
    return {
        "settings": asdict(run.settings),
        "frames": int(run.frames.shape[0]),
        "sessions_added": len(rows),
        "full_at_session": run.full_at,
        "rows": [asdict(row) for row in rows],
        "decode_session_1_seconds": {str(k): v for k, v in run.decode_seconds.items()},
        "figures": {k: round(v, 4) for k, v in figures.items()},
        "targets": TARGETS,
        "met": {k: figures[k] <= TARGETS[k] for k in TARGETS},
    }


def scale_markdown(result: dict[str, Any]) -> str:
    """The three figures against their targets, and the adds that produced them."""
    rows = result["rows"]
    n = len(rows)
    figures, met = result["figures"], result["met"]
    decode = result["decode_session_1_seconds"]
    second = rows[1] if n > 1 else rows[0]
    lines = [
        f"Device: {result['device_name']}; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()),
        "",
        "| figure | session 1 / 2 | session " + str(n) + " | ratio or drop | target | met |",
        "|---|---|---|---|---|---|",
        f"| add (open + train + append) | {second['add_seconds']:.3f} s (#2) | {rows[-1]['add_seconds']:.3f} s | "
        f"{figures['add_ratio']:.2f}x | <= 2.5x | {'yes' if met['add_ratio'] else 'no'} |",
        f"| open + decode session 1 | {decode['1']:.3f} s | {decode[str(n)]:.3f} s | "
        f"{figures['decode_ratio']:.2f}x | <= 2.5x | {'yes' if met['decode_ratio'] else 'no'} |",
        f"| PSNR | {second['psnr']:.2f} dB (#2) | {rows[-1]['psnr']:.2f} dB | {figures['psnr_drop_db']:+.2f} dB "
        f"drop | <= 1 dB | {'yes' if met['psnr_drop_db'] else 'no'} |",
    ]
    if result["full_at_session"] is not None:
        lines += ["", f"The supernet was full at session {result['full_at_session']}: that add was refused."]
    lines += ["", f"Archive after {n} sessions: {rows[-1]['file_bytes']:,} bytes."]
    return "\n".join(lines) + "\n"
