"""The one resolver: which library kind an archive's strategy needs. Nothing else asks.

Every strategy name belongs to exactly one kind: ``grow`` to ``GrowLibrary`` (a network per
session, format 2), pnr and the other masked strategies to ``SupernetLibrary`` (one shared
supernet, format 1). A new kind is one more entry in ``KINDS``.
"""

from __future__ import annotations

from typing import Any

import torch

from nrcodec.errors import UsageError
from nrcodec.video.contract import VideoLibrary
from nrcodec.video.grow.library import GrowLibrary
from nrcodec.video.records import LibraryConfig
from nrcodec.video.settings import NewArchive
from nrcodec.video.supernet.library import SupernetLibrary

KINDS: tuple[type[VideoLibrary[Any]], ...] = (GrowLibrary, SupernetLibrary)
DEFAULT_STRATEGY = "grow"
"""What a new archive uses unless told: a network per session, the forget-free library with the
smallest files measured (notes/rate.md); ``pnr`` is the paper's masked supernet."""


def strategy_names() -> list[str]:
    """Every strategy an archive may have, the default first."""
    names = [name for kind in KINDS for name in kind.strategies()]
    return sorted(names, key=lambda name: (name != DEFAULT_STRATEGY, name))


def resolve(strategy: str) -> type[VideoLibrary[Any]]:
    """The kind of library that ``strategy`` needs (a UsageError for an unknown name)."""
    for kind in KINDS:
        if strategy in kind.strategies():
            return kind
    raise UsageError(f"unknown strategy {strategy!r}; choose one of {', '.join(strategy_names())}")


def new_config(request: NewArchive) -> LibraryConfig:
    """The checked settings of a new archive (a UsageError for a bad option)."""
    return resolve(request.strategy or DEFAULT_STRATEGY).new_config(request)


def make_library(config: LibraryConfig, device: str | torch.device = "cpu") -> VideoLibrary[Any]:
    """An empty library of the kind ``config``'s strategy needs."""
    return resolve(config.strategy)(config, device)
