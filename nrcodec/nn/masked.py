"""Layers whose weights carry learnable scores, so each session picks its own subnetwork.

A layer holds the shared weights θ, scores ρ of the same shape, the frozen set M (weights
earlier sessions own), and a per-session bias. In training the mask is the top-c% of |ρ| with
a straight-through gradient; for decoding a fixed mask is installed and the effective weight
``where(mask, θ, 0)`` is computed once and cached. A strategy picks one of three selections per
session: ``select_by_scores`` (top-c% of ρ), ``select_all`` (dense) or ``fix_mask`` (a given mask).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

BAND = 0.02
"""Relative width of the band around last step's threshold where the new one is searched."""


def top_k_threshold(magnitude: torch.Tensor, k: int, hint: float | None) -> torch.Tensor:
    """The k-th largest value of ``magnitude``, found in a narrow band around ``hint`` when possible.

    Scores move little between steps, so the exact threshold is almost always within a few percent
    of the last one: two comparisons and a selection among a few hundred values replace a full
    selection over the layer, which is what keeps the masked step close to a dense one.
    """
    flat = magnitude.reshape(-1)
    if hint is not None and hint > 0:
        low, high = hint * (1 - BAND), hint * (1 + BAND)
        above = int((flat >= high).sum())
        if above < k:
            band = flat[(flat >= low) & (flat < high)]
            need = k - above
            if need <= band.numel():
                return band.kthvalue(band.numel() - need + 1).values
    return flat.kthvalue(flat.numel() - k + 1).values


class _MaskedWeight(torch.autograd.Function):
    """θ ⊙ m. The gradient reaches ρ straight through the mask, and θ only where it is trainable
    (selected and not frozen), so frozen weights get an exactly zero gradient in one pass."""

    @staticmethod
    def forward(
        ctx: Any, weight: torch.Tensor, score: torch.Tensor, mask: torch.Tensor, trainable: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(weight, trainable)
        return weight * mask

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None, None]:
        weight, trainable = ctx.saved_tensors
        return grad * trainable, grad * weight, None, None


def top_k_count(numel: int, capacity: float) -> int:
    """Number of weights a session selects in a layer of ``numel`` weights."""
    return max(1, min(numel, round(capacity * numel)))


class MaskedLayer(nn.Module):
    """Shared weight + score + frozen set + bias, common to the linear and conv variants."""

    def __init__(self, weight_shape: tuple[int, ...], fan_in: int, out_features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(weight_shape))
        self.score = nn.Parameter(torch.empty(weight_shape))
        self.bias = nn.Parameter(torch.empty(out_features))
        self.register_buffer("frozen", torch.zeros(weight_shape, dtype=torch.bool))
        self.fan_in = fan_in
        self._capacity = 1.0
        self._use_scores = True
        self._fixed_mask: torch.Tensor | None = None
        self._cached: torch.Tensor | None = None
        self._hint: float | None = None
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(self.bias, -bound, bound)
        self.reset_scores()

    def reset_scores(self) -> None:
        """Draw fresh scores (the PNR 're-init' at the start of a session)."""
        nn.init.kaiming_uniform_(self.score, a=math.sqrt(5))
        self._hint = None

    def score_mask(self) -> torch.Tensor:
        """This step's top-c% of |ρ|; the threshold is remembered as the next step's hint."""
        with torch.no_grad():
            magnitude = self.score.abs()
            value = top_k_threshold(magnitude, top_k_count(self.weight.numel(), self._capacity), self._hint)
            self._hint = float(value)
            return magnitude >= value

    def selected(self) -> torch.Tensor:
        """The boolean mask in force now: the fixed one, else the top-c% of the scores."""
        if self._fixed_mask is not None:
            return self._fixed_mask
        if not self._use_scores:
            return torch.ones_like(self.weight, dtype=torch.bool)
        return self.score_mask()

    def select_by_scores(self, capacity: float) -> None:
        """Train the top ``capacity`` of |ρ| (PNR, WSN)."""
        self.fix_mask(None)
        self._use_scores, self._capacity = True, capacity

    def select_all(self) -> None:
        """Use every weight, no scores (a shared dense network)."""
        self.fix_mask(None)
        self._use_scores = False

    def fix_mask(self, mask: torch.Tensor | None) -> None:
        """Install a fixed mask (decoding, or training with a given subnetwork); None clears it."""
        self._fixed_mask = None if mask is None else mask.to(self.weight.device, torch.bool)
        self._cached = None

    def effective_weight(self) -> torch.Tensor:
        if self._fixed_mask is not None and not torch.is_grad_enabled():
            if self._cached is None:
                self._cached = torch.where(self._fixed_mask, self.weight, torch.zeros_like(self.weight))
            return self._cached
        if self._fixed_mask is not None:
            return self.weight * self._fixed_mask
        if not self._use_scores:
            return self.weight
        mask = self.score_mask()
        return _MaskedWeight.apply(self.weight, self.score, mask, mask & ~self.frozen)

    def invalidate(self) -> None:
        """Drop the cached effective weight after the weights changed."""
        self._cached = None


class MaskedLinear(MaskedLayer):
    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__((out_features, in_features), in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.bias)


class MaskedConv2d(MaskedLayer):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__(
            (out_channels, in_channels, kernel_size, kernel_size),
            in_channels * kernel_size * kernel_size,
            out_channels,
        )
        self.padding = kernel_size // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.effective_weight(), self.bias, padding=self.padding)
