"""PNR (Kang et al.): WSN weight scores, top-c% masks per layer, scores re-drawn every session."""

from __future__ import annotations

from nrcodec.video.strategies.base import SessionContext, Strategy


class PNR(Strategy):
    """Train only free weights inside the session's mask; frozen weights get no gradient.

    The masked layers zero the gradient of frozen weights in their backward pass, and with a
    fresh Adam per session a zero gradient gives an exactly zero update, so frozen weights keep
    their bits; the library checks this at the end of every session anyway.
    """

    name = "pnr"
    forget_free = True

    def __init__(self, reinit: bool = True) -> None:
        self.reinit = reinit

    def begin_session(self, ctx: SessionContext) -> None:
        for layer in ctx.model.masked_layers().values():
            layer.fix_mask(None)
            layer.use_scores = True
            layer.capacity = ctx.capacity
            if self.reinit and ctx.session > 1:
                layer.reset_scores()

    def options(self) -> dict[str, object]:
        return {"reinit": self.reinit}
