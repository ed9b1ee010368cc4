"""A continual-learning strategy of the supernet: a plugin on the one session loop (``video.plugin``)
that also says which subnetwork a session ends with and what later sessions need from it.

Besides the loop's hooks, the library asks a strategy for ``final_masks`` and ``session_meta``
when a session ends. A strategy's settings are a frozen dataclass, ``Options``, checked when the
strategy is made (``video.plugin.parse_options``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch.func import functional_call

from nrcodec.format.session import SessionRecord
from nrcodec.video.frames import Placement
from nrcodec.video.plugin import NoOptions, Plugin, SessionContext
from nrcodec.video.supernet.model import Supernet


@dataclass(frozen=True)
class Recall:
    """An earlier session as the current model can replay it: its ID, frame count, placement and
    its own dense tensors (head, biases), which are swapped in for a forward pass."""

    session: int
    frames: int
    placement: Placement
    dense: dict[str, torch.Tensor]

    def forward(self, model: Supernet, idx: torch.Tensor) -> torch.Tensor:
        """The valid region of the canvas the model now gives for frames ``idx`` of this session."""
        return self.placement.crop(functional_call(model, self.dense, (self.session, idx, self.frames)))


@dataclass
class SupernetContext(SessionContext):
    """The loop's context with what a strategy of the supernet also sees: the capacity a session
    selects and the earlier sessions (their records, and a way to replay them)."""

    model: Supernet = field(kw_only=True)
    capacity: float = 1.0
    records: list[SessionRecord] = field(default_factory=list)
    recall: Callable[[int], Recall] | None = None

    def earlier(self) -> list[Recall]:
        """Every earlier session, ready to replay (strategies that need old sessions call this)."""
        if self.recall is None:
            return []
        return [self.recall(j) for j in range(1, self.session)]


STRATEGIES: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by its ``name`` (CLI, archive headers)."""
    STRATEGIES[cls.name] = cls
    return cls


class Strategy(Plugin[SupernetContext]):
    """Base strategy: every hook does nothing. ``forget_free`` promises frozen weights never move."""

    name: ClassVar[str] = "base"
    forget_free: ClassVar[bool] = True
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any = None) -> None:
        self.options = self.Options() if options is None else options

    def final_masks(self, ctx: SupernetContext) -> dict[str, torch.Tensor]:
        """The subnetwork the session ends with, per masked layer (boolean, weight-shaped)."""
        return {name: layer.selected() for name, layer in ctx.model.masked_layers().items()}

    def session_meta(self, ctx: SupernetContext) -> dict[str, Any]:
        """Strategy state a later session needs, stored in this session's metadata."""
        return {}

    def summary(self, records: list[SessionRecord], model: Supernet) -> dict[str, Any]:
        """Strategy-specific figures for ``info`` (e.g. reserved neurons)."""
        return {}
