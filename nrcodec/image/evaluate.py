"""Measurements of image codec versions: real-byte bpp and PSNR (anchors and BD-rate: nrcodec.bench)."""

from __future__ import annotations

import numpy as np

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
