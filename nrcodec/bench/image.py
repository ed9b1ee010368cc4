"""Image rate-distortion bench: every version of one or more codec files against Pillow's classic codecs.

A factorized-prior version is trained for one rate, so one codec file gives one point per version and
image; codec files trained at several rates (same version ids) make a curve per version, and only then
is a BD-rate defined. Each bpp is the real bitstream length (header included) over the image's pixels,
each PSNR is RGB at the image's size after a real decode of those bytes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from nrcodec.bench.anchors import ImageAnchor, RDPoint, image_points
from nrcodec.bench.rd import bd_rates, fmt, markdown_table, mean_defined, psnr_at_bpp
from nrcodec.image import Codec, decode_image, encode_image
from nrcodec.metrics import psnr

Say = Callable[[str], None]


def codec_points(codec: Codec, label: str, images: list[tuple[str, np.ndarray]]) -> list[RDPoint]:
    """One point per version of ``codec`` and per image, coded to bytes and decoded back."""
    points = []
    for info in codec.versions:
        encode_image(codec, images[0][1], info.id)  # warm-up: the first call builds the model and tables
        for name, rgb in images:
            start = time.perf_counter()
            encoded = encode_image(codec, rgb, info.id)
            encode_s = time.perf_counter() - start
            start = time.perf_counter()
            decoded, _ = decode_image(codec, encoded.data)
            decode_s = time.perf_counter() - start
            points.append(
                RDPoint(
                    codec=f"nrcodec v{info.id}",
                    item=name,
                    setting=label,
                    bytes=len(encoded.data),
                    bpp=len(encoded.data) * 8 / rgb[..., 0].size,
                    psnr=psnr(rgb[None], decoded[None]),
                    encode_s=encode_s,
                    decode_s=decode_s,
                    extra={"version": info.id, "mode": info.mode, "codec_file": label},
                )
            )
    return points


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
    items = [name for name, _ in images]
    return {
        "codec_files": [{"path": label, "versions": len(codec.versions)} for label, codec in codecs],
        "images": [{"name": n, "width": int(rgb.shape[1]), "height": int(rgb.shape[0])} for n, rgb in images],
        "anchors": [{"name": a.name, "settings": list(a.settings)} for a in anchors],
        "points": [p.to_json() for p in points],
        "bd_rate": bd_rates(points, tests, [a.name for a in anchors], items),
    }


def image_curves(result: dict[str, Any]) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """image -> codec -> [(bpp, psnr)] for the plot."""
    curves: dict[str, dict[str, list[tuple[float, float]]]] = {i["name"]: {} for i in result["images"]}
    for p in result["points"]:
        curves[p["item"]].setdefault(p["codec"], []).append((p["bpp"], p["psnr"]))
    return curves


def image_markdown(result: dict[str, Any]) -> str:
    """README-ready tables: each version's points with every anchor's PSNR at the same bpp, BD-rates, speed."""
    anchors = [a["name"] for a in result["anchors"]]
    curves = image_curves(result)
    head = (
        f"Device: {result['device_name']} ({result['device']}); "
        + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + "\n\nbpp from the real bitstream bytes (header included) or the Pillow file bytes; RGB PSNR at the image "
        "size after decoding those bytes. Anchor columns: the anchor's PSNR at the same bpp (log-rate "
        "interpolation over its quality ladder; n/a outside it).\n\n"
    )
    ours = [p for p in result["points"] if p["codec"].startswith("nrcodec")]
    rows = [
        [p["item"], p["codec"], p["setting"], f"{p['bytes']:,}", f"{p['bpp']:.3f}", f"{p['psnr']:.2f}",
         *[fmt(psnr_at_bpp(curves[p["item"]][a], p["bpp"]), ".2f") for a in anchors],
         f"{p['encode_s'] * 1e3:.0f}", f"{p['decode_s'] * 1e3:.0f}"]
        for p in ours
    ]  # fmt: skip
    table = markdown_table(
        ["image", "codec", "codec file", "bytes", "bpp", "PSNR", *[f"{a} @bpp" for a in anchors], "enc ms", "dec ms"],
        rows,
    )
    gaps = []
    for test in sorted({p["codec"] for p in ours}):
        mine = [p for p in ours if p["codec"] == test]
        for a in anchors:
            deltas = [p["psnr"] - v for p in mine if (v := psnr_at_bpp(curves[p["item"]][a], p["bpp"])) is not None]
            gaps.append([test, a, fmt(mean_defined(deltas), "+.2f", " dB"), f"{len(deltas)}/{len(mine)}"])
    gap = markdown_table(["codec", "anchor", "mean PSNR difference at equal bpp", "images in range"], gaps)
    bd_rows = [
        [r["test"], r["anchor"], fmt(r["mean"], "+.1f", "%"),
         f"{sum(v['bd_rate'] is not None for v in r['items'].values())}/{len(r['items'])}"]
        for r in result["bd_rate"]
    ]  # fmt: skip
    bd = markdown_table(["test", "anchor", "mean BD-rate", "images defined"], bd_rows)
    speed_rows = []
    for a in anchors:
        mine = [p for p in result["points"] if p["codec"] == a]
        speed_rows.append(
            [
                a,
                f"{np.mean([p['encode_s'] for p in mine]) * 1e3:.1f}",
                f"{np.mean([p['decode_s'] for p in mine]) * 1e3:.1f}",
            ]
        )
    speed_rows += [
        [c, f"{np.mean([p['encode_s'] for p in ours if p['codec'] == c]) * 1e3:.1f}",
         f"{np.mean([p['decode_s'] for p in ours if p['codec'] == c]) * 1e3:.1f}"]
        for c in sorted({p["codec"] for p in ours})
    ]  # fmt: skip
    speed = markdown_table(["codec", "encode ms / image", "decode ms / image"], speed_rows)
    return (
        head + table + "\nAt equal bpp:\n\n" + gap
        + "\nBD-rate (Bjøntegaard, Akima; needs codec files at two or more rates, negative = fewer bits):\n\n" + bd
        + "\nSpeed:\n\n" + speed
    )  # fmt: skip
