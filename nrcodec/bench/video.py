"""Video rate-distortion bench: PNR archives at several sizes, STL at equal bytes, classic anchors.

Every nrcodec figure is measured the way a user would meet it: archives are written to disk, reopened
in a fresh Library, and decoded; bpp comes from each session's chunk bytes plus its share of the
archive header, PSNR from RGB at the source size against the source frames. STL (single-task learning)
is the non-continual baseline: one dense archive (capacity 1.0) per clip, its width chosen so that the
three files together take about the bytes the PNR archive takes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nrcodec.bench.anchors import RDPoint, VideoAnchor, video_points
from nrcodec.bench.curves import bd_rates, fmt, markdown_table, psnr_at_bpp
from nrcodec.errors import InputError
from nrcodec.format.session import SessionRecord
from nrcodec.metrics import psnr
from nrcodec.video.archive import Archive
from nrcodec.video.nerv import NervLayout
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.model import Preset

BENCH_EPOCHS = 50
"""Epochs per session by default: fewer than the presets' so that the default run fits 30 minutes on 2 CPU cores."""
DEFAULT_SIZES = "0.05,0.1,0.2"

Clip = tuple[str, np.ndarray, float]
Say = Callable[[str], None]


@dataclass(frozen=True)
class Size:
    """One nrcodec operating point: capacity c of every session and a width factor on the preset's channels."""

    capacity: float
    width: float = 1.0

    @property
    def label(self) -> str:
        return f"c={self.capacity:g}" + ("" if self.width == 1 else f" w={self.width:g}")


def parse_sizes(text: str) -> list[Size]:
    """'0.1,0.2,0.4' (capacities) or '0.2:1.5' (capacity:width), comma-separated."""
    sizes = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            values = [float(v) for v in part.split(":")]
        except ValueError:
            raise InputError(f"--sizes: {part!r} is not CAPACITY or CAPACITY:WIDTH, e.g. 0.2 or 0.2:1.5") from None
        if len(values) > 2 or not 0 < values[0] <= 1 or (len(values) == 2 and not 0.1 <= values[1] <= 8):
            raise InputError(f"--sizes: {part!r} needs a capacity in (0, 1] and an optional width in [0.1, 8]")
        sizes.append(Size(*values))
    if not sizes:
        raise InputError("--sizes is empty; give capacities such as 0.1,0.2,0.4")
    return sizes


def scaled_architecture(arch: NervLayout, width: float) -> NervLayout:
    """The preset's supernet with every channel count and the stem scaled by ``width``; same canvas."""
    if width == 1:
        return arch
    return replace(
        arch,
        stem_hidden=max(8, round(arch.stem_hidden * width)),
        channels=tuple(max(4, round(c * width)) for c in arch.channels),
    )


def width_for_weights(arch: NervLayout, weights: float) -> float:
    """The width factor whose scaled supernet has about ``weights`` masked weights (bisection)."""
    low, high = 0.05, 8.0
    for _ in range(40):
        mid = math.sqrt(low * high)
        if scaled_architecture(arch, mid).weight_count() < weights:
            low = mid
        else:
            high = mid
    return round(low, 3)


def _entropy_bits(bits: np.ndarray) -> float:
    """Ideal code length of a bitset under its own frequencies, as the archive codes masks."""
    if bits.size == 0:
        return 0.0
    p = float(bits.mean())
    if p in (0.0, 1.0):
        return 0.0
    return -bits.size * (p * math.log2(p) + (1 - p) * math.log2(1 - p))


def mask_bytes(records: list[SessionRecord]) -> list[float]:
    """Bytes each session spends on its masks (ideal code length, split into frozen and free parts like the
    archive), so weight bytes and mask bytes can be told apart."""
    frozen: dict[str, np.ndarray] = {}
    out = []
    for record in records:
        bits = 0.0
        for name, layer in record.layers.items():
            before = frozen.get(name, np.zeros(layer.mask.size, dtype=bool))
            bits += _entropy_bits(layer.mask[before]) + _entropy_bits(layer.mask[~before])
            frozen[name] = before | layer.mask
        out.append(bits / 8)
    return out


