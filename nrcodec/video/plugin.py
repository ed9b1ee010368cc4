"""The contract between the one session-training loop and what plugs into it: named hooks, typed
options.

The loop (``video.trainer``) calls, in this order, the hooks of Avalanche's training template:
``before_session`` once, then per step ``extra_loss`` (added to the reconstruction loss),
``after_backward`` (before the optimizer step) and ``after_update`` (after it), and
``after_epoch``. Every hook does nothing by default. The supernet's continual-learning strategies
are plugins (``video.supernet.strategies``); a grow session trains with the bare loop, since a
network that changes as it trains is a model concern (``NervNet.after_update``). Settings of a
plugin or a library kind are a frozen dataclass, checked by ``parse_options`` when it is made, so a
bad value never reaches an archive header.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import torch

from nrcodec.errors import UsageError
from nrcodec.video.frames import Placement
from nrcodec.video.nerv import NervNet
from nrcodec.video.patches import Patches

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class SessionContext:
    """What the loop shares with its plugin during one session; made complete before it starts."""

    model: NervNet
    session: int
    placement: Placement
    num_frames: int
    epochs: int
    batch_size: int
    loss: Loss
    notices: list[str] = field(default_factory=list)
    patches: Patches | None = None
    """Train on patches of the frames (``video.patches``) instead of whole frames."""
    progress: float = 0.0
    """Fraction of the training done before the current step (steps or time), set by the loop."""
    epochs_run: int = 0


Context = TypeVar("Context", bound=SessionContext)


class Plugin(Generic[Context]):
    """The loop's hooks, each doing nothing: the bare loop. ``Context`` is the context its library
    kind gives it (the supernet's strategies see the earlier sessions too)."""

    def before_session(self, ctx: Context) -> None:
        """Choose each layer's selection (scores, dense, fixed mask) and set up state, before the first step."""

    def extra_loss(self, ctx: Context) -> torch.Tensor | None:
        """A term added to the reconstruction loss of every step (penalties, replayed frames)."""
        return None

    def after_backward(self, ctx: Context) -> None:
        """Adjust gradients before the optimizer step."""

    def after_update(self, ctx: Context) -> None:
        """Look at or constrain the weights right after the optimizer step."""

    def after_epoch(self, ctx: Context, epoch: int) -> None:
        """Per-epoch work (e.g. drop and grow connections)."""

    def extra_parameters(self) -> list[torch.Tensor]:
        """Tensors besides the model's trainable parameters that the optimizer should train."""
        return []


@dataclass(frozen=True)
class NoOptions:
    """Settings of something that has none."""


def _accepts(kind: type, value: object) -> bool:
    """Whether a JSON value fits a field of type ``kind``: an int is a fine float, a bool is no number."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def parse_options(name: str, options_type: type, given: Mapping[str, object]) -> Any:
    """``given`` as ``name``'s typed options: unknown keys, wrong types and out-of-range values are one
    ``UsageError`` naming the strategy and the key."""
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
