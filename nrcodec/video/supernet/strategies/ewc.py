"""EWC (Kirkpatrick et al. 2017): fine-tuning with a quadratic pull towards the weights earlier
sessions left, weighted by their Fisher information.

The Fisher diagonal is the label-free one of ``importance`` (JᵀJ/P of each earlier session's output,
summed over sessions), computed at the start of a session from the current model, so a library
reopened from its archive continues exactly as one kept in memory. Penalty: λ/2 · Σ F (θ − θ*)².
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nrcodec.video.supernet.strategies.base import SupernetContext, register
from nrcodec.video.supernet.strategies.finetune import Finetune
from nrcodec.video.supernet.strategies.importance import session_moments


@dataclass(frozen=True)
class EWCOptions:
    strength: float = 1e4
    """λ of the penalty; 1e4 was the best of a sweep on the sample clips (notes/video.md)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.strength) and self.strength >= 0):
            raise ValueError(f"strength must be a finite number >= 0, got {self.strength}")


@register
class EWC(Finetune):
    name = "ewc"
    Options = EWCOptions

    def __init__(self, options: EWCOptions | None = None) -> None:
        super().__init__(options)
        self._fisher: dict[str, torch.Tensor] = {}
        self._anchor: dict[str, torch.Tensor] = {}

    def before_session(self, ctx: SupernetContext) -> None:
        super().before_session(ctx)
        layers = ctx.model.masked_layers()
        recalls = ctx.earlier()
        moments = session_moments(ctx.model, recalls, ctx.batch_size, ctx.session)
        self._fisher = {n: sum(m.square[n] for m in moments) for n in layers} if moments else {}
        self._anchor = {n: layer.weight.detach().clone() for n, layer in layers.items()}

    def extra_loss(self, ctx: SupernetContext) -> torch.Tensor | None:
        if not self._fisher:
            return None
        layers = ctx.model.masked_layers()
        penalty = sum(
            (self._fisher[n] * (layer.weight - self._anchor[n]).square()).sum() for n, layer in layers.items()
        )
        return 0.5 * self.options.strength * penalty
