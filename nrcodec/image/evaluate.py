"""Measurements of image codec versions: real-byte bpp and PSNR, Pillow anchors, BD-rate."""

from __future__ import annotations

import io
import itertools
import math

import numpy as np
from PIL import Image

from nrcodec import metrics
from nrcodec.image.codec import Codec, encode_image


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """RGB PSNR in dB of two uint8 images of the same shape (nrcodec.metrics, one frame)."""
    return metrics.psnr(a[None], b[None])


def measure(codec: Codec, vid: int, images: list[np.ndarray]) -> dict[str, float]:
    """Mean bpp (from the real bitstream bytes, header included), estimated bpp and PSNR."""
    bpp, est, quality = [], [], []
    for rgb in images:
        encoded = encode_image(codec, rgb, vid)
        pixels = rgb.shape[0] * rgb.shape[1]
        bpp.append(8 * len(encoded.data) / pixels)
        est.append(encoded.estimated_bits / pixels)
        quality.append(psnr(rgb, encoded.reconstruction))
    return {"bpp": float(np.mean(bpp)), "estimated_bpp": float(np.mean(est)), "psnr": float(np.mean(quality))}


def pillow_point(rgb: np.ndarray, fmt: str, quality: int) -> tuple[float, float]:
    """(bpp, PSNR) of one image coded by Pillow as JPEG or WebP at a quality."""
    buffer = io.BytesIO()
    options = {"quality": quality}
    if fmt == "JPEG":
        options["subsampling"] = 2
    Image.fromarray(rgb).save(buffer, format=fmt, **options)
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return 8 * buffer.tell() / (rgb.shape[0] * rgb.shape[1]), psnr(rgb, decoded)


def psnr_at_bpp(rgb: np.ndarray, fmt: str, bpp: float) -> float:
    """PSNR of a Pillow codec interpolated (in log-rate) at a given bpp over its quality ladder."""
    points = sorted(pillow_point(rgb, fmt, q) for q in range(2, 100, 2))
    rates = np.log([p[0] for p in points])
    values = np.array([p[1] for p in points])
    if not rates[0] <= math.log(bpp) <= rates[-1]:
        return math.nan
    return float(np.interp(math.log(bpp), rates, values))


def bd_rate(anchor: list[tuple[float, float]], test: list[tuple[float, float]]) -> float:
    """Bjøntegaard delta rate in % of ``test`` against ``anchor``, points given as (bpp, PSNR).

    NaN when it is undefined: a curve whose PSNR does not rise with rate, or curves whose PSNR
    ranges do not overlap."""
    from bjontegaard import bd_rate as _bd_rate

    a = sorted(anchor)
    t = sorted(test)
    for curve in (a, t):
        if any(q[1] <= p[1] for p, q in itertools.pairwise(curve)):
            return math.nan
    if min(a[-1][1], t[-1][1]) <= max(a[0][1], t[0][1]):
        return math.nan
    return float(_bd_rate([p[0] for p in a], [p[1] for p in a], [p[0] for p in t], [p[1] for p in t],
                          method="akima", require_matching_points=False, min_overlap=0))