def _decode_all(path: Path, clips: list[Clip], device: torch.device) -> list[tuple[float, float]]:
    """Reopen the archive as a decoder would and measure (PSNR, decode seconds) of every session."""
    archive = Archive.open(path, device)
    measured = []
    for session, (_, frames, _) in enumerate(clips, start=1):
        start = time.perf_counter()
        decoded = archive.library.decode(session)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        if decoded.shape != frames.shape:
            raise InputError(f"session {session} decodes to {decoded.shape}, the source is {frames.shape}")
        measured.append((psnr(frames, decoded), seconds))
    return measured


def _point(
    codec: str,
    setting: str,
    name: str,
    frames: np.ndarray,
    nbytes: int,
    quality: float,
    encode_s: float,
    decode_s: float,
    extra: dict[str, Any],
) -> RDPoint:
    return RDPoint(
        codec=codec,
        item=name,
        setting=setting,
        bytes=nbytes,
        bpp=nbytes * 8 / frames[..., 0].size,
        psnr=quality,
        encode_s=encode_s,
        decode_s=decode_s,
        extra={**extra, "decode_fps": frames.shape[0] / decode_s},
    )


def pnr_run(
    clips: list[Clip],
    chosen: Preset,
    size: Size,
    settings: SessionSettings,
    workdir: Path,
    device: torch.device,
    say: Say,
) -> tuple[list[RDPoint], dict[str, Any]]:
    """Learn the clips in order into one PNR archive; one RD point per clip, plus a summary."""
    config = SupernetConfig(
        preset=chosen.name, architecture=scaled_architecture(chosen.architecture, size.width), capacity=size.capacity
    )
    path = workdir / f"pnr-{size.capacity:g}-{size.width:g}.nrc"
    archive = Archive.create(path, config, device)
    added = []
    for name, frames, fps in clips:
        say(f"nrcodec {size.label}: session {len(added) + 1} ({name}), {settings.epochs} epochs")
        start = time.perf_counter()
        result = archive.add(frames, name, fps, settings)
        added.append((result, time.perf_counter() - start))
    share = archive.header_bytes / len(clips)
    points = []
    masks = mask_bytes(archive.library.records)
    for (name, frames, _), (result, encode_s), nbytes, (quality, decode_s), mask in zip(
        clips, added, archive.session_bytes, _decode_all(path, clips, device), masks
    ):
        info = result.info
        points.append(
            _point(
                f"nrcodec {size.label}",
                size.label,
                name,
                frames,
                round(nbytes + share),
                quality,
                encode_s,
                decode_s,
                {
                    "session": info.session,
                    "chunk_bytes": nbytes,
                    "header_share": round(share, 1),
                    "mask_bytes": round(mask),
                    "new_weights": info.new_weights,
                    "reused_weights": info.reused_weights,
                },
            )
        )
    summary = {
        "size": size.label,
        "capacity": size.capacity,
        "width": size.width,
        "weights": config.architecture.weight_count(),
        "file_bytes": path.stat().st_size,
        "capacity_used": archive.library.state.capacity().used,
        "new_weights": sum(p.extra["new_weights"] for p in points),
        "mask_bytes": round(sum(masks)),
    }
    return points, summary


def stl_run(
    clips: list[Clip],
    chosen: Preset,
    target_bytes: int,
    bytes_per_weight: float,
    settings: SessionSettings,
    workdir: Path,
    device: torch.device,
    say: Say,
) -> tuple[list[RDPoint], dict[str, Any]]:
    """One dense archive per clip, sized so that the files together take about ``target_bytes``.

    ``bytes_per_weight`` is what PNR paid per new weight without its masks; a dense archive has no mask to pay.
    """
    width = width_for_weights(chosen.architecture, target_bytes / len(clips) / bytes_per_weight)
    config = SupernetConfig(
        preset=chosen.name, architecture=scaled_architecture(chosen.architecture, width), capacity=1.0
    )
    points = []
    for name, frames, fps in clips:
        say(f"STL w={width:g}: {name}, {settings.epochs} epochs")
        path = workdir / f"stl-{width:g}-{name}.nrc"
        archive = Archive.create(path, config, device)
        start = time.perf_counter()
        archive.add(frames, name, fps, settings)
        encode_s = time.perf_counter() - start
        [(quality, decode_s)] = _decode_all(path, [(name, frames, fps)], device)
        points.append(
            _point(
                f"STL w={width:g}",
                f"dense w={width:g}",
                name,
                frames,
                path.stat().st_size,
                quality,
                encode_s,
                decode_s,
                {"weights": config.architecture.weight_count()},
            )
        )
    summary = {
        "width": width,
        "weights": config.architecture.weight_count(),
        "file_bytes": sum(p.bytes for p in points),
        "target_bytes": target_bytes,
    }
    return points, summary


