"""Grow: every session owns a new dense network sized for its clip (archive format 2).

Nothing is shared, so nothing can be forgotten: the archive grows by one network per session and
is never full, and decoding session k reads its own chunk only. Each network is laid out for its
clip's size and ``--quality`` (``video.session_net``), trained densely for a time or epoch
budget, and quantization-aware (straight-through rounding to ``--weight-bits``) from ``qat_start``
of its training on, so the stored integers are what it was trained for. The library that runs it
is ``video.grow.GrowLibrary``; the supernet strategies' hooks for masks do not apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from nrcodec.video.strategies.base import SessionContext, Strategy, register


@dataclass(frozen=True)
class GrowOptions:
    qat_start: float = 0.6
    """Fraction of the training after which weights are rounded in the forward pass."""

    def __post_init__(self) -> None:
        if not 0 <= self.qat_start <= 1:
            raise ValueError(f"qat_start must be in [0, 1], got {self.qat_start}")


@register
class Grow(Strategy):
    name = "grow"
    forget_free = True
    owns_network = True
    Options = GrowOptions

    def after_update(self, ctx: SessionContext) -> None:
        """Round the weights in every step after ``qat_start`` of the training."""
        ctx.model.qat = ctx.progress >= self.options.qat_start
