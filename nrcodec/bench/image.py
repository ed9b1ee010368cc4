"""Image rate-distortion bench: every version and quality level of codec files against Pillow's codecs.

Each bpp is the real bitstream or file length (header included) over the image's pixels; PSNR is RGB
at the image's size after a real decode of those bytes, MS-SSIM likewise (on images of 161 pixels or
more a side). The headline is the **mean RD curve**: for each operating point (a quality level of a
version, a quality setting of an anchor) the mean bpp and the mean PSNR / MS-SSIM over all images,
and BD-rate between those mean curves (PSNR, and MS-SSIM in dB: -10·log10(1 - MS-SSIM)). The mean of
per-image BD-rates is reported beside it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nrcodec.bench.anchors import ImageAnchor, RDPoint, image_points
from nrcodec.bench.curves import bd_rate, bd_rates, fmt, markdown_table
from nrcodec.bench.published import PUBLISHED
from nrcodec.image import Codec, decode_image, encode_image
from nrcodec.metrics import ms_ssim_image, psnr

Say = Callable[[str], None]
Curve = list[tuple[float, float]]


def _qualities(codec: Codec, vid: int) -> list[int | None]:
    levels = codec.model(vid).levels
    return list(range(1, levels + 1)) if levels > 1 else [None]


def codec_points(codec: Codec, label: str, images: list[tuple[str, np.ndarray]]) -> list[RDPoint]:
    """One point per version, quality level and image, coded to bytes and decoded back."""
    points = []
    for info in codec.versions:
        encode_image(codec, images[0][1], info.id)  # warm-up: the first call builds the model and tables
        for quality in _qualities(codec, info.id):
            for name, rgb in images:
                start = time.perf_counter()
                encoded = encode_image(codec, rgb, info.id, quality)
                encode_s = time.perf_counter() - start
                start = time.perf_counter()
                decoded, _ = decode_image(codec, encoded.data)
                decode_s = time.perf_counter() - start
                extra = {"version": info.id, "mode": info.mode, "codec_file": label, "quality": quality}
                points.append(
                    RDPoint(
                        codec=f"nrcodec v{info.id}",
                        item=name,
                        setting=f"{label} quality {quality}" if quality else label,
                        bytes=len(encoded.data),
                        bpp=len(encoded.data) * 8 / rgb[..., 0].size,
                        psnr=psnr(rgb[None], decoded[None]),
                        encode_s=encode_s,
                        decode_s=decode_s,
                        extra={**extra, "ms_ssim": ms_ssim_image(rgb, decoded)},
                    )
                )
    return points


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a decibel scale, so that curves near 1 spread out like PSNR."""
    return -10 * math.log10(max(1e-10, 1 - value))


