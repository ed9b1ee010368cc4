"""Continual-learning strategies: plugins on the one session-training loop.

Adding a strategy is one new file here plus one line in STRATEGIES."""

from __future__ import annotations

from nrcodec.errors import InputError
from nrcodec.video.strategies.base import SessionContext, Strategy
from nrcodec.video.strategies.pnr import PNR
from nrcodec.video.strategies.wsn import WSN

STRATEGIES: dict[str, type[Strategy]] = {"pnr": PNR, "wsn": WSN}


def make_strategy(name: str, **options: object) -> Strategy:
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return STRATEGIES[name](**options)


__all__ = ["STRATEGIES", "SessionContext", "Strategy", "make_strategy"]
