"""Training loops: a base codec from scratch, and the adaptation of a version to new images.

Loss: ``R + λ·D`` with R in bits per pixel (``-log2`` likelihoods of the noisy latents over the
pixel count) and D the MSE on the 0..255 scale, the convention of the tensorflow-compression
examples DANICE builds on. Quantiles get their own optimizer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nrcodec.errors import InputError
from nrcodec.image.codec import Codec
from nrcodec.image.evaluate import measure
from nrcodec.image.model import STRIDE
from nrcodec.image.versions import Trainable, finalize, new_base, prepare

ProgressFn = Callable[[int, int, dict[str, float]], None]
ENTROPY_LR_SCALE = 30.0
"""The factorized densities start wide (init scale 10); at the transforms' learning rate they would
need on the order of 10^5 steps to narrow, so they learn this much faster (measured: 0.32 bpp after
100 steps instead of 1.16 bpp after 300, where the rate term had barely moved)."""


@dataclass(frozen=True)
class TrainSettings:
    lmbda: float = 0.01
    steps: int = 2000
    crop: int = 256
    batch: int = 8
    lr: float = 3e-4
    aux_lr: float = 1e-3
    seed: int = 0
    device: str = "cpu"

    def describe(self, images: int) -> dict[str, Any]:
        return {
            "lambda": self.lmbda,
            "images": images,
            "steps": self.steps,
            "crop": self.crop,
            "batch": self.batch,
            "lr": self.lr,
            "seed": self.seed,
            "loss": "bpp + lambda * MSE(0..255)",
        }


def resolve_device(name: str) -> str:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device must exist."""
    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        return "mps" if torch.backends.mps.is_available() else "cpu"
    try:
        torch.empty(0, device=name)
    except (RuntimeError, AssertionError) as exc:
        raise InputError(f"device {name!r} is not available here ({exc})") from None
    return name


class _Crops:
    """Random crops (with random horizontal flips) of the training images, as one batch tensor."""

    def __init__(self, images: list[np.ndarray], crop: int, seed: int) -> None:
        if not images:
            raise InputError("no training images")
        smallest = min(min(im.shape[:2]) for im in images)
        self.size = min(crop, smallest) // STRIDE * STRIDE
        if self.size < STRIDE:
            raise InputError(f"training images must be at least {STRIDE}x{STRIDE} pixels")
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


def fit(
    trainable: Trainable, images: list[np.ndarray], settings: TrainSettings, progress: ProgressFn | None = None
) -> dict[str, float]:
    """Minimise R + λ·D on random crops; returns the mean bpp, MSE and loss of the last steps."""
    device = resolve_device(settings.device)
    torch.manual_seed(settings.seed)
    crops = _Crops(images, settings.crop, settings.seed)
    model = trainable.model.to(device).train()
    trainable.frozen = {k: (m.to(device), v.to(device)) for k, (m, v) in trainable.frozen.items()}
    params = trainable.parameters()
    densities = [p for p in params if any(p is q for q in model.entropy.parameters())]
    others = [p for p in params if not any(p is q for q in densities)]
    optimizer = torch.optim.Adam(
        [{"params": others}, {"params": densities, "lr": settings.lr * ENTROPY_LR_SCALE}], lr=settings.lr
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: 0.1 + 0.45 * (1 + math.cos(math.pi * s / max(1, settings.steps)))
    )
    aux = torch.optim.Adam([model.entropy.quantiles], lr=settings.aux_lr)
    window: list[tuple[float, float, float]] = []
    for step in range(settings.steps):
        x = crops.batch(settings.batch).to(device)
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
        window = [*window[-49:], (bpp.item(), mse.item(), loss.item())]
        if progress is not None:
            bpp_m, mse_m, loss_m = np.mean(window, axis=0)
            progress(
                step + 1, settings.steps, {"bpp": bpp_m, "psnr": 10 * math.log10(255.0**2 / mse_m), "loss": loss_m}
            )
    model.cpu()
    trainable.frozen = {k: (m.cpu(), v.cpu()) for k, (m, v) in trainable.frozen.items()}
    bpp_m, mse_m, loss_m = np.mean(window, axis=0) if window else (math.nan, math.nan, math.nan)
    return {"bpp": float(bpp_m), "mse": float(mse_m), "loss": float(loss_m)}


def train_codec(images: list[np.ndarray], settings: TrainSettings, progress: ProgressFn | None = None) -> Codec:
    """Train a base codec (version 0) from scratch."""
    trainable = new_base(seed=settings.seed)
    stats = fit(trainable, images, settings, progress)
    return Codec.create(finalize(trainable, dict(settings.describe(len(images)), train=stats)))


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
    progress: ProgressFn | None = None,
    report: bool = True,
) -> Adaptation:
    """Add a version of ``codec`` adapted to ``images``; the codec is changed in memory only.

    With ``report``, rate and PSNR on ``images`` are measured before and after (real bytes)."""
    settings = settings or TrainSettings(lmbda=parent_lambda(codec, parent), lr=1e-4, steps=500)
    trainable = prepare(codec, parent, mode, settings.seed)
    before = measure(codec, parent, images) if report else {}
    stats = fit(trainable, images, settings, progress)
    version = codec.append(finalize(trainable, dict(settings.describe(len(images)), train=stats)))
    after = measure(codec, version.id, images) if report else {}
    return Adaptation(
        version.id, parent, mode, int(version.info["added_parameters"]), version.fingerprint, before, after
    )


def parent_lambda(codec: Codec, parent: int) -> float:
    """The λ a version was trained with: adaptations keep their parent's rate-distortion trade-off."""
    value = codec.version(parent).info.get("lambda")
    return float(value) if isinstance(value, int | float) else TrainSettings.lmbda
