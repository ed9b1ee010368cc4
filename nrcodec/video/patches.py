"""Training on patches: a step computes a window of the frame, not all of it.

A ``Window`` is a rectangle of the feature grid, in cells. ``NervNet.forward(..., window=w)``
computes only the stem outputs of ``w`` grown by ``grid_margin`` cells (the 3×3 convolutions need
their neighbours), and after each block crops what it carries to ``w`` plus one pixel per block
still to come, so the pixels it returns (``w``'s, at the canvas resolution) are the ones a
whole-frame forward gives, to float rounding (a smaller kernel may sum in another order: 3e-8
measured). Decoding always runs whole frames. A step's cost and memory follow the window's area,
not the frame's, so 1280x720 and larger clips train on a CPU in bounded memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nrcodec.video.frames import Placement

PATCH_PIXELS = 160 * 160
"""Canvas pixels a patch covers (about)."""
PATCH_FROM = 4
"""Frames of at least this many patches' area train on patches; smaller ones whole (unchanged)."""


@dataclass(frozen=True)
class Window:
    """Rows ``y0:y1`` and columns ``x0:x1`` of a feature grid, in cells."""

    y0: int
    y1: int
    x0: int
    x1: int

    def grown(self, margin: int, grid: tuple[int, int]) -> Window:
        fh, fw = grid
        return Window(
            max(0, self.y0 - margin), min(fh, self.y1 + margin), max(0, self.x0 - margin), min(fw, self.x1 + margin)
        )

    def rows(self, channels: int, grid: tuple[int, int], device: torch.device) -> torch.Tensor:
        """Indices of the stem outputs of this window: channel-major, as the stem's output is viewed."""
        fh, fw = grid
        ys = torch.arange(self.y0, self.y1, device=device)
        xs = torch.arange(self.x0, self.x1, device=device)
        cells = (ys[:, None] * fw + xs[None, :]).reshape(-1)
        return (torch.arange(channels, device=device)[:, None] * (fh * fw) + cells[None, :]).reshape(-1)

    def pixels(self, scale: int) -> tuple[int, int, int, int]:
        return self.y0 * scale, self.y1 * scale, self.x0 * scale, self.x1 * scale


def grid_margin(strides: tuple[int, ...]) -> int:
    """Cells around a window whose stem outputs its pixels need: one for the first block's convolution,
    and what the later blocks' convolutions reach back at the grid's resolution."""
    return 1 + math.ceil((len(strides) - 1) / strides[0])


def crop_after_block(
    x: torch.Tensor, region: tuple[int, int, int, int], keep: tuple[int, int, int, int]
) -> torch.Tensor:
    """``x`` covers canvas pixels ``region`` = (top, bottom, left, right) at its resolution; the part
    that covers ``keep``."""
    top, _, left, _ = region
    k_top, k_bottom, k_left, k_right = keep
    return x[:, :, k_top - top : k_bottom - top, k_left - left : k_right - left]


def keep_region(window: Window, scale: int, margin: int, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """``window``'s pixels at resolution ``scale`` plus ``margin`` on each side, within ``size`` (h, w)."""
    top, bottom, left, right = window.pixels(scale)
    height, width = size
    return max(0, top - margin), min(height, bottom + margin), max(0, left - margin), min(width, right + margin)


@dataclass(frozen=True)
class Patches:
    """How a session trains on patches: the window size in cells, the grid, the canvas scale of a
    cell, and how many patches make one pass over the clip (about its area once)."""

    cells: tuple[int, int]
    grid: tuple[int, int]
    scale: int

    @classmethod
    def for_layout(cls, grid: tuple[int, int], scale: int) -> Patches | None:
        """Patches of about ``PATCH_PIXELS`` for a grid of cells of ``scale`` pixels, or None where a
        frame is smaller than ``PATCH_FROM`` patches (it trains whole)."""
        fh, fw = grid
        if fh * fw * scale * scale < PATCH_FROM * PATCH_PIXELS:
            return None
        side = max(1, round(math.sqrt(PATCH_PIXELS) / scale))
        return cls((min(fh, side), min(fw, side)), grid, scale)

    @property
    def per_pass(self) -> int:
        """Patches per frame that cover about its area once: the rounds of one epoch."""
        (ch, cw), (fh, fw) = self.cells, self.grid
        return math.ceil(fh * fw / (ch * cw))

    def draw(self, generator: torch.Generator) -> Window:
        (ch, cw), (fh, fw) = self.cells, self.grid
        y, x = (int(torch.randint(0, n - c + 1, (1,), generator=generator)) for n, c in ((fh, ch), (fw, cw)))
        return Window(y, y + ch, x, x + cw)

    def targets(self, window: Window, placement: Placement) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
        """(rows, columns) of a patch's output and of the training frames that overlap: the window's
        canvas pixels within the frame's place on the canvas."""
        top, bottom, left, right = window.pixels(self.scale)
        (ox, oy), (fw, fh) = placement.offset, placement.fit
        y0, y1, x0, x1 = max(top, oy), min(bottom, oy + fh), max(left, ox), min(right, ox + fw)
        out = (slice(y0 - top, y1 - top), slice(x0 - left, x1 - left))
        return out, (slice(y0 - oy, y1 - oy), slice(x0 - ox, x1 - ox))
