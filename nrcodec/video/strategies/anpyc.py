"""ANPyC (Peng et al.): one shared network, synaptic consolidation and pruning, no freezing.

Importance of a weight for an earlier session: Ω = max(0, g·w + ½·w²·g²), the second-order
estimate of the loss increase if the weight were removed, with g the label-free gradient of
``importance`` (MSE against a target drawn from the model's own output), averaged over that
session's frames and summed over sessions. While a session trains, λ·Σ Ω (θ − θ_old)² holds the
important weights near their old values. In the last third of the session the weights with the
least importance (to earlier sessions and to this one) are pruned to zero in three rounds, up to a
``prune`` fraction of each layer; pruned weights stay zero until the session ends, so later sessions
find them free (Ω = 0 at w = 0) instead of having to bend weights that matter.
"""

from __future__ import annotations

import torch

from nrcodec.video.strategies.base import Recall, SessionContext
from nrcodec.video.strategies.finetune import Finetune
from nrcodec.video.strategies.importance import Gradients, accumulate

PRUNE_ROUNDS = 3


class ANPyC(Finetune):
    name = "anpyc"

    def __init__(self, strength: float = 1000.0, prune: float = 0.5) -> None:
        self.strength = strength
        self.prune = prune
        self._omega: dict[str, torch.Tensor] = {}
        self._anchor: dict[str, torch.Tensor] = {}
        self._pruned: dict[str, torch.Tensor] = {}

    def _saliency(self, ctx: SessionContext, recalls: list[Recall]) -> Gradients:
        weights = {n: layer.weight.detach() for n, layer in ctx.model.masked_layers().items()}

        def omega(grads: Gradients) -> Gradients:
            return {n: (g * weights[n] + 0.5 * weights[n].square() * g.square()).clamp_min(0) for n, g in grads.items()}

        return accumulate(ctx.model, recalls, ctx.batch_size, omega, ctx.session)

    def begin_session(self, ctx: SessionContext) -> None:
        super().begin_session(ctx)
        layers = ctx.model.masked_layers()
        recalls = ctx.earlier()
        self._omega = self._saliency(ctx, recalls) if recalls else {}
        self._anchor = {n: layer.weight.detach().clone() for n, layer in layers.items()}
        self._pruned = {}

    def extra_loss(self, ctx: SessionContext) -> torch.Tensor | None:
        if not self._omega:
            return None
        layers = ctx.model.masked_layers()
        return self.strength * sum(
            (self._omega[n] * (layer.weight - self._anchor[n]).square()).sum() for n, layer in layers.items()
        )

    def after_step(self, ctx: SessionContext) -> None:
        if not self._pruned:
            return
        with torch.no_grad():
            for n, layer in ctx.model.masked_layers().items():
                layer.weight.masked_fill_(self._pruned[n], 0.0)
                layer.invalidate()

    def after_epoch(self, ctx: SessionContext, epoch: int) -> None:
        start = ctx.epochs - ctx.epochs // 3
        rounds = [start + round(i * (ctx.epochs - start) / PRUNE_ROUNDS) for i in range(PRUNE_ROUNDS)]
        if epoch not in rounds or self.prune <= 0:
            return
        fraction = self.prune * (rounds.index(epoch) + 1) / PRUNE_ROUNDS
        now = self._saliency(ctx, [self._current(ctx)])
        for n in ctx.model.masked_layers():
            total = now[n] + self._omega.get(n, 0)
            k = int(fraction * total.numel())
            if k < 1:
                continue
            threshold = total.reshape(-1).kthvalue(k).values
            self._pruned[n] = total <= threshold
        self.after_step(ctx)

    @staticmethod
    def _current(ctx: SessionContext) -> Recall:
        names = ctx.model.session_parameter_names()
        dense = {names[n]: t.detach() for n, t in ctx.model.session_tensors().items()}
        return Recall(ctx.session, ctx.num_frames, ctx.placement, dense)

    def options(self) -> dict[str, object]:
        return {"strength": self.strength, "prune": self.prune}
