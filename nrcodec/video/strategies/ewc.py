"""EWC (Kirkpatrick et al. 2017): fine-tuning with a quadratic pull towards the weights earlier
sessions left, weighted by their Fisher information.

The Fisher diagonal is the label-free one of ``importance`` (JᵀJ/P of each earlier session's output,
summed over sessions), computed at the start of a session from the current model, so a library
reopened from its archive continues exactly as one kept in memory. Penalty: λ/2 · Σ F (θ − θ*)².
"""

from __future__ import annotations

import torch

from nrcodec.video.strategies.base import SessionContext
from nrcodec.video.strategies.finetune import Finetune
from nrcodec.video.strategies.importance import session_moments


class EWC(Finetune):
    name = "ewc"

    def __init__(self, strength: float = 1e4) -> None:
        self.strength = strength
        self._fisher: dict[str, torch.Tensor] = {}
        self._anchor: dict[str, torch.Tensor] = {}

    def begin_session(self, ctx: SessionContext) -> None:
        super().begin_session(ctx)
        layers = ctx.model.masked_layers()
        recalls = ctx.earlier()
        moments = session_moments(ctx.model, recalls, ctx.batch_size, ctx.session)
        self._fisher = {n: sum(m.square[n] for m in moments) for n in layers} if moments else {}
        self._anchor = {n: layer.weight.detach().clone() for n, layer in layers.items()}

    def extra_loss(self, ctx: SessionContext) -> torch.Tensor | None:
        if not self._fisher:
            return None
        layers = ctx.model.masked_layers()
        penalty = sum(
            (self._fisher[n] * (layer.weight - self._anchor[n]).square()).sum() for n, layer in layers.items()
        )
        return 0.5 * self.strength * penalty

    def options(self) -> dict[str, object]:
        return {"strength": self.strength}
