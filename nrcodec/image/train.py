"""Training loops: a base codec from scratch, and the adaptation of a version to new images.

Loss: ``R + λ·D`` with R in bits per pixel (``-log2`` likelihoods of the noisy latents over the
pixel count) and D the MSE on the 0..255 scale, the convention of the tensorflow-compression
examples DANICE builds on. Quantiles get their own optimizer.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from nrcodec.errors import InputError
from nrcodec.image.codec import Codec
from nrcodec.image.evaluate import measure
from nrcodec.image.models import Architecture
from nrcodec.image.versions import Trainable, finalize, new_base, prepare
from nrcodec.runtime import Progress, StepReport, TrainSettings

ENTROPY_LR_SCALE = 30.0
"""The factorized densities start wide (init scale 10); at the transforms' learning rate they would
need on the order of 10^5 steps to narrow, so they learn this much faster (measured: 0.32 bpp after
100 steps instead of 1.16 bpp after 300, where the rate term had barely moved)."""
WINDOW = 50
"""Steps averaged in progress reports and in the figures ``fit`` returns."""
Device = torch.device | str


class _Crops:
    """Random crops (with random horizontal flips) of the training images, as one batch tensor."""

    def __init__(self, images: list[np.ndarray], crop: int, seed: int, stride: int) -> None:
        if not images:
            raise InputError("no training images")
        smallest = min(min(im.shape[:2]) for im in images)
        self.size = min(crop, smallest) // stride * stride
        if self.size < stride:
            raise InputError(f"training images must be at least {stride}x{stride} pixels")
        self.images = [torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1) for im in images]
        self.rng = np.random.default_rng(seed)

    def batch(self, count: int) -> torch.Tensor:
        out = []
        for index in self.rng.integers(len(self.images), size=count):
            image = self.images[index]
            top = int(self.rng.integers(image.shape[1] - self.size + 1))
            left = int(self.rng.integers(image.shape[2] - self.size + 1))
            patch = image[:, top : top + self.size, left : left + self.size]
            out.append(patch.flip(-1) if self.rng.random() < 0.5 else patch)
        return torch.stack(out).float() / 255.0


def _optimizers(
    trainable: Trainable, settings: TrainSettings
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR, torch.optim.Optimizer]:
    """Adam on the transforms (cosine-decayed), faster on the densities; its own Adam on the quantiles."""
    model = trainable.model
    params = trainable.parameters()
    densities = [p for p in params if any(p is q for q in model.entropy.parameters())]
    others = [p for p in params if not any(p is q for q in densities)]
    optimizer = torch.optim.Adam(
        [{"params": others}, {"params": densities, "lr": settings.lr * ENTROPY_LR_SCALE}], lr=settings.lr
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.1 + 0.45 * (1 + math.cos(math.pi * s / max(1, settings.steps)))
    )
    return optimizer, schedule, torch.optim.Adam([model.entropy.quantiles], lr=settings.aux_lr)


def _psnr(mse: float) -> float:
    return 10 * math.log10(255.0**2 / mse) if mse > 0 else math.inf


def fit(
    trainable: Trainable,
    images: list[np.ndarray],
    settings: TrainSettings,
    progress: Progress | None = None,
    device: Device = "cpu",
) -> dict[str, float]:
    """Minimise R + λ·D on random crops; returns the mean bpp, MSE and loss of the last steps."""
    torch.manual_seed(settings.seed)
    model = trainable.model.to(device).train()
    crops = _Crops(images, settings.crop, settings.seed, model.stride)
    trainable.frozen = {k: (m.to(device), v.to(device)) for k, (m, v) in trainable.frozen.items()}
    optimizer, schedule, aux = _optimizers(trainable, settings)
    window: list[tuple[float, float, float]] = []
    start = time.perf_counter()
    for step in range(settings.steps):
        x = crops.batch(settings.batch_size).to(device)
        x_hat, likelihoods = model(x)
        bpp = -torch.log2(likelihoods).sum() / (x.shape[0] * x.shape[2] * x.shape[3])
        mse = torch.mean((x_hat - x) ** 2) * 255.0**2
        loss = bpp + settings.lmbda * mse
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        trainable.restore_frozen()
        aux.zero_grad()
        model.entropy.aux_loss().backward()
        aux.step()
        window = [*window[1 - WINDOW :], (bpp.item(), mse.item(), loss.item())]
        if progress is not None:
            bpp_m, mse_m, loss_m = np.mean(window, axis=0)
            elapsed = time.perf_counter() - start
            progress(StepReport(step + 1, settings.steps, float(loss_m), _psnr(mse_m), elapsed, float(bpp_m)))
    model.cpu()
    trainable.frozen = {k: (m.cpu(), v.cpu()) for k, (m, v) in trainable.frozen.items()}
    bpp_m, mse_m, loss_m = np.mean(window, axis=0) if window else (math.nan, math.nan, math.nan)
    return {"bpp": float(bpp_m), "mse": float(mse_m), "loss": float(loss_m)}


def train_codec(
    images: list[np.ndarray],
    settings: TrainSettings,
    progress: Progress | None = None,
    device: Device = "cpu",
    architecture: Architecture | None = None,
) -> Codec:
    """Train a base codec (version 0) from scratch (default architecture: the shipped codec's)."""
    trainable = new_base(architecture, seed=settings.seed)
    stats = fit(trainable, images, settings, progress, device)
    return Codec.create(finalize(trainable, dict(settings.codec_json(len(images)), train=stats)))


@dataclass(frozen=True)
class Adaptation:
    version: int
    parent: int
    mode: str
    added_parameters: int
    fingerprint: str
    before: dict[str, float]
    after: dict[str, float]


def adapt(
    codec: Codec,
    images: list[np.ndarray],
    mode: str = "cawf",
    parent: int = 0,
    settings: TrainSettings | None = None,
    progress: Progress | None = None,
    report: bool = True,
    device: Device = "cpu",
) -> Adaptation:
    """Add a version of ``codec`` adapted to ``images``; the codec is changed in memory only.

    With ``report``, rate and PSNR on ``images`` are measured before and after (real bytes)."""
    settings = settings or TrainSettings(lmbda=parent_lambda(codec, parent), lr=1e-4, steps=500)
    trainable = prepare(codec, parent, mode, settings.seed)
    before = measure(codec, parent, images) if report else {}
    stats = fit(trainable, images, settings, progress, device)
    version = codec.append(finalize(trainable, dict(settings.codec_json(len(images)), train=stats)))
    after = measure(codec, version.id, images) if report else {}
    return Adaptation(
        version.id, parent, mode, int(version.info["added_parameters"]), version.fingerprint, before, after
    )


def parent_lambda(codec: Codec, parent: int) -> float:
    """The λ a version was trained with: adaptations keep their parent's rate-distortion trade-off."""
    value = codec.version(parent).info.get("lambda")
    return float(value) if isinstance(value, int | float) else TrainSettings.lmbda
