"""What a session leaves behind: its masks, its new 8-bit weights and its dense tensors.

These records are the whole truth about a session. The archive stores them and a fresh
process rebuilds the supernet from them alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nrcodec.format.quant import Quantized


@dataclass
class LayerRecord:
    """One masked layer in one session: the flat mask and the values of the weights it wrote.

    A forget-free session writes exactly its new weights, the mask minus what was frozen before, so
    ``written`` is None and derived. A session of a strategy that is not forget-free may rewrite any
    weight; it names the positions it changed in ``written``.
    """

    mask: np.ndarray
    new: Quantized
    written: np.ndarray | None = None

    def new_positions(self, frozen_before: np.ndarray) -> np.ndarray:
        return self.mask & ~frozen_before if self.written is None else self.written


@dataclass
class SessionRecord:
    """A session: JSON metadata, its masked layers, and its dense tensors (head, biases). A session
    that owns its whole network (format 2) has no masked layers; ``shapes`` gives each of its
    tensors' shape."""

    meta: dict[str, Any]
    layers: dict[str, LayerRecord]
    dense: dict[str, Quantized] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", ""))

    @property
    def frames(self) -> int:
        return int(self.meta["frames"])


def rows_of(shape: tuple[int, ...]) -> np.ndarray:
    """Output-channel index of every flat position of a weight of ``shape``."""
    per_row = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return np.repeat(np.arange(shape[0], dtype=np.int64), per_row)
