"""The supernet's continual-learning strategies: plugins on the one session-training loop.

Adding a strategy is one new file here: a ``Strategy`` subclass decorated with ``@register``
(and, if it has settings, its ``Options`` dataclass). Every module of this package is imported
below, so the registry is complete without a list to keep.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from typing import Any

from nrcodec.errors import UsageError
from nrcodec.video.plugin import parse_options
from nrcodec.video.supernet.strategies.base import STRATEGIES, Recall, Strategy, SupernetContext

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def strategy_class(name: str) -> type[Strategy]:
    if name not in STRATEGIES:
        raise UsageError(f"unknown supernet strategy {name!r}; choose one of {', '.join(sorted(STRATEGIES))}")
    return STRATEGIES[name]


def make_strategy(name: str, options: Mapping[str, Any] | None = None) -> Strategy:
    """The strategy ``name`` with ``options`` checked against its typed Options (UsageError if bad)."""
    cls = strategy_class(name)
    return cls(parse_options(name, cls.Options, options or {}))


__all__ = ["STRATEGIES", "Recall", "Strategy", "SupernetContext", "make_strategy", "strategy_class"]
