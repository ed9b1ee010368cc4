"""Quality and continual-learning metrics: PSNR, MS-SSIM, ACC/BWT/FWT."""

from __future__ import annotations

import numpy as np
import torch
from pytorch_msssim import ms_ssim

PSNR_CAP = 100.0
MS_SSIM_MIN_SIDE = 161
"""MS-SSIM with its 11-tap window and 5 scales needs both sides above 160 pixels."""


def psnr_per_frame(reference: np.ndarray, decoded: np.ndarray) -> np.ndarray:
    """PSNR in dB of each frame of two (T, H, W, C) uint8 arrays, capped for identical frames."""
    if reference.shape != decoded.shape:
        raise ValueError(f"shape mismatch {reference.shape} vs {decoded.shape}")
    diff = reference.astype(np.float32) - decoded.astype(np.float32)
    mse = (diff * diff).reshape(diff.shape[0], -1).mean(axis=1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        values = 10 * np.log10(255.0**2 / mse)
    return np.minimum(values, PSNR_CAP)


def psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """Mean per-frame PSNR, the way NeRV and PNR report video quality."""
    return float(psnr_per_frame(reference, decoded).mean())


def ms_ssim_image(reference: np.ndarray, decoded: np.ndarray) -> float | None:
    """MS-SSIM of two (H, W, 3) uint8 images, or None when they are too small for five scales."""
    return ms_ssim_video(reference[None], decoded[None])


def ms_ssim_video(reference: np.ndarray, decoded: np.ndarray, batch: int = 8) -> float | None:
    """Mean MS-SSIM over frames, or None when frames are too small for five scales."""
    height, width = reference.shape[1:3]
    if min(height, width) < MS_SSIM_MIN_SIDE:
        return None
    scores = []
    with torch.inference_mode():
        for i in range(0, reference.shape[0], batch):
            a = torch.tensor(reference[i : i + batch]).permute(0, 3, 1, 2).float()  # a copy: arrays may be read-only
            b = torch.tensor(decoded[i : i + batch]).permute(0, 3, 1, 2).float()
            scores.append(ms_ssim(a, b, data_range=255, size_average=False))
    return float(torch.cat(scores).mean())


def average_and_bwt(at_add: list[float], now: list[float]) -> tuple[float, float]:
    """Average quality now, and backward transfer: mean change of every session but the last."""
    avg = float(np.mean(now)) if now else 0.0
    if len(now) < 2:
        return avg, 0.0
    return avg, float(np.mean([n - a for a, n in zip(at_add[:-1], now[:-1])]))
