"""The hooks a strategy may implement on the session-training loop."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from nrcodec.video.model import Supernet


@dataclass
class SessionContext:
    """What the loop shares with a strategy during one session."""

    model: Supernet
    session: int
    capacity: float
    notices: list[str] = field(default_factory=list)


class Strategy:
    """Base strategy: every hook does nothing. ``forget_free`` promises frozen weights never move."""

    name = "base"
    forget_free = True

    def begin_session(self, ctx: SessionContext) -> None:
        """Prepare masks, scores and frozen sets before the first step."""

    def after_backward(self, ctx: SessionContext) -> None:
        """Adjust gradients before the optimizer step."""

    def after_epoch(self, ctx: SessionContext, epoch: int) -> None:
        """Per-epoch work (e.g. drop and grow connections)."""

    def final_masks(self, ctx: SessionContext) -> dict[str, torch.Tensor]:
        """The subnetwork the session ends with, per masked layer (boolean, weight-shaped)."""
        return {name: layer.selected() for name, layer in ctx.model.masked_layers().items()}

    def options(self) -> dict[str, object]:
        """Settings to record in the archive header."""
        return {}
