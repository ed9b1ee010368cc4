"""Fine-tuning: one shared dense network, every weight trained on every new session.

The lower bound of the PNR paper's tables: nothing protects earlier sessions, so they drift.
Each session's chunk stores every weight it changed; every session decodes with the latest weights
(and its own head and biases).
"""

from __future__ import annotations

from nrcodec.video.supernet.strategies.base import Strategy, SupernetContext, register


@register
class Finetune(Strategy):
    name = "finetune"
    forget_free = False

    def before_session(self, ctx: SupernetContext) -> None:
        for layer in ctx.model.masked_layers().values():
            layer.select_all()
