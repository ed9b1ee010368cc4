"""``bench rd``: the grow strategy's quality ladder against x264 and x265 medium on long clips.

Each quality level gets one shared archive holding every clip in order (clip 1 is a first session,
the others later sessions), and, with ``first_sessions``, every other clip again as the first
session of an archive of its own. The level ``DEFAULT_LEVEL`` ("default" on the command line) is
what add-video does with no settings: the plan picks the level and the budget, and a clip longer
than ``segment`` frames is split into segments; its point is the whole video. The archives in
``workdir`` are the checkpoint: a video already in them is read back, not trained again, and one
cut off between segments goes on from its next segment. Per point the
bench reports nrcodec's bytes divided by the bytes x264 medium needs for the same PSNR (log-linear
interpolation of bytes in PSNR on a 14-CRF ladder), the same against x264 medium coding 4:4:4
(nrcodec codes RGB, and 4:2:0 chroma caps x264's RGB PSNR near 40 dB on some clips), and, per clip,
the BD-rate of the ladder against each anchor. Bytes are the video's session chunks (the archive's header,
under 400 bytes, is shared by all sessions and left out).
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
from nrcodec.video.records import bits_per_pixel
from nrcodec.video.settings import NewArchive
from nrcodec.video.videos import Video, plan_video

LADDER_CRFS = tuple(range(12, 52, 3))
REFERENCE = "x264-medium"
FULL_CHROMA = "x264-medium-444"
"""x264 medium coding 4:4:4: the reference at high PSNR, where 4:2:0 chroma caps x264's RGB PSNR
(about 40 dB on a fixed-camera clip whose nrcodec session reached 40.3 dB, notes/scale.md)."""
DEFAULT_LEVEL = 0
"""The ladder entry that is add-video's default: the level and budget the plan picks."""
LoadedClip = tuple[str, np.ndarray, float]
"""(name, uint8 frames (T, H, W, 3), fps)."""


def ladder_anchors() -> list[VideoAnchor]:
    """x264 and x265 at preset medium over ``LADDER_CRFS`` (those this PyAV build has)."""
    found = ffmpeg_available_encoders()
    anchors = []
    if found["h264"]:
        anchors.append(VideoAnchor(REFERENCE, "h264", found["h264"], LADDER_CRFS, {"preset": "medium"}))
        anchors.append(VideoAnchor(FULL_CHROMA, "h264", found["h264"], LADDER_CRFS, {"preset": "medium"}, "yuv444p"))
    if found["hevc"]:
        options = {"preset": "medium", "x265-params": "log-level=error"}
        anchors.append(VideoAnchor("x265-medium", "hevc", found["hevc"], LADDER_CRFS, options))
    if not anchors or anchors[0].name != REFERENCE:
        raise UsageError("bench rd needs libx264 in PyAV's FFmpeg (the reference of its ratios)")
    return anchors


@dataclass(frozen=True)
class LadderPoint:
    """One video of the ladder: which clip, level and role, and what it cost and gave (summed over
    its segments; PSNR the mean over its frames)."""

    clip: str
    quality: int
    """The level asked; ``DEFAULT_LEVEL``: the plan's choice."""
    quality_used: int
    """The level trained (of the first segment)."""
    role: str
    """"first": video 1 of an archive; "later": a later video of the shared archive."""
    session: int
    """The video's number in its archive."""
    frames: int
    segments: int
    bytes: int
    bpp: float
    psnr: float
    seconds: float
    weights: int
    epochs: int
    """Passes over the clip (of the first segment)."""

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

    def session(
        self, path: Path, clip: LoadedClip, quality: int, role: str, budget: GrowSettings, segment: int
    ) -> LadderPoint:
        """The point of ``clip`` as the next video of ``path``, read back if it is already there."""
        name, frames, fps = clip
        with Archive.writing(path, NewArchive(strategy="grow"), self.device) as archive:
            videos = archive.videos()
            mine = [v for v in videos if v.first.name == name]
            if not mine or not mine[-1].complete:
                self.log(f"quality {quality or 'default'}, {name} ({role}): training a video of {path}")
                wanted = replace(budget, quality=quality, auto_quality=False) if quality else budget
                planned = plan_video(archive.library, frames, wanted, segment)
                if planned.text:
                    self.log(planned.text)
                cut = mine and mine[-1] is videos[-1] and mine[-1].expected == len(planned.parts)
                done = len(mine[-1].segments) if cut else 0
                for index, (start, stop) in enumerate(planned.parts[done:], start=done + 1):
                    archive.add(frames[start:stop], name, fps, planned.plan.settings, meta=planned.meta(index))
                mine = [archive.videos()[-1]]
        return _point(mine[-1], quality, role)

    def run(
        self,
        clips: list[LoadedClip],
        qualities: list[int],
        budget: GrowSettings,
        first_sessions: bool,
        segment: int,
    ) -> list[LadderPoint]:
        points = []
        for quality in qualities:
            stem = f"q{quality}" if quality else "default"
            for i, clip in enumerate(clips):
                role = "first" if i == 0 else "later"
                points.append(self.session(self.workdir / f"{stem}.nrc", clip, quality, role, budget, segment))
                if not quality:
                    self.log(f"{clip[0]}: the plan's level is quality {points[-1].quality_used}")
            if first_sessions:
                for clip in clips[1:]:
                    own = self.workdir / f"{stem}-{clip[0]}.nrc"
                    points.append(self.session(own, clip, quality, "first", budget, segment))
        return points


