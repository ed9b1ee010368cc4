"""Training loops: a base codec from scratch, and the adaptation of a version to new images.

Loss: ``R + λ·D`` with R in bits per pixel (``-log2`` likelihoods of the noisy latents over the
pixel count) and D the MSE on the 0..255 scale, the convention of the tensorflow-compression
examples DANICE builds on. Quantiles get their own optimizer.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nrcodec.errors import InputError
from nrcodec.image.checkpoint import (
    Checkpoint,
    RecentSteps,
    RunState,
    images_digest,
    resumable,
    resume,
    save_if_due,
)
from nrcodec.image.codec import Codec
from nrcodec.image.evaluate import measure
from nrcodec.image.models import Architecture
from nrcodec.image.settings import CodecSettings
from nrcodec.image.versions import Trainable, continued_base, finalize, new_base, prepare
from nrcodec.runtime import Progress, StepReport

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
        self.images = [torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1) for im in images]
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


WARMUP_STEPS = 0.02
"""Share of the steps over which the learning rate ramps up linearly (a fresh GDN network is fragile)."""


def _optimizers(trainable: Trainable, settings: CodecSettings) -> dict[str, torch.optim.Optimizer]:
    """Adam on the transforms, faster on the densities; its own Adam on the quantiles."""
    model = trainable.model
    params = trainable.parameters()
    densities = [p for p in params if any(p is q for q in model.entropy.parameters())]
    others = [p for p in params if not any(p is q for q in densities)]
    main = torch.optim.Adam(
        [{"params": others}, {"params": densities, "lr": settings.lr * ENTROPY_LR_SCALE}], lr=settings.lr
    )
    return {"main": main, "aux": torch.optim.Adam([model.entropy.quantiles], lr=settings.aux_lr)}


def _set_learning_rate(optimizer: torch.optim.Optimizer, settings: CodecSettings, step: int) -> None:
    """Linear warm-up, then cosine from the peak down to a tenth of it at the last step."""
    warmup = max(1, round(WARMUP_STEPS * settings.steps))
    if step < warmup:
        factor = (step + 1) / warmup
    else:
        factor = 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / max(1, settings.steps - warmup)))
    peaks = (settings.lr, settings.lr * ENTROPY_LR_SCALE)
    for group, peak in zip(optimizer.param_groups, peaks, strict=True):
        group["lr"] = peak * factor


def _psnr(mse: float) -> float:
    return 10 * math.log10(255.0**2 / mse) if mse > 0 else math.inf


def ladder_of(settings: CodecSettings, levels: int) -> torch.Tensor:
    """The λ of each quality level: the settings' ladder, or ``lmbda`` for a single-level model."""
    lambdas = settings.lambdas
    if len(lambdas) != levels:
        raise InputError(f"the model has {levels} quality levels but {len(lambdas)} lambdas were given")
    return torch.tensor(lambdas, dtype=torch.float32)


def _step(
    trainable: Trainable,
    optimizers: dict[str, torch.optim.Optimizer],
    x: torch.Tensor,
    lambdas: torch.Tensor,
    generator: np.random.Generator,
) -> tuple[float, float, float]:
    """One optimisation step on a batch, each crop at a random level; returns (bpp, MSE, loss)."""
    model = trainable.model
    levels = torch.from_numpy(generator.integers(len(lambdas), size=x.shape[0])).to(x.device)
    x_hat, bits = model(x, levels)
    bpp = bits / (x.shape[2] * x.shape[3])
    mse = torch.mean((x_hat - x) ** 2, dim=(1, 2, 3)) * 255.0**2
    loss = torch.mean(bpp + lambdas.to(x.device)[levels] * mse)
    optimizers["main"].zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(trainable.parameters(), 1.0)
    optimizers["main"].step()
    trainable.restore_frozen()
    optimizers["aux"].zero_grad()
    model.entropy.aux_loss().backward()
    optimizers["aux"].step()
    return bpp.mean().item(), mse.mean().item(), loss.item()


