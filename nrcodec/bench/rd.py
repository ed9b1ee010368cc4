"""``bench rd``: the grow strategy's quality ladder against x264 and x265 medium on long clips.

Each quality level gets one shared archive holding every clip in order (clip 1 is a first session,
the others later sessions), and, with ``first_sessions``, every other clip again as the first
session of an archive of its own. The archives in ``workdir`` are the checkpoint: a session already
in them is read back, not trained again, so a stopped run resumes where it was. Per point the
bench reports nrcodec's bytes divided by the bytes x264 medium needs for the same PSNR (log-linear
interpolation of bytes in PSNR on a 14-CRF ladder) and, per clip, the BD-rate of the ladder
against x264 medium and x265 medium. Bytes are the session's chunk (the archive's header, under
400 bytes, is shared by all sessions and left out).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrcodec.bench.anchors import RDPoint, VideoAnchor, encode_video, quiet_encoders
from nrcodec.bench.curves import bd_rate, fmt, markdown_table, pareto
from nrcodec.errors import UsageError
from nrcodec.media.video import ffmpeg_available_encoders
from nrcodec.video.archive import Archive
from nrcodec.video.grow.settings import GrowSettings
from nrcodec.video.settings import NewArchive

LADDER_CRFS = tuple(range(12, 52, 3))
REFERENCE = "x264-medium"
LoadedClip = tuple[str, np.ndarray, float]
"""(name, uint8 frames (T, H, W, 3), fps)."""


def ladder_anchors() -> list[VideoAnchor]:
    """x264 and x265 at preset medium over ``LADDER_CRFS`` (those this PyAV build has)."""
    found = ffmpeg_available_encoders()
    anchors = []
    if found["h264"]:
        anchors.append(VideoAnchor(REFERENCE, "h264", found["h264"], LADDER_CRFS, {"preset": "medium"}))
    if found["hevc"]:
        options = {"preset": "medium", "x265-params": "log-level=error"}
        anchors.append(VideoAnchor("x265-medium", "hevc", found["hevc"], LADDER_CRFS, options))
    if not anchors or anchors[0].name != REFERENCE:
        raise UsageError("bench rd needs libx264 in PyAV's FFmpeg (the reference of its ratios)")
    return anchors


@dataclass(frozen=True)
class LadderPoint:
    """One session of the ladder: which clip, level and role, and what it cost and gave."""

    clip: str
    quality: int
    quality_used: int
    """The level trained (sessions written before the level was kept could have a lower one than asked)."""
    role: str
    """"first": session 1 of an archive; "later": a later session of the shared archive."""
    session: int
    bytes: int
    bpp: float
    psnr: float
    seconds: float
    weights: int
    epochs: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def bytes_at_psnr(anchor: list[RDPoint], target: float) -> float | None:
    """The bytes ``anchor`` needs for ``target`` dB: log(bytes) linear in PSNR between the two
    ladder points around it on the Pareto front; None outside the ladder."""
    front = pareto([(p.bytes, p.psnr) for p in anchor])
    if len(front) < 2 or not front[0][1] <= target <= front[-1][1]:
        return None
    logs = [math.log(b) for b, _ in front]
    return float(math.exp(np.interp(target, [d for _, d in front], logs)))


class LadderRun:
    """Runs (or resumes) the ladder sessions in ``workdir``."""

    def __init__(self, workdir: Path, device: torch.device, log: Callable[[str], None]) -> None:
        self.workdir = workdir
        self.device = device
        self.log = log

    def session(self, path: Path, clip: LoadedClip, quality: int, role: str, budget: GrowSettings) -> LadderPoint:
        """The point of ``clip`` as the next session of ``path``, read back if it is already there."""
        name, frames, fps = clip
        with Archive.writing(path, NewArchive(strategy="grow"), self.device) as archive:
            rows = archive.sessions()
            done = [row for row in rows if row.info.name == name]
            if done:
                row = done[0]
            else:
                self.log(f"quality {quality}, {name} ({role}): training session {len(rows) + 1} of {path}")
                settings = archive.plan(frames, replace(budget, quality=quality, auto_quality=False)).settings
                added = archive.add(frames, name, fps, settings)
                row = archive.sessions()[-1]
                assert added.info.session == row.info.session
        info = row.info
        return LadderPoint(
            name,
            quality,
            int(info.extra.get("quality", quality)),
            role,
            info.session,
            row.bytes,
            info.bpp(row.bytes),
            float(info.psnr or 0.0),
            info.seconds,
            info.new_weights,
            int(info.training.get("epochs_run", info.training.get("epochs", 0))),
        )

    def run(
        self, clips: list[LoadedClip], qualities: list[int], budget: GrowSettings, first_sessions: bool
    ) -> list[LadderPoint]:
        points = []
        for quality in qualities:
            shared = self.workdir / f"q{quality}.nrc"
            for i, clip in enumerate(clips):
                points.append(self.session(shared, clip, quality, "first" if i == 0 else "later", budget))
                if points[-1].quality_used != quality:
                    self.log(f"{clip[0]}: the time budget stepped quality {quality} down to {points[-1].quality_used}")
            if first_sessions:
                for clip in clips[1:]:
                    own = self.workdir / f"q{quality}-{clip[0]}.nrc"
                    points.append(self.session(own, clip, quality, "first", budget))
        return points


def anchor_points(clips: list[LoadedClip], workdir: Path, log: Callable[[str], None]) -> list[RDPoint]:
    """Every ladder anchor on every clip, cached in ``workdir/anchors.json`` by the frames' hash."""
    cache_path = workdir / "anchors.json"
    cache: dict[str, list[dict[str, Any]]] = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    quiet_encoders()
    points = []
    for name, frames, fps in clips:
        key = f"{name}:{hashlib.sha256(frames.tobytes()).hexdigest()[:16]}"
        if key not in cache:
            log(f"anchors on {name}: x264 and x265 medium at {len(LADDER_CRFS)} CRFs")
            measured = [encode_video(frames, fps, a, crf, name) for a in ladder_anchors() for crf in a.crfs]
            cache[key] = [p.to_json() for p in measured]
            cache_path.write_text(json.dumps(cache))
        points += [_rd_point(p) for p in cache[key]]
    return points