def _point(video: Video, quality: int, role: str) -> LadderPoint:
    first = video.first
    return LadderPoint(
        first.name,
        quality,
        int(first.extra.get("quality", quality)),
        role,
        video.number,
        video.frames,
        len(video.segments),
        video.bytes,
        bits_per_pixel(video.bytes, first.width, first.height, video.frames),
        float(video.psnr or 0.0),
        sum(row.info.seconds for row in video.segments),
        sum(row.info.new_weights for row in video.segments),
        int(first.training.get("epochs_run", first.training.get("epochs", 0))),
    )


def anchor_points(clips: list[LoadedClip], workdir: Path, log: Callable[[str], None]) -> list[RDPoint]:
    """Every ladder anchor on every clip, cached in ``workdir/anchors.json`` by the frames' hash (an
    anchor missing from the cache is measured and added)."""
    cache_path = workdir / "anchors.json"
    cache: dict[str, list[dict[str, Any]]] = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    quiet_encoders()
    points = []
    for name, frames, fps in clips:
        key = f"{name}:{hashlib.sha256(frames.tobytes()).hexdigest()[:16]}"
        cached = cache.setdefault(key, [])
        missing = [a for a in ladder_anchors() if a.name not in {p["codec"] for p in cached}]
        if missing:
            log(f"anchors on {name}: {', '.join(a.name for a in missing)} at {len(LADDER_CRFS)} CRFs")
            cached += [encode_video(frames, fps, a, crf, name).to_json() for a in missing for crf in a.crfs]
            cache_path.write_text(json.dumps(cache))
        points += [_rd_point(p) for p in cached]
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
        full = bytes_at_psnr([a for a in anchors if a.item == p.clip and a.codec == FULL_CHROMA], p.psnr)
        rows.append(
            {
                **p.to_json(),
                "x264_bytes": x264,
                "ratio": None if x264 is None else p.bytes / x264,
                "x264_444_bytes": full,
                "ratio_444": None if full is None else p.bytes / full,
            }
        )
    bd = []
    for clip in dict.fromkeys(p.clip for p in points):
        for role in ("first", "later"):
            ladder = [(p.bpp, p.psnr) for p in points if p.clip == clip and p.role == role and p.quality]
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
            "video",
            "frames",
            "weights",
            "epochs",
            "minutes",
            "bytes",
            "bpp",
            "PSNR dB",
            "x264 B at that PSNR",
            "ratio",
            "ratio to x264 4:4:4",
        ],
        [
            [
                r["clip"],
                _level(r),
                f"{r['session']} ({r['role']})",
                r["frames"] if r["segments"] == 1 else f"{r['frames']} ({r['segments']} segments)",
                f"{r['weights']:,}",
                r["epochs"],
                f"{r['seconds'] / 60:.1f}",
                f"{r['bytes']:,}",
                f"{r['bpp']:.3f}",
                f"{r['psnr']:.2f}",
                fmt(r["x264_bytes"], ",.0f"),
                fmt(r["ratio"], ".2f", "x"),
                fmt(r["ratio_444"], ".2f", "x"),
            ]
            for r in result["points"]
        ],
    )
    bd = markdown_table(
        ["clip", "sessions", "anchor", "BD-rate", "range"],
        [[r["clip"], r["role"], r["anchor"], fmt(r["bd_rate"], "+.0f", "%"), r["note"]] for r in result["bd_rates"]],
    )
    return points + "\n" + bd


def _level(row: dict[str, Any]) -> str:
    if row["quality"] == DEFAULT_LEVEL:
        return f"default ({row['quality_used']})"
    return str(row["quality"]) if row["quality_used"] == row["quality"] else f"{row['quality']} → {row['quality_used']}"


def ladder_curves(result: dict[str, Any]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per clip: the nrcodec ladder (later sessions) and each anchor, as (bpp, PSNR) for the plot."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {}
    for r in result["points"]:
        label = f"nrcodec grow ({r['role']} session)"
        curves.setdefault(r["clip"], {}).setdefault(label, []).append((r["bpp"], r["psnr"]))
    for a in result["anchors"]:
        curves.setdefault(a["item"], {}).setdefault(a["codec"], []).append((a["bpp"], a["psnr"]))
    return curves
