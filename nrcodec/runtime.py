"""The one dialect of both halves: which device runs, how a model trains, how a long loop reports.

Video sessions and image codecs train with different losses and loop lengths, but a user sets them
the same way (``--device``, ``--lr``, ``--seed``...), the CLI draws one kind of progress bar for both,
and what a model was trained with is stored beside it; so these records are shared.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from nrcodec.errors import InputError, UsageError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")
MAX_DEFAULT_THREADS = 8


def default_threads() -> int:
    """``OMP_NUM_THREADS`` when set, else the cores this process may use less one, from 1 to 8.

    One core is left free because torch's threads wait for each other at every operation: on a
    2-core machine with one other busy process, 2 threads ran a small-preset step 2x slower than 1
    (idle, 1.45x faster); see notes/cli.md.
    """
    given = os.environ.get("OMP_NUM_THREADS", "")
    if given.isdigit() and int(given) > 0:
        return int(given)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_THREADS, cores - 1))


def use_threads(threads: int | None) -> int:
    """Set torch's CPU thread count (``default_threads()`` when None) and return it."""
    count = threads or default_threads()
    torch.set_num_threads(count)
    return count


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA, then MPS, then CPU; an unavailable explicit choice is an input error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in DEVICES:
        raise UsageError(f"unknown device {name!r}; use {', '.join(DEVICES)}")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but CUDA is not available; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise InputError("--device mps was asked for but MPS is not available; use --device cpu or auto")
    return torch.device(name)


def resolve_precision(name: str, device: torch.device) -> str:
    """'auto' is bf16 autocast on a CUDA device that has it, fp32 elsewhere (a CPU without bf16
    units runs bf16 slower than fp32)."""
    if name not in PRECISIONS:
        raise UsageError(f"unknown precision {name!r}; use {', '.join(PRECISIONS)}")
    if name != "auto":
        return name
    return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"


@dataclass(frozen=True)
class TrainSettings:
    """How a model is optimised; stored with what it made, so a run can be reproduced.

    Shared: ``lr``, ``batch_size``, ``seed``. A video session runs ``epochs`` passes over its
    frames, or as many as fit in ``minutes`` when that is set, with a linear ``warmup`` and loss
    α·L1 + (1 − α)·(1 − SSIM), α = ``l1_weight``; a session of the grow strategy has a network of
    ``quality`` (1..6) with ``weight_bits``-bit weights. A video session's forward pass runs in
    ``precision`` (bf16 autocast: the stored integers, not the training arithmetic, define the
    decode), through ``torch.compile`` when ``compile``. An image
    codec runs ``steps`` batches of random ``crop``-pixel crops minimising R + ``lmbda``·D, its
    entropy model's quantiles learning at ``aux_lr``; a codec with quality levels trains level i
    at λ = ``ladder[i]`` (each crop draws its level).
    """

    epochs: int = 0
    batch_size: int = 8
    lr: float = 3e-4
    warmup: float = 0.1
    l1_weight: float = 0.7
    seed: int = 0
    steps: int = 2000
    lmbda: float = 0.01
    crop: int = 256
    aux_lr: float = 1e-3
    minutes: float = 0.0
    quality: int = 4
    weight_bits: int = 5
    precision: str = "fp32"
    compile: bool = False
    ladder: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        checks = (
            (self.precision in ("fp32", "bf16"), "precision must be fp32 or bf16"),
            (self.epochs >= 0, "epochs must be >= 0"),
            (math.isfinite(self.minutes) and self.minutes >= 0, "minutes must be >= 0"),
            (self.steps >= 0, "steps must be >= 0"),
            (self.batch_size >= 1, "batch size must be >= 1"),
            (math.isfinite(self.lr) and self.lr > 0, "learning rate must be > 0"),
            (0 <= self.warmup <= 1, "warm-up must be a fraction in [0, 1]"),
            (0 <= self.l1_weight <= 1, "L1 weight must be in [0, 1]"),
            (math.isfinite(self.lmbda) and self.lmbda > 0, "lambda must be > 0"),
            (self.crop >= 1, "crop must be >= 1 pixel"),
            (math.isfinite(self.aux_lr) and self.aux_lr > 0, "aux learning rate must be > 0"),
            (all(math.isfinite(v) and v > 0 for v in self.ladder), "every lambda of the ladder must be > 0"),
        )
        for ok, message in checks:
            if not ok:
                raise InputError(message)

    @property
    def progress_total(self) -> int:
        """Units of a video session's progress reports: epochs, or seconds of a time budget."""
        return round(self.minutes * 60) if self.minutes else self.epochs

    def session_json(self) -> dict[str, Any]:
        """What a video session stores under ``training`` (keys fixed by the archive format; a time
        budget adds ``minutes``)."""
        budget = {"minutes": self.minutes} if self.minutes else {}
        precision = {"precision": self.precision} if self.precision != "fp32" else {}
        return {
            **budget,
            **precision,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "warmup": self.warmup,
            "l1_weight": self.l1_weight,
            "seed": self.seed,
        }

    def codec_json(self, images: int) -> dict[str, Any]:
        """What an image codec version stores about its training (keys fixed by the codec file)."""
        return {
            "lambda": self.lmbda,
            "images": images,
            "steps": self.steps,
            "crop": self.crop,
            "batch": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "loss": "bpp + lambda * MSE(0..255)",
            **({"ladder": list(self.ladder)} if self.ladder else {}),
        }


@dataclass(frozen=True)
class StepReport:
    """One tick of a long loop: ``done`` of ``total`` units (epochs or steps) and running figures."""

    done: int
    total: int
    loss: float
    psnr: float
    elapsed: float
    bpp: float | None = None


Progress = Callable[[StepReport], None]
