"""What both library kinds' networks are: a NeRV from a (session, frame) index to a whole frame.

An index embedding feeds an MLP stem that gives a small feature grid (about 9 cells on its short
side), NeRV blocks (3×3 conv → PixelShuffle → GELU) upsample it to the canvas, and a 1×1 head gives
RGB as (tanh + 1) / 2. ``NervLayout`` is everything needed to rebuild such a network empty;
``NervNet`` is its one forward pass. The supernet (``video.supernet``) makes its stem and blocks
masked layers; a grow session's network (``video.grow``) makes them dense and rounds their weights
while it trains for its stored integers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn

from nrcodec.errors import FormatError, InputError
from nrcodec.video.patches import Window, crop_after_block, grid_margin, keep_region

MAX_CANVAS = 8192
MAX_WEIGHTS = 1 << 28
EMBEDDINGS = ("sinusoidal", "krnet")
KRNET_FIELDS = ("id_dim", "group_size")


@dataclass(frozen=True)
class NervLayout:
    """The shape of a NeRV: canvas, feature grid, widths, strides and index embedding. A supernet's
    is stored in its archive's header, a grow session's in its session's metadata."""

    canvas: tuple[int, int]
    feature: tuple[int, int]
    stem_hidden: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    embedding: str = "sinusoidal"
    values_per_index: int = 80
    embed_base: float = 1.25
    id_dim: int = 64
    group_size: int = 8

    def __post_init__(self) -> None:
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {', '.join(EMBEDDINGS)}")
        if len(self.channels) != len(self.strides) + 1:
            raise ValueError("channels needs one entry more than strides")
        up = math.prod(self.strides)
        fh, fw = self.feature
        if (fw * up, fh * up) != tuple(self.canvas):
            raise ValueError(f"feature {fw}x{fh} × {up} does not reach canvas {self.canvas}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.embedding != "krnet":
            for key in KRNET_FIELDS:
                del data[key]
        return data

    def weight_count(self) -> int:
        """Stem and block weights (and KRNet's embedding layers), known before anything is allocated."""
        fh, fw = self.feature
        count = 2 * self.values_per_index * self.stem_hidden + self.stem_hidden * fh * fw * self.channels[0]
        if self.embedding == "krnet":
            count += 2 * self.id_dim * self.values_per_index
        for cin, cout, s in zip(self.channels, self.channels[1:], self.strides):
            count += cin * cout * s * s * 9
        return count

    def with_embedding(self, embedding: str) -> NervLayout:
        """The same layout with another index embedding (an archive-wide choice of the supernet)."""
        if embedding not in EMBEDDINGS:
            raise InputError(f"unknown embedding {embedding!r}; choose one of {', '.join(EMBEDDINGS)}")
        return replace(self, embedding=embedding)

    @classmethod
    def from_json(cls, data: Any) -> NervLayout:
        """A stored layout, checked against what nrcodec writes (a FormatError otherwise)."""
        try:
            layout = cls(
                canvas=tuple(data["canvas"]),
                feature=tuple(data["feature"]),
                stem_hidden=int(data["stem_hidden"]),
                channels=tuple(int(c) for c in data["channels"]),
                strides=tuple(int(s) for s in data["strides"]),
                embedding=str(data["embedding"]),
                values_per_index=int(data["values_per_index"]),
                embed_base=float(data["embed_base"]),
                **{key: int(data[key]) for key in KRNET_FIELDS if key in data},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"network layout is malformed ({exc})") from None
        sizes = (*layout.canvas, *layout.feature, layout.stem_hidden, *layout.channels, *layout.strides)
        small = min(*sizes, layout.values_per_index, layout.id_dim, layout.group_size) < 1
        if small or max(layout.canvas) > MAX_CANVAS or layout.weight_count() > MAX_WEIGHTS:
            raise FormatError("network layout is out of the range nrcodec writes")
        return layout


class NervNet(nn.Module):
    """A NeRV of ``layout``: the one forward pass both library kinds run.

    Subclasses make the stem's linear layers and the blocks' convolutions (``make_linear``,
    ``make_conv``) and may change how a layer applies its weight (``linear``, ``conv``); the
    embedding is theirs to choose. Layers are created in the same order for every kind (embedding,
    stem, blocks, head), so a seed gives the same initial weights.
    """

    def __init__(self, layout: NervLayout, embedding: nn.Module) -> None:
        super().__init__()
        self.arch = layout
        self.embedding = embedding
        fh, fw = layout.feature
        self.stem = nn.ModuleList(
            [
                self.make_linear(embedding.out_dim, layout.stem_hidden),
                self.make_linear(layout.stem_hidden, fh * fw * layout.channels[0]),
            ]
        )
        self.blocks = nn.ModuleList(
            [
                self.make_conv(cin, cout * s * s)
                for cin, cout, s in zip(layout.channels, layout.channels[1:], layout.strides)
            ]
        )
        self.shuffles = nn.ModuleList([nn.PixelShuffle(s) for s in layout.strides])
        self.act = nn.GELU()
        self.head = nn.Conv2d(layout.channels[-1], 3, 1)

    def make_linear(self, cin: int, cout: int) -> nn.Module:
        raise NotImplementedError

    def make_conv(self, cin: int, cout: int) -> nn.Module:
        """A 3×3 convolution with padding 1 (the block's, before its PixelShuffle)."""
        raise NotImplementedError

    def linear(self, layer: nn.Module, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """``layer`` on ``x``; only its outputs ``rows`` where given (a patch's stem outputs)."""
        return layer(x) if rows is None else layer(x)[:, rows]

    def conv(self, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return layer(x)

    def after_update(self, progress: float) -> None:
        """Called by the training loop after every optimizer step, with the fraction of training done
        (a network that changes how it computes as it trains follows it here)."""

    @property
    def device(self) -> torch.device:
        return self.head.weight.device

    def forward(
        self, session: int, frames: torch.Tensor, num_frames: int, window: Window | None = None
    ) -> torch.Tensor:
        """Frames (B,) of session ``session`` → RGB in [0, 1], shape (B, 3, H, W) on the canvas; with
        ``window``, only its pixels (``video.patches``: what a whole-frame forward gives there)."""
        grid = self.arch.feature
        cells = Window(0, grid[0], 0, grid[1]) if window is None else window.grown(grid_margin(self.arch.strides), grid)
        rows = None if window is None else cells.rows(self.arch.channels[0], grid, self.device)
        x = self.embedding(session, frames, num_frames).to(self.device)
        x = self.act(self.linear(self.stem[0], x))
        x = self.act(self.linear(self.stem[1], x, rows))
        x = x.view(x.shape[0], self.arch.channels[0], cells.y1 - cells.y0, cells.x1 - cells.x0)
        region, scale = cells.pixels(1), 1
        for k, (conv, shuffle) in enumerate(zip(self.blocks, self.shuffles)):
            x = self.act(shuffle(self.conv(conv, x)))
            scale *= self.arch.strides[k]
            if window is not None:
                region = tuple(v * self.arch.strides[k] for v in region)
                keep = keep_region(window, scale, len(self.blocks) - k - 1, (grid[0] * scale, grid[1] * scale))
                x, region = crop_after_block(x, region, keep), keep
        return (torch.tanh(self.head(x)) + 1) / 2
