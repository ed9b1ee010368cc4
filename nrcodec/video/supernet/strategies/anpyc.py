"""ANPyC (Peng et al.): one shared network, synaptic consolidation and pruning, no freezing.

Saliency of a weight: Ω = max(0, g·w + ½·w²·g²), the second-order estimate of the loss increase
if the weight were set to zero. Our choice of g: the label-free gradient of ``importance``, the MSE
against a target drawn from the model's own output, for every session alike (earlier sessions'
frames are gone, and one estimator keeps the saliencies of all sessions on one scale). That g has
zero mean, so the first-order term vanishes in expectation and is not estimated from noise:
Ω = ½·w²·E[g²], Optimal Brain Damage's saliency, averaged over a session's frames and summed
over sessions. While a session trains, λ·Σ Ω (θ − θ_old)² holds the weights earlier sessions need
near their old values.

Pruning follows the paper's intersection rule: only weights that every earlier session left free
may be pruned. The first session may prune any weight; later sessions only the weights that were
zero (pruned) when they began. In the last third of the epochs the ``prune`` fraction of those
candidates with the least saliency for this session is set to zero, in three rounds, and held there;
they stay zero in the archive, so the next session finds them free (Ω = 0 at w = 0), while the
weights any session kept are never zeroed again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nrcodec.video.supernet.strategies.base import Recall, SupernetContext, register
from nrcodec.video.supernet.strategies.finetune import Finetune
from nrcodec.video.supernet.strategies.importance import Gradients, session_moments

PRUNE_ROUNDS = 3


@dataclass(frozen=True)
class ANPyCOptions:
    strength: float = 1e7
    """λ of the consolidation penalty."""
    prune: float = 0.05
    """Fraction of the prunable weights set to zero by the end of a session."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.strength) and self.strength >= 0):
            raise ValueError(f"strength must be a finite number >= 0, got {self.strength}")
        if not 0 <= self.prune < 1:
            raise ValueError(f"prune must be in [0, 1), got {self.prune}")


@register
class ANPyC(Finetune):
    name = "anpyc"
    Options = ANPyCOptions

    def __init__(self, options: ANPyCOptions | None = None) -> None:
        super().__init__(options)
        self._omega: dict[str, torch.Tensor] = {}
        self._anchor: dict[str, torch.Tensor] = {}
        self._pruned: dict[str, torch.Tensor] = {}
        self._candidates: dict[str, torch.Tensor] = {}

    @staticmethod
    def _saliency(ctx: SupernetContext, recalls: list[Recall]) -> Gradients:
        """Σ over ``recalls`` of Ω = ½·w²·E[g²] (the first-order term has zero mean, see above)."""
        weights = {n: layer.weight.detach() for n, layer in ctx.model.masked_layers().items()}
        total = {n: torch.zeros_like(w) for n, w in weights.items()}
        for m in session_moments(ctx.model, recalls, ctx.batch_size, ctx.session):
            for n, w in weights.items():
                total[n] += 0.5 * w.square() * m.square[n]
        return total

    @staticmethod
    def _current(ctx: SupernetContext) -> Recall:
        names = ctx.model.session_parameter_names()
        dense = {names[n]: t.detach() for n, t in ctx.model.session_tensors().items()}
        return Recall(ctx.session, ctx.num_frames, ctx.placement, dense)

    def before_session(self, ctx: SupernetContext) -> None:
        super().before_session(ctx)
        layers = ctx.model.masked_layers()
        recalls = ctx.earlier()
        self._omega = self._saliency(ctx, recalls) if recalls else {}
        self._anchor = {n: layer.weight.detach().clone() for n, layer in layers.items()}
        self._pruned = {}
        self._candidates = {
            n: torch.ones_like(layer.weight, dtype=torch.bool) if ctx.session == 1 else layer.weight.detach() == 0
            for n, layer in layers.items()
        }

    def extra_loss(self, ctx: SupernetContext) -> torch.Tensor | None:
        if not self._omega:
            return None
        layers = ctx.model.masked_layers()
        return self.options.strength * sum(
            (self._omega[n] * (layer.weight - self._anchor[n]).square()).sum() for n, layer in layers.items()
        )

    def after_update(self, ctx: SupernetContext) -> None:
        if not self._pruned:
            return
        with torch.no_grad():
            layers = ctx.model.masked_layers()
            for n, pruned in self._pruned.items():
                layers[n].weight.masked_fill_(pruned, 0.0)
                layers[n].invalidate()

    def after_epoch(self, ctx: SupernetContext, epoch: int) -> None:
        start = ctx.epochs - ctx.epochs // 3
        rounds = [start + round(i * (ctx.epochs - start) / PRUNE_ROUNDS) for i in range(PRUNE_ROUNDS)]
        if epoch not in rounds or self.options.prune <= 0:
            return
        fraction = self.options.prune * (rounds.index(epoch) + 1) / PRUNE_ROUNDS
        now = self._saliency(ctx, [self._current(ctx)])
        for n, candidates in self._candidates.items():
            k = int(fraction * int(candidates.sum()))
            if k < 1:
                continue
            ranked = now[n].masked_fill(~candidates, float("inf")).reshape(-1)
            pruned = torch.zeros(ranked.numel(), dtype=torch.bool, device=ranked.device)
            pruned[ranked.topk(k, largest=False).indices] = True
            self._pruned[n] = pruned.view_as(candidates)
        self.after_update(ctx)
