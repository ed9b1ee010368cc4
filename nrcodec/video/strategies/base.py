"""The contract between the one session-training loop and a strategy: named hooks, typed options.

The loop (``nrcodec.video.trainer``) calls, in this order, the hooks of Avalanche's training
template: ``before_session`` once, then per step ``extra_loss`` (added to the reconstruction
loss), ``after_backward`` (before the optimizer step) and ``after_update`` (after it), and
``after_epoch``; when the session ends the library asks for ``final_masks`` and ``session_meta``.
Every hook does nothing by default. A strategy's settings are a frozen dataclass, ``Options``,
checked when the strategy is made, so a bad value never reaches an archive header.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch.func import functional_call

from nrcodec.errors import UsageError
from nrcodec.format.session import SessionRecord
from nrcodec.video.frames import Placement
from nrcodec.video.model import Supernet

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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
class SessionContext:
    """What the loop shares with a strategy during one session; made complete before it starts."""

    model: Supernet
    session: int
    capacity: float
    placement: Placement
    num_frames: int
    epochs: int
    batch_size: int
    loss: Loss
    records: list[SessionRecord] = field(default_factory=list)
    recall: Callable[[int], Recall] | None = None
    notices: list[str] = field(default_factory=list)
    progress: float = 0.0
    """Fraction of the training done before the current step (steps or time), set by the loop."""
    epochs_run: int = 0

    def earlier(self) -> list[Recall]:
        """Every earlier session, ready to replay (strategies that need old sessions call this)."""
        if self.recall is None:
            return []
        return [self.recall(j) for j in range(1, self.session)]


@dataclass(frozen=True)
class NoOptions:
    """A strategy without settings."""


def _accepts(kind: type, value: object) -> bool:
    """Whether a JSON value fits a field of type ``kind``: an int is a fine float, a bool is no number."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def parse_options(name: str, options_type: type, given: Mapping[str, object]) -> Any:
    """``given`` as the strategy's typed options: unknown keys, wrong types and out-of-range values
    are one ``UsageError`` naming the strategy and the key."""
    hints = typing.get_type_hints(options_type)
    fields = {f.name: hints[f.name] for f in dataclasses.fields(options_type)}
    for key, value in given.items():
        if key not in fields:
            known = ", ".join(fields) or "none"
            raise UsageError(f"strategy {name} has no option {key!r} (its options: {known})")
        if not _accepts(fields[key], value):
            raise UsageError(f"strategy {name}: option {key} must be a {fields[key].__name__}, got {value!r}")
    try:
        return options_type(**given)
    except ValueError as exc:
        raise UsageError(f"strategy {name}: {exc}") from None


STRATEGIES: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by its ``name`` (CLI, archive headers)."""
    STRATEGIES[cls.name] = cls
    return cls


class Strategy:
    """Base strategy: every hook does nothing. ``forget_free`` promises frozen weights never move."""

    name: ClassVar[str] = "base"
    forget_free: ClassVar[bool] = True
    owns_network: ClassVar[bool] = False
    """Each session has a network of its own (grow) instead of a subnetwork of the shared supernet."""
    Options: ClassVar[type] = NoOptions

    def __init__(self, options: Any = None) -> None:
        self.options = self.Options() if options is None else options

    def before_session(self, ctx: SessionContext) -> None:
        """Choose each layer's selection (scores, dense, fixed mask) and set up state, before the first step."""

    def extra_loss(self, ctx: SessionContext) -> torch.Tensor | None:
        """A term added to the reconstruction loss of every step (penalties, replayed frames)."""
        return None

    def after_backward(self, ctx: SessionContext) -> None:
        """Adjust gradients before the optimizer step."""

    def after_update(self, ctx: SessionContext) -> None:
        """Look at or constrain the weights right after the optimizer step."""

    def after_epoch(self, ctx: SessionContext, epoch: int) -> None:
        """Per-epoch work (e.g. drop and grow connections)."""

    def extra_parameters(self) -> list[torch.Tensor]:
        """Tensors besides the model's trainable parameters that the optimizer should train."""
        return []

    def final_masks(self, ctx: SessionContext) -> dict[str, torch.Tensor]:
        """The subnetwork the session ends with, per masked layer (boolean, weight-shaped)."""
        return {name: layer.selected() for name, layer in ctx.model.masked_layers().items()}

    def session_meta(self, ctx: SessionContext) -> dict[str, Any]:
        """Strategy state a later session needs, stored in this session's metadata."""
        return {}

    def summary(self, records: list[SessionRecord], model: Supernet) -> dict[str, Any]:
        """Strategy-specific figures for ``info`` (e.g. reserved neurons)."""
        return {}
