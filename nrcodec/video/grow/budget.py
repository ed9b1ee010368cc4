"""How large a grow session's network can be to learn its clip in a time budget on this machine.

A time-budgeted session times a few training steps of the network of each quality level, from the
one asked for down, and keeps the highest whose network gets ``MIN_EPOCHS`` passes over the clip.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

from nrcodec.video.grow.network import SessionNet, layout
from nrcodec.video.nerv import NervLayout

MIN_EPOCHS = 50
"""A time-budgeted session steps its quality down until its network gets at least this many passes
over the clip in the budget (measured: 67 epochs left bunny 320x180 at 4.2x x264's bytes, 12 left a
640x272 clip at 51x; notes/rate.md)."""
CALIBRATION_STEPS = 3


def seconds_per_step(
    arch: NervLayout,
    bits: int,
    targets: torch.Tensor,
    batch: int,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> float:
    """Wall time of one training step of a fresh network of ``arch`` on this machine: the fastest of
    ``CALIBRATION_STEPS`` forward-backward passes on the clip's first frames (weights thrown away)."""
    net = SessionNet(arch, bits).to(targets.device)
    index = torch.arange(min(batch, targets.shape[0]))
    crop = (slice(None), slice(None), slice(0, targets.shape[2]), slice(0, targets.shape[3]))
    fastest = math.inf
    for _ in range(CALIBRATION_STEPS):
        start = time.perf_counter()
        loss(net(1, index, targets.shape[0])[crop], targets[index]).backward()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def fit_to_budget(
    source: tuple[int, int],
    frames: int,
    targets: torch.Tensor,
    quality: int,
    bits: int,
    budget: tuple[float, int],
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> tuple[int, float]:
    """The highest quality level up to ``quality`` whose network trains ``MIN_EPOCHS`` passes over
    ``frames`` frames in ``budget`` = (seconds, batch size) on this machine (level 1 if none does), and
    its expected epochs; ``targets`` are a batch of the clip's training frames to time steps on."""
    seconds, batch = budget
    steps_per_epoch = math.ceil(frames / batch)
    level = quality
    while True:
        step = seconds_per_step(layout(source, frames, level), bits, targets, batch, loss)
        epochs = seconds / (step * steps_per_epoch)
        if epochs >= MIN_EPOCHS or level == 1:
            return level, epochs
        level -= 1