def _rd_point(data: dict[str, Any]) -> RDPoint:
    fields = {k: data[k] for k in ("codec", "item", "setting", "bytes", "bpp", "psnr", "encode_s", "decode_s")}
    return RDPoint(**fields)


def ladder_result(points: list[LadderPoint], anchors: list[RDPoint], budget: GrowSettings) -> dict[str, Any]:
    """Per point the ratio to x264 medium's bytes at equal PSNR; per clip and role the BD-rates."""
    rows = []
    for p in points:
        reference = [a for a in anchors if a.item == p.clip and a.codec == REFERENCE]
        x264 = bytes_at_psnr(reference, p.psnr)
        rows.append({**p.to_json(), "x264_bytes": x264, "ratio": None if x264 is None else p.bytes / x264})
    bd = []
    for clip in dict.fromkeys(p.clip for p in points):
        for role in ("first", "later"):
            ladder = [(p.bpp, p.psnr) for p in points if p.clip == clip and p.role == role]
            if len(ladder) < 2:
                continue
            for codec in dict.fromkeys(a.codec for a in anchors):
                curve = [(a.bpp, a.psnr) for a in anchors if a.item == clip and a.codec == codec]
                value, note = bd_rate(curve, ladder)
                bd.append({"clip": clip, "role": role, "anchor": codec, "bd_rate": value, "note": note})
    return {
        "training": budget.session_json() | {"weight_bits": budget.weight_bits},
        "points": rows,
        "bd_rates": bd,
        "anchors": [a.to_json() for a in anchors],
    }


def ladder_markdown(result: dict[str, Any]) -> str:
    """The README's "How it compares" tables: one row per session, then BD-rates per clip."""
    points = markdown_table(
        [
            "clip",
            "quality",
            "session",
            "weights",
            "epochs",
            "minutes",
            "bytes",
            "bpp",
            "PSNR dB",
            "x264 B at that PSNR",
            "ratio",
        ],
        [
            [
                r["clip"],
                r["quality"] if r["quality_used"] == r["quality"] else f"{r['quality']} → {r['quality_used']}",
                f"{r['session']} ({r['role']})",
                f"{r['weights']:,}",
                r["epochs"],
                f"{r['seconds'] / 60:.1f}",
                f"{r['bytes']:,}",
                f"{r['bpp']:.3f}",
                f"{r['psnr']:.2f}",
                fmt(r["x264_bytes"], ",.0f"),
                fmt(r["ratio"], ".2f", "x"),
            ]
            for r in result["points"]
        ],
    )
    bd = markdown_table(
        ["clip", "sessions", "anchor", "BD-rate", "range"],
        [[r["clip"], r["role"], r["anchor"], fmt(r["bd_rate"], "+.0f", "%"), r["note"]] for r in result["bd_rates"]],
    )
    return points + "\n" + bd


def ladder_curves(result: dict[str, Any]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per clip: the nrcodec ladder (later sessions) and each anchor, as (bpp, PSNR) for the plot."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r in result["points"]:
        label = f"nrcodec grow ({r['role']} session)"
        curves.setdefault(r["clip"], {}).setdefault(label, []).append((r["bpp"], r["psnr"]))
    for a in result["anchors"]:
        curves.setdefault(a["item"], {}).setdefault(a["codec"], []).append((a["bpp"], a["psnr"]))
    return curves
