"""Replay by recitation (KRNet, Zhang et al.): the archive's own model recites earlier sessions.

No frames of earlier videos are kept. Before a session trains, the current shared network maps each
earlier (session, frame) ID to the frame it now produces, as KRNet recites its knowledge; those
recited frames become extra training pairs. Every step adds one batch of a random earlier session,
run with that session's own head and biases, to the new session's loss. Recitation keeps at most
``frames`` evenly spaced frames per earlier session, stored as uint8, to bound memory at HD.
The shared weights still move, so replay is not forget-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nrcodec.video.supernet.strategies.base import Recall, SupernetContext, register
from nrcodec.video.supernet.strategies.finetune import Finetune


@dataclass(frozen=True)
class ReplayOptions:
    frames: int = 32
    """Recited frames kept per earlier session at most."""

    def __post_init__(self) -> None:
        if not 1 <= self.frames <= 1 << 16:
            raise ValueError(f"frames must be in 1..65536, got {self.frames}")


@register
class Replay(Finetune):
    name = "replay"
    Options = ReplayOptions

    def __init__(self, options: ReplayOptions | None = None) -> None:
        super().__init__(options)
        self._recited: list[tuple[Recall, torch.Tensor, torch.Tensor]] = []
        self._generator = torch.Generator()

    def before_session(self, ctx: SupernetContext) -> None:
        super().before_session(ctx)
        self._generator.manual_seed(ctx.session)
        self._recited = []
        with torch.no_grad():
            for recall in ctx.earlier():
                count = min(self.options.frames, recall.frames)
                idx = torch.linspace(0, recall.frames - 1, count).round().long().unique()
                frames = torch.cat([recall.forward(ctx.model, part) for part in idx.split(ctx.batch_size)])
                self._recited.append((recall, idx, frames.mul(255).round().to(torch.uint8)))

    def extra_loss(self, ctx: SupernetContext) -> torch.Tensor | None:
        if not self._recited:
            return None
        recall, idx, frames = self._recited[int(torch.randint(len(self._recited), (1,), generator=self._generator))]
        pick = torch.randperm(idx.numel(), generator=self._generator)[: ctx.batch_size]
        target = frames[pick.to(frames.device)].float().div(255)
        return ctx.loss(recall.forward(ctx.model, idx[pick]), target)
