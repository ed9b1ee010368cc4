"""SpaceNet (Sokar et al. 2021) on video: sparse connections allocated per session, adapted by
drop-and-grow, and the most important neurons reserved for the session that made them.

No scores. Output units are neurons (rows of a linear layer, output channels of a conv) and a
connection is one weight, or for a conv one whole k×k kernel. A session allocates ``capacity`` of
the connections still allowed (not frozen, not into a reserved neuron) at random, trains them with
every frozen connection in its subnetwork, and every ``epochs / 20`` epochs (the paper trains 4–20
epochs per task and adapts after each; our sessions run 60–150) drops a fraction of its connections
with the least importance Σ|∂L/∂w · Δw| accumulated since the last change — ``drop`` decayed along a
half cosine to 0 at the end of the session, as dynamic sparse training (SET, RigL) does, so the last
connections grown still get trained — and grows as many, zero-initialised, between the neuron pairs
with the largest product of importances (a neuron's importance: the sum over its ingoing
connections; never on frozen positions). At the end it reserves the ``reserve`` fraction (default
10%, the paper's 40 of 400) of the still unreserved neurons it found most important; later sessions
add no connections into them. The reserved neurons are stored in the session's metadata, so a
reopened archive knows them.
Forget-free: frozen weights get zero gradients and the library checks their bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from nrcodec.format.session import SessionRecord
from nrcodec.video.supernet.model import Supernet
from nrcodec.video.supernet.strategies.base import Strategy, SupernetContext, register

META_KEY = "spacenet"
ADAPTATIONS = 20
"""Drop-and-grow rounds per session at most (one every epochs / 20 epochs)."""


def _units(weight_mask: torch.Tensor) -> torch.Tensor:
    """(out, in) connection units of a weight-shaped mask: a unit is set if any of its weights is."""
    return weight_mask.reshape(weight_mask.shape[0], weight_mask.shape[1], -1).any(-1)


def _expand(units: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A weight-shaped mask from (out, in) units."""
    return units[..., None].expand(*units.shape, like[0, 0].numel()).reshape(like.shape)


def reserved_rows(records: list[SessionRecord], model: Supernet) -> dict[str, torch.Tensor]:
    """The neurons (output rows) earlier sessions reserved, per masked layer."""
    out = {}
    for n, layer in model.masked_layers().items():
        rows = torch.zeros(layer.weight.shape[0], dtype=torch.bool, device=layer.weight.device)
        for record in records:
            for row in record.meta.get(META_KEY, {}).get("reserved", {}).get(n, []):
                if isinstance(row, int) and 0 <= row < rows.numel():
                    rows[row] = True
        out[n] = rows
    return out


def _check_reserve(reserve: float) -> None:
    if not 0 <= reserve <= 1:
        raise ValueError(f"reserve must be in [0, 1], got {reserve}")


@dataclass(frozen=True)
class SpaceNetOptions:
    drop: float = 0.2
    """Fraction of its connections a session drops (and regrows) per adaptation at first."""
    reserve: float = 0.1
    """Fraction of the unreserved neurons a session reserves for itself at its end."""

    def __post_init__(self) -> None:
        if not 0 <= self.drop < 1:
            raise ValueError(f"drop must be in [0, 1), got {self.drop}")
        _check_reserve(self.reserve)


@dataclass(frozen=True)
class StaticOptions:
    reserve: float = 0.1
    """As SpaceNet's; static sparse never drops."""

    def __post_init__(self) -> None:
        _check_reserve(self.reserve)


