"""How long a grow session's network takes to learn its clip on this machine, timed before training.

A session times a few training steps of its network (``Clip.epoch_seconds``) so that add-video can
say up front how long it will take, the default budget can grow to what the clip needs
(``MIN_EPOCHS`` passes), and a budget the user set that is too short is refused with what would fit
(``too_short``) instead of a smaller network the user did not ask for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from nrcodec.runtime import duration
from nrcodec.video.grow.network import SessionNet, layout
from nrcodec.video.nerv import NervLayout
from nrcodec.video.patches import Patches, Window

MIN_EPOCHS = 50
"""A time-budgeted session needs at least this many passes over its clip (measured: 67 epochs left
bunny 320x180 at 4.2x x264's bytes, 12 left a 640x272 clip at 51x; notes/rate.md): the default
budget grows to give them, and a budget the user set that cannot is refused before any work."""
CALIBRATION_STEPS = 3


def seconds_per_step(
    arch: NervLayout,
    bits: int,
    targets: torch.Tensor,
    batch: int,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> float:
    """Wall time of one training step of a fresh network of ``arch`` on this machine: the fastest of
    ``CALIBRATION_STEPS`` forward-backward passes on the clip's first frames (weights thrown away),
    on a patch where the session trains on patches."""
    net = SessionNet(arch, bits).to(targets.device)
    index = torch.arange(min(batch, targets.shape[0]))
    patches = patches_for(arch)
    window = None if patches is None else Window(0, patches.cells[0], 0, patches.cells[1])
    fastest = math.inf
    for _ in range(CALIBRATION_STEPS):
        start = time.perf_counter()
        out = net(1, index, targets.shape[0], window)
        height, width = min(out.shape[2], targets.shape[2]), min(out.shape[3], targets.shape[3])
        loss(out[:, :, :height, :width], targets[index, :, :height, :width]).backward()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


def patches_for(arch: NervLayout) -> Patches | None:
    """The patches a session of ``arch`` trains on (None: whole frames)."""
    return Patches.for_layout(arch.feature, math.prod(arch.strides))


@dataclass(frozen=True)
class Clip:
    """What timing a session's training needs to know of its clip: its size, its frame count, a
    batch of its training frames (one rank's share) and the loss."""

    source: tuple[int, int]
    frames: int
    targets: torch.Tensor
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

    def epoch_seconds(self, quality: int, bits: int, batch: int) -> float:
        """Seconds one pass over the clip takes here for the network of ``quality`` (on patches, as
        many as cover the frames once)."""
        arch = layout(self.source, self.frames, quality)
        patches = patches_for(arch)
        rounds = 1 if patches is None else patches.per_pass
        return seconds_per_step(arch, bits, self.targets, batch, self.loss) * math.ceil(self.frames / batch) * rounds


def minutes_for(epoch_seconds: float, epochs: float = MIN_EPOCHS) -> float:
    return epochs * epoch_seconds / 60


def too_short(clip: Clip, quality: int, bits: int, batch: int, budget: tuple[float, float]) -> str:
    """Why ``budget`` = (minutes given, minutes needed) cannot train ``quality``, and what would: more
    minutes, or the highest lower level that fits (timed here)."""
    minutes, needed = budget
    advice = [f"give --minutes {math.ceil(needed * 10) / 10:g}"]
    for level in range(quality - 1, 0, -1):
        if minutes_for(clip.epoch_seconds(level, bits, batch)) <= minutes:
            advice.append(f"choose --quality {level}, which fits")
            break
    advice.append("run on a GPU (--device cuda), or give --epochs N to train exactly N passes")
    return (
        f"quality {quality} needs about {duration(needed)} on this machine for {MIN_EPOCHS} passes over this "
        f"clip, and --minutes {minutes:g} gives fewer: {', '.join(advice[:-1])}, or {advice[-1]}"
    )