def mean_curves(points: list[dict[str, Any]], metric: str) -> dict[str, Curve]:
    """codec -> [(mean bpp, mean metric)] over the images, one point per operating point; a point
    lacking the metric on some image (MS-SSIM of a small image) is left out."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for p in points:
        groups.setdefault((p["codec"], p["setting"]), []).append(p)
    curves: dict[str, Curve] = {}
    for (codec, _), group in groups.items():
        values = [p.get(metric) for p in group]
        if any(v is None for v in values):
            continue
        scale = ms_ssim_db if metric == "ms_ssim" else float
        mean = float(np.mean([scale(v) for v in values]))
        curves.setdefault(codec, []).append((float(np.mean([p["bpp"] for p in group])), mean))
    return {codec: sorted(curve) for codec, curve in curves.items()}


def _mean_curve_bd(points: list[dict[str, Any]], tests: list[str], anchors: list[str]) -> list[dict[str, Any]]:
    rows = []
    for metric in ("psnr", "ms_ssim"):
        curves = mean_curves(points, metric)
        for test in tests:
            for anchor in anchors:
                if test in curves and anchor in curves:
                    value, note = bd_rate(curves[anchor], curves[test])
                    rows.append({"metric": metric, "test": test, "anchor": anchor, "bd_rate": value, "note": note})
    return rows


def run_image_bench(
    images: list[tuple[str, np.ndarray]],
    codecs: list[tuple[str, Codec]],
    anchors: list[ImageAnchor],
    say: Say = lambda _: None,
) -> dict[str, Any]:
    """Everything ``nrcodec bench image`` reports, as one JSON-ready dict."""
    points: list[RDPoint] = []
    for label, codec in codecs:
        say(f"nrcodec: {label} ({len(codec.versions)} versions)")
        points += codec_points(codec, label, images)
    for name, rgb in images:
        say(f"anchors: {name}")
        points += image_points(rgb, name, anchors)
    tests = sorted({p.codec for p in points if p.codec.startswith("nrcodec")})
    names = [a.name for a in anchors]
    as_json = [p.to_json() for p in points]
    return {
        "codec_files": [{"path": label, "versions": len(codec.versions)} for label, codec in codecs],
        "images": [{"name": n, "width": int(rgb.shape[1]), "height": int(rgb.shape[0])} for n, rgb in images],
        "anchors": [{"name": a.name, "settings": list(a.settings)} for a in anchors],
        "points": as_json,
        "mean_curve_bd_rate": _mean_curve_bd(as_json, tests, names),
        "bd_rate": bd_rates(points, tests, names, [name for name, _ in images]),
        "published": [curve.to_json() for curve in PUBLISHED],
        "published_bd_rate": _published_bd(as_json, tests),
    }


def _published_bd(points: list[dict[str, Any]], tests: list[str]) -> list[dict[str, Any]]:
    """BD-rate (PSNR) of each nrcodec mean curve against each published curve (on Kodak-24, not on
    the bench's images unless they are Kodak's)."""
    curves = mean_curves(points, "psnr")
    rows = []
    for test in tests:
        for published in PUBLISHED:
            value, note = bd_rate(list(published.points), curves[test])
            rows.append({"test": test, "published": published.name, "bd_rate": value, "note": note})
    return rows


def image_curves(result: dict[str, Any]) -> dict[str, dict[str, Curve]]:
    """Panel -> codec -> mean curve, for the plot: PSNR and MS-SSIM (dB)."""
    return {
        f"mean over {len(result['images'])} images, RGB PSNR (dB)": {
            **mean_curves(result["points"], "psnr"),
            **{
                f"{c['name']} ({c['images']}, published)": [tuple(p) for p in c["points"]]
                for c in result.get("published", [])
            },
        },
        f"mean over {len(result['images'])} images, MS-SSIM (dB)": mean_curves(result["points"], "ms_ssim"),
    }


def image_markdown(result: dict[str, Any]) -> str:
    """README-ready tables: the mean curves, BD-rates on them and per image, speed."""
    head = (
        f"Device: {result['device_name']} ({result['device']}); "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + f"\n\n{len(result['images'])} images. bpp from the real bitstream bytes (header included) or the Pillow "
        "file bytes; RGB PSNR and MS-SSIM at the image size after decoding those bytes. Mean curve: mean bpp "
        "and mean PSNR / MS-SSIM (dB) over the images at each operating point.\n\n"
    )
    psnr_curves = mean_curves(result["points"], "psnr")
    ssim_curves = mean_curves(result["points"], "ms_ssim")
    rows = []
    for codec, curve in psnr_curves.items():
        ssim = dict(ssim_curves.get(codec, []))
        rows += [[codec, f"{bpp:.3f}", f"{value:.2f}", fmt(ssim.get(bpp), ".2f")] for bpp, value in curve]
    curves = markdown_table(["codec", "mean bpp", "mean PSNR (dB)", "mean MS-SSIM (dB)"], rows)
    bd_rows = [
        [r["test"], r["anchor"], r["metric"].replace("ms_ssim", "MS-SSIM").replace("psnr", "PSNR"),
         fmt(r["bd_rate"], "+.1f", "%"), r["note"]]
        for r in result["mean_curve_bd_rate"]
    ]  # fmt: skip
    bd = markdown_table(["test", "anchor", "metric", "BD-rate (mean curve)", "range"], bd_rows)
    per_image = [
        [r["test"], r["anchor"], fmt(r["mean"], "+.1f", "%"),
         f"{sum(v['bd_rate'] is not None for v in r['items'].values())}/{len(r['items'])}"]
        for r in result["bd_rate"]
    ]  # fmt: skip
    per_image_table = markdown_table(
        ["test", "anchor", "mean of per-image BD-rates (PSNR)", "images defined"], per_image
    )
    return (
        head + curves
        + "\nBD-rate (Bjøntegaard, Akima) on the mean curves; negative = fewer bits than the anchor:\n\n" + bd
        + "\nPer image, then averaged:\n\n" + per_image_table
        + _published_markdown(result)
        + "\nSpeed (mean per image):\n\n" + _speed_table(result)
    )  # fmt: skip


def _published_markdown(result: dict[str, Any]) -> str:
    """The published curves' BD-rates, with where they come from (none in a result written before them)."""
    rows = [
        [r["test"], r["published"], fmt(r["bd_rate"], "+.1f", "%"), r["note"]]
        for r in result.get("published_bd_rate", [])
    ]
    if not rows:
        return ""
    sources = "; ".join(f"{c['name']} on {c['images']}: {c['source']}" for c in result["published"])
    return (
        "\nAgainst published curves of the same model family (measured on Kodak-24, not on these images "
        f"unless they are Kodak's; {sources}):\n\n"
        + markdown_table(["test", "published", "BD-rate (PSNR, mean curve)", "range"], rows)
    )


def _speed_table(result: dict[str, Any]) -> str:
    rows = []
    for codec in dict.fromkeys(p["codec"] for p in result["points"]):
        mine = [p for p in result["points"] if p["codec"] == codec]
        encode, decode = np.mean([p["encode_s"] for p in mine]), np.mean([p["decode_s"] for p in mine])
        rows.append([codec, f"{encode * 1e3:.1f}", f"{decode * 1e3:.1f}"])
    return markdown_table(["codec", "encode ms", "decode ms"], rows)