def fit(
    trainable: Trainable,
    images: list[np.ndarray],
    settings: CodecSettings,
    progress: Progress | None = None,
    device: Device = "cpu",
    checkpoint: Checkpoint | None = None,
) -> dict[str, float]:
    """Minimise R + λ·D on random crops; returns the mean bpp, MSE and loss of the last steps.

    With a ``checkpoint``, the run resumes from it when it exists and saves to it every
    ``checkpoint.every`` steps and at its end (so the same command then finishes at once). An
    interrupted run resumes from its last save: a step cut in half is never saved."""
    torch.manual_seed(settings.seed)
    model = trainable.model.to(device).train().to(memory_format=torch.channels_last)
    crops = _Crops(images, settings.crop, settings.seed, model.stride)
    lambdas = ladder_of(settings, model.levels)
    trainable.frozen = {k: (m.to(device), v.to(device)) for k, (m, v) in trainable.frozen.items()}
    optimizers = _optimizers(trainable, settings)
    window = RecentSteps(WINDOW)
    run = RunState(model, optimizers, crops.rng, window, _identity(trainable, images, settings))
    done = resume(checkpoint, run) if checkpoint else 0
    start = time.perf_counter()
    with resumable(checkpoint, run):
        for step in range(done, settings.steps):
            _set_learning_rate(optimizers["main"], settings, step)
            x = crops.batch(settings.batch_size).to(device).contiguous(memory_format=torch.channels_last)
            window.add(*_step(trainable, optimizers, x, lambdas, crops.rng))
            save_if_due(checkpoint, run, step + 1, settings.steps)
            if progress is not None:
                bpp_m, mse_m, loss_m = window.means()
                elapsed = time.perf_counter() - start
                progress(StepReport(step + 1, settings.steps, loss_m, _psnr(mse_m), elapsed, bpp_m))
    model.cpu().to(memory_format=torch.contiguous_format)
    trainable.frozen = {k: (m.cpu(), v.cpu()) for k, (m, v) in trainable.frozen.items()}
    bpp_m, mse_m, loss_m = window.means()
    return {"bpp": bpp_m, "mse": mse_m, "loss": loss_m}


def _identity(trainable: Trainable, images: list[np.ndarray], settings: CodecSettings) -> dict[str, Any]:
    """What makes a run this run: architecture, mode, settings and the training images (hashed)."""
    identity = {
        "architecture": trainable.model.architecture.to_json(),
        "mode": trainable.mode,
        "parent": trainable.parent,
        "settings": settings.codec_json(len(images)),
        "images_sha256": images_digest(images),
    }
    return identity | ({"init": trainable.init} if trainable.init is not None else {})


def train_codec(
    images: list[np.ndarray],
    settings: CodecSettings,
    progress: Progress | None = None,
    device: Device = "cpu",
    architecture: Architecture | None = None,
    checkpoint: Checkpoint | None = None,
    init: Codec | None = None,
) -> Codec:
    """Train a base codec (version 0): from scratch (default architecture: the shipped codec's), or
    on from the weights of ``init``'s version 0 (its architecture)."""
    trainable = continued_base(init) if init is not None else new_base(architecture, seed=settings.seed)
    stats = fit(trainable, images, settings, progress, device, checkpoint)
    info = dict(settings.codec_json(len(images)), train=stats)
    if trainable.init is not None:
        info["init"] = trainable.init
    return Codec.create(finalize(trainable, info))


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
    settings: CodecSettings | None = None,
    progress: Progress | None = None,
    report: bool = True,
    device: Device = "cpu",
    checkpoint: Checkpoint | None = None,
) -> Adaptation:
    """Add a version of ``codec`` adapted to ``images``; the codec is changed in memory only.

    With ``report``, rate and PSNR on ``images`` are measured before and after (real bytes); with a
    ``checkpoint``, the training resumes and saves as ``fit`` does."""
    settings = settings or parent_settings(codec, parent)
    trainable = prepare(codec, parent, mode, settings.seed)
    before = measure(codec, parent, images) if report else {}
    stats = fit(trainable, images, settings, progress, device, checkpoint)
    version = codec.append(finalize(trainable, dict(settings.codec_json(len(images)), train=stats)))
    after = measure(codec, version.id, images) if report else {}
    return Adaptation(
        version.id, parent, mode, int(version.info["added_parameters"]), version.fingerprint, before, after
    )


def parent_settings(codec: Codec, parent: int, **overrides: Any) -> CodecSettings:
    """Settings that keep a version's rate-distortion trade-offs: its λ, or its whole ladder."""
    return CodecSettings.adapting(codec.version(parent).info, **overrides)