@register
class SpaceNet(Strategy):
    name = "spacenet"
    forget_free = True
    Options: Any = SpaceNetOptions

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.drop = getattr(self.options, "drop", 0.0)
        self._own: dict[str, torch.Tensor] = {}
        self._allowed: dict[str, torch.Tensor] = {}
        self._importance: dict[str, torch.Tensor] = {}
        self._session_importance: dict[str, torch.Tensor] = {}
        self._grad: dict[str, torch.Tensor] = {}
        self._before: dict[str, torch.Tensor] = {}
        self._reserved: dict[str, torch.Tensor] = {}
        self._fraction = self.drop

    def before_session(self, ctx: SupernetContext) -> None:
        generator = torch.Generator().manual_seed(ctx.session)
        self._reserved = reserved_rows(ctx.records, ctx.model)
        for n, layer in ctx.model.masked_layers().items():
            layer.select_all()
            allowed = ~_units(layer.frozen) & ~self._reserved[n][:, None]
            count = round(ctx.capacity * int(allowed.sum()))
            if count == 0:
                ctx.notices.append(f"layer {n} has no room for new connections; the session reuses frozen ones only")
            draw = torch.rand(allowed.shape, generator=generator).to(allowed.device).masked_fill(~allowed, -1)
            own = torch.zeros_like(allowed)
            own.view(-1)[draw.view(-1).topk(count).indices] = True
            self._own[n], self._allowed[n] = own, allowed
            self._importance[n] = torch.zeros_like(layer.weight)
            self._session_importance[n] = torch.zeros_like(layer.weight)
            layer.fix_mask(layer.frozen | _expand(own, layer.weight))

    def after_backward(self, ctx: SupernetContext) -> None:
        for n, layer in ctx.model.masked_layers().items():
            if layer.weight.grad is None:
                continue
            layer.weight.grad.masked_fill_(layer.frozen, 0.0)
            self._grad[n] = layer.weight.grad.detach()
            self._before[n] = layer.weight.detach().clone()

    def after_update(self, ctx: SupernetContext) -> None:
        with torch.no_grad():
            for n, layer in ctx.model.masked_layers().items():
                if n in self._grad:
                    self._importance[n] += (self._grad[n] * (layer.weight - self._before[n])).abs()

    def after_epoch(self, ctx: SupernetContext, epoch: int) -> None:
        if epoch % max(1, round(ctx.epochs / ADAPTATIONS)) and epoch < ctx.epochs:
            return
        for n in self._importance:
            self._session_importance[n] += self._importance[n]
        if self.drop > 0 and epoch < ctx.epochs:
            self._fraction = self.drop * 0.5 * (1 + math.cos(math.pi * epoch / ctx.epochs))
            for n, layer in ctx.model.masked_layers().items():
                self._drop_and_grow(n, layer.weight)
                layer.fix_mask(layer.frozen | _expand(self._own[n], layer.weight))
        for value in self._importance.values():
            value.zero_()

    def _drop_and_grow(self, n: str, weight: torch.Tensor) -> None:
        own = self._own[n]
        unit = _importance_units(self._importance[n])
        count = min(int(self._fraction * int(own.sum())), int((self._allowed[n] & ~own).sum()))
        if count < 1:
            return
        dropped = unit.masked_fill(~own, float("inf")).view(-1).topk(count, largest=False).indices
        own.view(-1)[dropped] = False
        candidates = self._allowed[n] & ~own
        candidates.view(-1)[dropped] = False
        pairs = (unit.sum(1)[:, None] * unit.sum(0)[None, :]).masked_fill(~candidates, -1.0)
        grown = torch.zeros_like(own)
        grown.view(-1)[pairs.view(-1).topk(count).indices] = True
        grown &= candidates
        own |= grown
        with torch.no_grad():
            weight.masked_fill_(_expand(grown, weight), 0.0)

    def final_masks(self, ctx: SupernetContext) -> dict[str, torch.Tensor]:
        return {n: layer.frozen | _expand(self._own[n], layer.weight) for n, layer in ctx.model.masked_layers().items()}

    def session_meta(self, ctx: SupernetContext) -> dict[str, Any]:
        reserve = self.options.reserve
        chosen = {}
        for n, own in self._own.items():
            importance = _importance_units(self._session_importance[n]).sum(1)
            candidates = own.any(1) & ~self._reserved[n]
            count = min(round(reserve * int((~self._reserved[n]).sum())), int(candidates.sum()))
            ranked = importance.masked_fill(~candidates, -1.0).topk(count).indices if count else importance[:0].long()
            chosen[n] = sorted(int(r) for r in ranked)
        return {META_KEY: {"reserved": chosen, "drop": self.drop}}

    def summary(self, records: list[SessionRecord], model: Supernet) -> dict[str, Any]:
        reserved = reserved_rows(records, model)
        layers = {}
        total = allowed_total = 0
        for n, layer in model.masked_layers().items():
            allowed = ~_units(layer.frozen) & ~reserved[n][:, None]
            layers[n] = {"neurons": reserved[n].numel(), "reserved": int(reserved[n].sum())}
            total += allowed.numel()
            allowed_total += int(allowed.sum())
        return {"reserved_neurons": layers, "space_left": allowed_total / max(1, total)}


def _importance_units(importance: torch.Tensor) -> torch.Tensor:
    """Accumulated importance summed over each connection unit (a kernel for convs)."""
    return importance.reshape(importance.shape[0], importance.shape[1], -1).sum(-1)


@register
class StaticSparse(SpaceNet):
    """The ablation: SpaceNet's allocation and reservation without drop-and-grow."""

    name = "static"
    Options = StaticOptions
