"""The two kinds of library, and which one an archive's strategy needs.

``Library`` keeps every session as a subnetwork of one shared supernet (pnr and the other masked
strategies; archive format 1). ``GrowLibrary`` gives every session a network of its own (grow;
format 2). Both offer what the archive, the evaluation and the CLI use: ``add_session``,
``install``, ``read_session``, ``decode``, ``records``, ``info``, ``capacity``, ``summary``.
"""

from __future__ import annotations

import torch

from nrcodec.video.grow import GrowLibrary
from nrcodec.video.library import Library
from nrcodec.video.records import LibraryConfig
from nrcodec.video.strategies import strategy_class

AnyLibrary = Library | GrowLibrary
__all__ = ["AnyLibrary", "GrowLibrary", "Library", "library_class", "make_library"]


def library_class(config: LibraryConfig) -> type[Library] | type[GrowLibrary]:
    """The kind of library ``config``'s strategy needs (its ``format_version`` is the archive's)."""
    return GrowLibrary if strategy_class(config.strategy).owns_network else Library


def make_library(config: LibraryConfig, device: str | torch.device = "cpu") -> AnyLibrary:
    """An empty library of the kind ``config``'s strategy needs."""
    return library_class(config)(config, device)
