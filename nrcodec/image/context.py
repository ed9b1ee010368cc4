"""A checkerboard context on top of a finished hyperprior version: the version's transforms frozen,
only the context layers trained, stored as a new version of the same codec file (mode ``context``).

Why frozen transforms: the context changes only how the latents are coded, not what they are, so its
layers can learn from the latents of the training images computed once (every quality level), at
the cost of a few small convolutions a step instead of the whole codec's; on two CPU cores that is
thousands of steps in minutes, where the codec's own training manages about one step a second.
The objective is the latents' rate alone: with the transforms frozen the distortion moves only
through a latent's rounding offset. The refinement starts at zero, so step 0 codes as the parent
does; bitstreams of the parent keep decoding byte for byte (it stays in the file, unchanged).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

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
from nrcodec.image.codec import Codec, to_tensor
from nrcodec.image.codec_file import Version, pack_tensors
from nrcodec.image.models import Architecture
from nrcodec.image.models.checkerboard import CONTEXT_LAYERS, CheckerboardHyperprior, CheckerboardParams
from nrcodec.image.models.factorized import pad_image
from nrcodec.image.models.hyperprior import Hyper, HyperpriorParams, straight_through
from nrcodec.nn import gaussian_conditional as gaussian
from nrcodec.runtime import Progress, StepReport

WINDOW = 50


@dataclass(frozen=True)
class ContextSettings:
    """Steps of Adam (cosine from ``lr``), ``batch`` crops of ``crop`` x ``crop`` latents a step, seed,
    and the context's channel ``groups`` (the shipped version 2 has 4; 8 saved 1.8 points more of the
    latent bits in research/context_probe.py, with 16 passes instead of 8)."""

    steps: int = 3000
    batch: int = 16
    crop: int = 16
    lr: float = 1e-3
    seed: int = 0
    groups: int = CheckerboardParams.groups

    def __post_init__(self) -> None:
        if min(self.steps, self.batch, self.crop, self.groups) < 1 or not self.lr > 0:
            raise InputError("context training needs positive steps, batch, crop, groups and learning rate")


@dataclass(frozen=True)
class Coded:
    """The latents of one training image at one level, and what the hyper-synthesis says of them."""

    level: int
    y: torch.Tensor
    hyper: Hyper

    def crop(self, rng: np.random.Generator, size: int) -> Coded:
        height, width = self.y.shape[-2:]
        top = int(rng.integers(max(1, height - size + 1)))
        left = int(rng.integers(max(1, width - size + 1)))
        window = (..., slice(top, top + size), slice(left, left + size))
        return Coded(self.level, self.y[window], Hyper(*(v[window] for v in self.hyper)))


def with_context(codec: Codec, parent: int, groups: int = CheckerboardParams.groups) -> CheckerboardHyperprior:
    """A checkerboard model of ``groups`` equal channel groups (the last takes the remainder) holding
    ``parent``'s weights (a hyperprior version), context at zero."""
    architecture = codec.version(parent).architecture
    if architecture.model != "hyperprior":
        raise InputError(f"version {parent} is a {architecture.model} model; a context goes on a hyperprior")
    base: HyperpriorParams = architecture.params  # type: ignore[assignment]
    groups = min(groups, base.latents)
    params = CheckerboardParams(**asdict(base), groups=groups, group_size=base.latents // groups)
    torch.manual_seed(0)
    model = CheckerboardHyperprior(params)
    missing, unexpected = model.load_state_dict(codec.state(parent), strict=False)
    if unexpected or any(not name.startswith(CONTEXT_LAYERS) for name in missing):
        raise InputError(f"version {parent}'s weights do not fit a checkerboard model")
    return model


@torch.no_grad()
def latents_of(model: CheckerboardHyperprior, images: list[np.ndarray]) -> list[Coded]:
    """Every image's latents at every quality level, as the parent codes them (hyper-latents rounded).
    Not ``model.analyse`` per level: the analysis transform runs once an image, the gains per level."""
    coded = []
    for rgb in images:
        y0 = model.g_a(pad_image(to_tensor(rgb), model.stride))
        for level in range(model.levels):
            y = y0 * model.gain[level][None, :, None, None]
            z = model.h_a(y) * model.hyper_gain[level][None, :, None, None]
            coded.append(Coded(level, y, model._hyper(torch.round(z), torch.tensor([level]))))
    return coded


def context_parameters(model: CheckerboardHyperprior) -> dict[str, nn.Parameter]:
    return {name: p for name, p in model.named_parameters() if name.startswith(CONTEXT_LAYERS)}


def _bits(model: CheckerboardHyperprior, batch: list[Coded]) -> tuple[torch.Tensor, float, int]:
    """Bits of the batch's latents with the context (noisy, differentiable), without it, and latents."""
    new = torch.zeros(())
    old, count = 0.0, 0
    for item in batch:
        levels = torch.tensor([item.level])
        latents = model._latents(item.y, item.hyper, levels, straight_through)
        noisy = item.y + torch.empty_like(item.y).uniform_(-0.5, 0.5)
        new = new - torch.log2(gaussian.likelihood(noisy, latents.means, latents.scales)).sum()
        old -= float(torch.log2(gaussian.likelihood(noisy, item.hyper.means, item.hyper.scales)).sum())
        count += item.y.numel()
    return new, old, count


def fit_context(
    codec: Codec,
    parent: int,
    images: list[np.ndarray],
    settings: ContextSettings,
    progress: Progress | None = None,
    checkpoint: Checkpoint | None = None,
) -> Version:
    """Train a checkerboard context on ``parent``'s latents of ``images``; the new version to append.

    Progress reports the mean bits per latent of the last steps (``bpp``) and, as ``loss``, their
    change against the parent in percent. Resumable like ``train-image-codec`` (``checkpoint``)."""
    if not images:
        raise InputError("no training images")
    model = with_context(codec, parent, settings.groups).eval().requires_grad_(False)
    trained = context_parameters(model)
    for param in trained.values():
        param.requires_grad_(True)
    optimizer = torch.optim.Adam(list(trained.values()), lr=settings.lr)
    rng = np.random.default_rng(settings.seed)
    recent = RecentSteps(WINDOW)
    identity = _identity(codec, parent, images, settings)
    run = RunState(nn.ModuleDict(model._context_modules()), {"main": optimizer}, rng, recent, identity)
    torch.manual_seed(settings.seed)
    done = resume(checkpoint, run) if checkpoint else 0
    bank = latents_of(model, images)
    start = time.perf_counter()
    with resumable(checkpoint, run):
        for step in range(done, settings.steps):
            for group in optimizer.param_groups:
                group["lr"] = settings.lr * 0.5 * (1 + math.cos(math.pi * step / settings.steps))
            batch = [bank[int(i)].crop(rng, settings.crop) for i in rng.integers(len(bank), size=settings.batch)]
            new, old, count = _bits(model, batch)
            optimizer.zero_grad(set_to_none=True)
            (new / count).backward()
            optimizer.step()
            bits = float(new.detach())
            recent.add(bits / count, old / count, 100 * (bits / old - 1))
            save_if_due(checkpoint, run, step + 1, settings.steps)
            if progress is not None:
                bits, _, change = recent.means()
                progress(StepReport(step + 1, settings.steps, change, math.nan, time.perf_counter() - start, bits))
    return _version(model, codec, parent, dict(asdict(settings), images=len(images)))


def _identity(codec: Codec, parent: int, images: list[np.ndarray], settings: ContextSettings) -> dict[str, object]:
    return {
        "mode": "context",
        "parent": codec.version(parent).fingerprint,
        "settings": asdict(settings),
        "images_sha256": images_digest(images),
    }


def _version(model: CheckerboardHyperprior, codec: Codec, parent: int, info: dict[str, object]) -> Version:
    """The context layers as a version on ``parent`` (its weights and tables inherited)."""
    stored = {name: p.detach().to(model.STORE_DTYPE) for name, p in context_parameters(model).items()}
    architecture = Architecture(model.name, model.params)
    return Version(
        id=-1,
        parent=parent,
        mode="context",
        architecture=architecture,
        kinds={name: "full" for name in stored},
        tensors_blob=pack_tensors(stored, model.STORE_DTYPE),
        tables_blob=codec.version(parent).tables_blob,
        info=dict(codec.version(parent).info, context=info, added_parameters=sum(t.numel() for t in stored.values())),
    )
