"""The hooks a strategy may implement on the session-training loop, and what the loop shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.func import functional_call

from nrcodec.format.session import SessionRecord
from nrcodec.video.frames import Placement
from nrcodec.video.model import Supernet

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class Recall:
    """An earlier session as the current model can replay it: its ID, frame count, placement and
    its own dense tensors (head, biases), which are swapped in for a forward pass."""

    session: int
    frames: int
    placement: Placement
    dense: dict[str, torch.Tensor]

    def forward(self, model: Supernet, idx: torch.Tensor) -> torch.Tensor:
        """The valid region of the canvas the model now gives for frames ``idx`` of this session."""
        return self.placement.crop(functional_call(model, self.dense, (self.session, idx, self.frames)))


@dataclass
class SessionContext:
    """What the loop shares with a strategy during one session."""

    model: Supernet
    session: int
    capacity: float
    records: list[SessionRecord] = field(default_factory=list)
    recall: Callable[[int], Recall] | None = None
    notices: list[str] = field(default_factory=list)
    epochs: int = 0
    batch_size: int = 1
    loss: Loss | None = None
    num_frames: int = 0
    placement: Placement | None = None
    targets: torch.Tensor | None = None

    def earlier(self) -> list[Recall]:
        """Every earlier session, ready to replay (strategies that need old sessions call this)."""
        if self.recall is None:
            return []
        return [self.recall(j) for j in range(1, self.session)]


class Strategy:
    """Base strategy: every hook does nothing. ``forget_free`` promises frozen weights never move."""

    name = "base"
    forget_free = True

    def begin_session(self, ctx: SessionContext) -> None:
        """Prepare masks, scores and frozen sets before the first step."""

    def extra_loss(self, ctx: SessionContext) -> torch.Tensor | None:
        """A term added to the reconstruction loss of every step (penalties, replayed frames)."""
        return None

    def after_backward(self, ctx: SessionContext) -> None:
        """Adjust gradients before the optimizer step."""

    def after_step(self, ctx: SessionContext) -> None:
        """Look at or constrain the weights right after the optimizer step."""

    def after_epoch(self, ctx: SessionContext, epoch: int) -> None:
        """Per-epoch work (e.g. drop and grow connections)."""

    def final_masks(self, ctx: SessionContext) -> dict[str, torch.Tensor]:
        """The subnetwork the session ends with, per masked layer (boolean, weight-shaped)."""
        return {name: layer.selected() for name, layer in ctx.model.masked_layers().items()}

    def session_meta(self, ctx: SessionContext) -> dict[str, Any]:
        """Strategy state a later session needs, stored in this session's metadata."""
        return {}

    def summary(self, records: list[SessionRecord], model: Supernet) -> dict[str, Any]:
        """Strategy-specific figures for ``info`` (e.g. reserved neurons)."""
        return {}

    def options(self) -> dict[str, object]:
        """Settings to record in the archive header."""
        return {}
