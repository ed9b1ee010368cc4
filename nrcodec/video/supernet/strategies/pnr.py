"""PNR (Kang et al.): WSN weight scores, top-c% masks per layer, scores re-drawn every session."""

from __future__ import annotations

from dataclasses import dataclass

from nrcodec.video.supernet.strategies.base import Strategy, SupernetContext, register


@dataclass(frozen=True)
class PNROptions:
    reinit: bool = True
    """Re-draw the scores at the start of every session after the first."""


@register
class PNR(Strategy):
    """Train only free weights inside the session's mask; frozen weights get no gradient.

    The masked layers zero the gradient of frozen weights in their backward pass, and with a
    fresh Adam per session a zero gradient gives an exactly zero update, so frozen weights keep
    their bits; the library checks this at the end of every session anyway.
    """

    name = "pnr"
    forget_free = True
    Options = PNROptions

    def reinit(self) -> bool:
        return self.options.reinit

    def before_session(self, ctx: SupernetContext) -> None:
        for layer in ctx.model.masked_layers().values():
            layer.select_by_scores(ctx.capacity)
            if self.reinit() and ctx.session > 1:
                layer.reset_scores()