def run_video_bench(
    clips: list[Clip],
    chosen: Preset,
    sizes: list[Size],
    settings: SessionSettings,
    anchors: list[VideoAnchor],
    workdir: Path,
    device: torch.device,
    stl: str = "one",
    say: Say = lambda _: None,
) -> dict[str, Any]:
    """Everything ``nrcodec bench video`` reports, as one JSON-ready dict."""
    if stl not in ("one", "all", "none"):
        raise InputError(f"--stl must be one, all or none, got {stl!r}")
    workdir.mkdir(parents=True, exist_ok=True)
    points: list[RDPoint] = []
    for name, frames, fps in clips:
        say(f"anchors: {name} ({', '.join(a.name for a in anchors)})")
        points += video_points(frames, fps, name, anchors)
    runs = []
    stl_runs = []
    matched = [len(sizes) // 2] if stl == "one" else range(len(sizes)) if stl == "all" else []
    for index, size in enumerate(sizes):
        pnr_points, summary = pnr_run(clips, chosen, size, settings, workdir, device, say)
        points += pnr_points
        runs.append(summary)
        if index in matched:
            stl_points, stl_summary = _stl_matched(
                clips, chosen, size, pnr_points, summary, settings, workdir, device, say
            )
            points += stl_points
            stl_runs.append(stl_summary)
    tests = ["nrcodec"] + (["STL"] if len(stl_runs) > 1 else [])
    return {
        "settings": _settings_json(chosen, sizes, settings, stl, anchors),
        "clips": [
            {"name": n, "frames": int(f.shape[0]), "width": int(f.shape[2]), "height": int(f.shape[1]), "fps": fps}
            for n, f, fps in clips
        ],
        "nrcodec_runs": runs,
        "stl_runs": stl_runs,
        "points": [p.to_json() for p in points],
        "bd_rate": bd_rates(points, tests, [a.name for a in anchors], [name for name, _, _ in clips]),
    }


def _stl_matched(
    clips: list[Clip],
    chosen: Preset,
    size: Size,
    pnr_points: list[RDPoint],
    summary: dict[str, Any],
    settings: SessionSettings,
    workdir: Path,
    device: torch.device,
    say: Say,
) -> tuple[list[RDPoint], dict[str, Any]]:
    """The STL run that spends what the PNR run of ``size`` spent, at PNR's bytes per new weight."""
    total = sum(p.bytes for p in pnr_points)
    bytes_per_weight = (total - summary["mask_bytes"]) / summary["new_weights"]
    points, stl_summary = stl_run(clips, chosen, total, bytes_per_weight, settings, workdir, device, say)
    stl_summary["matched_to"] = size.label
    return points, stl_summary


def _settings_json(
    chosen: Preset, sizes: list[Size], settings: SessionSettings, stl: str, anchors: list[VideoAnchor]
) -> dict[str, Any]:
    """What the bench ran with: preset, operating points, training and the anchors' configurations."""
    return {
        "preset": chosen.name,
        "canvas": list(chosen.architecture.canvas),
        "sizes": [s.label for s in sizes],
        "epochs": settings.epochs,
        "batch_size": settings.batch_size,
        "lr": settings.lr,
        "stl": stl,
        "anchors": [
            {"name": a.name, "encoder": a.encoder, "crfs": list(a.crfs), "options": a.options} for a in anchors
        ],
    }


def video_curves(result: dict[str, Any]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """clip -> curve name -> [(bpp, psnr)] for the plot; nrcodec sizes form one curve, STL another."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {c["name"]: {} for c in result["clips"]}
    for p in result["points"]:
        name = p["codec"].split(" ")[0]
        curves[p["item"]].setdefault(name, []).append((p["bpp"], p["psnr"]))
    return curves


def video_markdown(result: dict[str, Any]) -> str:
    """README-ready tables: nrcodec and STL points with each anchor's PSNR at the same bpp, BD-rates, speed."""
    anchors = [a["name"] for a in result["settings"]["anchors"]]
    notes = _undefined_bd_notes(result)
    return (
        _markdown_head(result)
        + _points_table(result, anchors)
        + "\nBD-rate (Bjøntegaard, Akima; negative = nrcodec needs fewer bits at equal PSNR):\n\n"
        + _bd_table(result)
        + ("\nUndefined BD-rates:\n\n" + notes if notes else "")
        + "\nAnchors:\n\n"
        + _anchor_table(result, anchors)
    )


def _markdown_head(result: dict[str, Any]) -> str:
    """Device, versions and how every figure below was measured."""
    s = result["settings"]
    return (
        f"Device: {result['device_name']} ({result['device']}); "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + f"\n\nnrcodec: preset {s['preset']} (canvas {s['canvas'][0]}x{s['canvas'][1]}), {s['epochs']} epochs per "
        f"session, sizes {', '.join(s['sizes'])}, clips learned in order into one archive per size. bpp from real "
        "chunk bytes plus a share of the archive header; anchors from the sum of coded packets (no container). "
        "RGB PSNR at the source size. Anchor columns: the anchor's PSNR at the same bpp (log-rate interpolation; "
        "n/a outside its CRF range). Anchors encode 4:2:0 with their default threading and CPU-specific assembly, so "
        "their bytes can differ slightly from run to run; nrcodec's encode time is its training time.\n\n"
    )


def _points_table(result: dict[str, Any], anchors: list[str]) -> str:
    """One row per nrcodec or STL point, with each anchor's PSNR at the same bpp."""
    curves = video_curves(result)
    rows = []
    for p in result["points"]:
        if p["codec"].split(" ")[0] not in ("nrcodec", "STL"):
            continue
        matched = [fmt(psnr_at_bpp(curves[p["item"]][a], p["bpp"]), ".2f") for a in anchors]
        rows.append(
            [
                p["item"],
                p["codec"],
                f"{p['bytes']:,}",
                f"{p['bpp']:.4f}",
                f"{p['psnr']:.2f}",
                *matched,
                f"{p['encode_s']:.0f}",
                f"{p['decode_fps']:.1f}",
            ]
        )
    return markdown_table(
        ["clip", "codec", "bytes", "bpp", "PSNR", *[f"{a} @bpp" for a in anchors], "encode s", "decode fps"], rows
    )


def _bd_table(result: dict[str, Any]) -> str:
    """BD-rate of every test curve against every anchor, per clip and on average."""
    rows = [
        [
            r["test"],
            r["anchor"],
            *[fmt(v["bd_rate"], "+.1f", "%") for v in r["items"].values()],
            fmt(r["mean"], "+.1f", "%"),
        ]
        for r in result["bd_rate"]
    ]
    return markdown_table(["test", "anchor", *[c["name"] for c in result["clips"]], "mean"], rows)


def _undefined_bd_notes(result: dict[str, Any]) -> str:
    """One line per undefined BD-rate, with the reason."""
    return "".join(
        f"- {r['test']} vs {r['anchor']}, {item}: {v['note']}\n"
        for r in result["bd_rate"]
        for item, v in r["items"].items()
        if v["bd_rate"] is None
    )


def _anchor_table(result: dict[str, Any], anchors: list[str]) -> str:
    """Each anchor's encoder, the bpp and PSNR range it covered, and its speed."""
    rows = []
    for a in anchors:
        mine = [p for p in result["points"] if p["codec"] == a]
        rows.append(
            [
                a,
                mine[0]["encoder"],
                f"{min(p['bpp'] for p in mine):.3f}-{max(p['bpp'] for p in mine):.3f}",
                f"{min(p['psnr'] for p in mine):.1f}-{max(p['psnr'] for p in mine):.1f}",
                f"{np.mean([p['encode_s'] for p in mine]):.2f}",
                f"{np.mean([p['decode_fps'] for p in mine]):.0f}",
            ]
        )
    return markdown_table(["anchor", "encoder", "bpp range", "PSNR range", "encode s / clip", "decode fps"], rows)
