"""``bench transfer``: what a later session gains from an earlier one (issue 28).

A pair of clips: the parent is added to a new grow archive, then the child is added to copies of it,
each the way ``add-video`` does it: **alone** (``--parent none``), **with its parent**
(``--parent auto``: the probe may still fall back to a fresh start) and, with ``child_quality``,
with its parent one or more levels down. Each row is the child's stored bytes, PSNR, training
seconds and passes; a row with a parent is compared with the alone row (bytes ratio, PSNR gain,
time ratio). The target of issue 28 for a related clip is a ratio of at most ``TARGET_RATIO`` at
no lower PSNR in the same time budget; an unrelated clip must cost at most ``UNRELATED_RATIO``
at no lower PSNR. Archives stay in the work folder, so a rerun measures only what is missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrcodec.bench.curves import markdown_table
from nrcodec.errors import UsageError
from nrcodec.video.archive import Archive
from nrcodec.video.grow.parents import PROBE_KEY
from nrcodec.video.settings import NewArchive, SessionRequest
from nrcodec.video.videos import DEFAULT_SEGMENT, PARENT_KEY

TARGET_RATIO = 0.7
UNRELATED_RATIO = 1.03


@dataclass(frozen=True)
class TransferSettings:
    """How the sessions train: None is add-video's default (its time budget and level)."""

    epochs: int | None = None
    minutes: float | None = None
    child_quality: int | None = None
    """A further row: the child with its parent at this level."""


@dataclass(frozen=True)
class TransferRow:
    """One session of the bench: its stored bytes, PSNR, training seconds and passes, its level,
    the session it started from (None: fresh) and the probe's PSNRs (from the parent, fresh)."""

    design: str
    bytes: int
    psnr: float
    seconds: float
    epochs: int
    quality: int
    parent: int | None
    probe: list[float] | None


@dataclass
class TransferRun:
    """The parent's and the child's frames, where the archives go, and how they train."""

    parent: np.ndarray
    child: np.ndarray
    workdir: Path
    settings: TransferSettings
    device: torch.device

    def designs(self) -> dict[str, SessionRequest]:
        s = self.settings
        designs = {
            "alone": SessionRequest(s.epochs, minutes=s.minutes, parent="none"),
            "with parent": SessionRequest(s.epochs, minutes=s.minutes, parent="auto"),
        }
        if s.child_quality is not None:
            designs[f"with parent, quality {s.child_quality}"] = SessionRequest(
                s.epochs, quality=s.child_quality, minutes=s.minutes, parent="auto"
            )
        return designs

    def add(self, path: Path, frames: np.ndarray, name: str, request: SessionRequest) -> Archive:
        """``frames`` as the next session of ``path``, as add-video adds a clip (its plan, then
        training); the archive read back."""
        with Archive.writing(path, NewArchive(strategy="grow"), self.device) as archive:
            plan = archive.plan(frames, archive.settings(request))
            archive.add(frames, name, 25.0, plan.settings)
        return Archive.open(path, self.device)

    def run(self, say: Callable[[str], None]) -> list[TransferRow]:
        """The parent (once), then each design of the child in a copy of the parent's archive; an
        archive already in the work folder is read, not trained again."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        first = self.workdir / "parent.nrc"
        if first.exists():
            parent = Archive.open(first, self.device)
        else:
            say("parent ...")
            parent = self.add(first, self.parent, "parent", self.designs()["alone"])
        rows = [_row(parent, "parent")]
        for index, (design, request) in enumerate(self.designs().items()):
            path = self.workdir / f"child-{index}.nrc"
            child = Archive.open(path, self.device) if path.exists() else None
            if child is None or len(child.library.records) != 2:
                say(f"child {design} ...")
                shutil.copyfile(first, path)
                child = self.add(path, self.child, design, request)
            rows.append(_row(child, design))
        return rows


def _row(archive: Archive, design: str) -> TransferRow:
    """The last session of ``archive``, as a row."""
    meta = archive.library.records[-1].meta
    return TransferRow(
        design,
        archive.videos()[-1].bytes,
        round(float(meta["psnr"]), 4),
        round(float(meta["seconds"]), 1),
        int(meta["training"]["epochs_run"]),
        int(meta["quality"]),
        meta.get(PARENT_KEY),
        meta.get(PROBE_KEY),
    )


def check_pair(parent: np.ndarray, child: np.ndarray) -> None:
    """A UsageError unless both clips fit one session (add-video would split a longer one)."""
    if max(len(parent), len(child)) > DEFAULT_SEGMENT:
        raise UsageError(
            f"bench transfer compares single sessions: give clips of at most {DEFAULT_SEGMENT} frames (--max-frames)"
        )


def transfer_result(rows: list[TransferRow]) -> dict[str, Any]:
    """The rows, and each child row with a parent against the alone row."""
    alone = next(row for row in rows if row.design == "alone")
    compared = []
    for row in rows:
        if row.design in ("parent", "alone"):
            continue
        ratio = row.bytes / alone.bytes
        compared.append(
            {
                "design": row.design,
                "bytes_ratio": round(ratio, 4),
                "psnr_gain_db": round(row.psnr - alone.psnr, 4),
                "time_ratio": round(row.seconds / alone.seconds, 4),
                "related_target_met": ratio <= TARGET_RATIO and row.psnr >= alone.psnr,
                "unrelated_target_met": ratio <= UNRELATED_RATIO and row.psnr >= alone.psnr,
            }
        )
    return {"rows": [asdict(row) for row in rows], "against_alone": compared}


def transfer_markdown(result: dict[str, Any]) -> str:
    """The sessions, then each child with a parent against the child alone."""
    rows = [
        (
            r["design"],
            f"{r['bytes']:,}",
            f"{r['psnr']:.2f}",
            f"{r['seconds']:.0f}",
            r["epochs"],
            r["quality"],
            "-" if r["parent"] is None else r["parent"],
            "-" if r["probe"] is None else f"{r['probe'][0]:.2f} / {r['probe'][1]:.2f}",
        )
        for r in result["rows"]
    ]
    header = ("session", "bytes", "PSNR dB", "s", "passes", "quality", "started from", "probe dB (parent / fresh)")
    compared = [
        (
            c["design"],
            f"{c['bytes_ratio']:.2f}x",
            f"{c['psnr_gain_db']:+.2f}",
            f"{c['time_ratio']:.2f}x",
            "yes" if c["related_target_met"] else "no",
            "yes" if c["unrelated_target_met"] else "no",
        )
        for c in result["against_alone"]
    ]
    return "\n".join(
        [
            f"Device: {result['device_name']}; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()),
            f"Parent: {result['parent_clip']}; child: {result['child_clip']}",
            "",
            markdown_table(header, rows),
            "",
            markdown_table(
                (
                    "child",
                    "bytes vs alone",
                    "PSNR vs alone",
                    "time vs alone",
                    f"<= {TARGET_RATIO}x at >= PSNR",
                    f"<= {UNRELATED_RATIO}x at >= PSNR",
                ),
                compared,
            ),
        ]
    )


def plot_points(result: dict[str, Any]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """The child's sessions as (bytes, PSNR) points, one series per design (``curves.plot_rd``)."""
    return {"child": {r["design"]: [(float(r["bytes"]), r["psnr"])] for r in result["rows"] if r["design"] != "parent"}}
