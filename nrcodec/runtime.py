"""The one dialect of both halves: which device runs, what every trainer's settings share, how a
long loop reports.

Video sessions and image codecs train with different losses and loop lengths, but a user sets them
the same way (``--device``, ``--lr``, ``--seed``...) and the CLI draws one kind of progress bar for
both; so these records are shared, and each trainer extends ``TrainSettings`` with its own.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

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
    """What every trainer shares: how a model is optimised. Each trainer (a supernet session, a grow
    session, an image codec) extends it with a record of its own that owns its recipe, its defaults
    and its validation (``video.settings``, ``image.settings``); what a model was trained with is
    stored beside it, so a run can be reproduced."""

    batch_size: int = 8
    lr: float = 3e-4
    seed: int = 0

    def __post_init__(self) -> None:
        check(
            (self.batch_size >= 1, "batch size must be >= 1"),
            (math.isfinite(self.lr) and self.lr > 0, "learning rate must be > 0"),
        )


def check(*rules: tuple[bool, str]) -> None:
    """An InputError with the message of the first rule that does not hold."""
    for ok, message in rules:
        if not ok:
            raise InputError(message)


def duration(minutes: float) -> str:
    """Minutes in words, as progress and plans say them: seconds under two minutes, whole minutes above."""
    return f"{minutes * 60:.0f} seconds" if minutes < 2 else f"{minutes:.0f} minutes"


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
