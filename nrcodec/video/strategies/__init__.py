"""Continual-learning strategies: plugins on the one session-training loop.

Adding a strategy is one new file here plus one line in STRATEGIES."""

from __future__ import annotations

from nrcodec.errors import InputError
from nrcodec.video.strategies.anpyc import ANPyC
from nrcodec.video.strategies.base import Recall, SessionContext, Strategy
from nrcodec.video.strategies.ewc import EWC
from nrcodec.video.strategies.finetune import Finetune
from nrcodec.video.strategies.pnr import PNR
from nrcodec.video.strategies.replay import Replay
from nrcodec.video.strategies.spacenet import SpaceNet, StaticSparse
from nrcodec.video.strategies.wsn import WSN

STRATEGIES: dict[str, type[Strategy]] = {
    s.name: s for s in (PNR, WSN, SpaceNet, StaticSparse, ANPyC, EWC, Finetune, Replay)
}


def make_strategy(name: str, **options: object) -> Strategy:
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    try:
        return STRATEGIES[name](**options)
    except (TypeError, ValueError) as exc:
        raise InputError(f"strategy {name}: bad options {options} ({exc})") from None


__all__ = ["STRATEGIES", "Recall", "SessionContext", "Strategy", "make_strategy"]
