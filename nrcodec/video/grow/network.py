"""A session's own network (the ``grow`` strategy, archive format 2): a dense NeRV sized for its clip.

Each session owns every channel of a small NeRV (embedding → MLP stem → conv + PixelShuffle blocks →
RGB head), laid out for the clip's own width and height (``layout``: a canvas at least as large
as the frames, cropped, never scaled) with as many weights as its ``--quality`` level gives per
source pixel. Its stem and block weights are stored as ``weight_bits``-bit integers, one scale per
tensor, and trained for them: quantization-aware training (straight-through rounding) from
``qat_start`` of the training on. Head and biases (a few hundred values) are stored at 8 bits.
Nothing is shared between sessions, so no session can change another's decode.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from nrcodec.format.quant import BITS, Quantized, levels, quantize
from nrcodec.nn.embedding import SinusoidalEmbedding
from nrcodec.video.nerv import NervLayout, NervNet

QUALITY_WEIGHTS_PER_PIXEL = {1: 0.01875, 2: 0.0375, 3: 0.075, 4: 0.15, 5: 0.3, 6: 0.6}
"""Weights of a session's network per source pixel (width × height × frames), by quality level.

Each level doubles the weights of the one below. Level 4 is the density of the small preset's
network on a 320x180 clip of 120 frames, the point measured in notes/rate.md."""
MIN_WEIGHT_BITS = 4
STEM_BITS_BELOW = 2
"""The stem's large linear layer (``BIG_STEM``, over half of the weights) is stored this many bits
below ``--weight-bits``: per byte it is the layer that loses least to coarse steps. Carphone, 40
epochs, rest at 5 bits: the ratio to x264's bytes at equal PSNR went 3.60x (stem at 5 bits) ->
3.18x (4) -> 2.94x (3) -> 4.60x (2); notes/rate.md."""
MIN_STEM_BITS = 3
BIG_STEM = "stem.1.weight"
MIN_WEIGHTS = 8_000
MAX_WEIGHTS = 40_000_000
"""Bounds on a session network's size whatever the clip (tiny clips, very long ones)."""
CHANNEL_RATIOS = (1.0, 1.5, 1.0, 0.75, 0.5, 0.5, 0.5)
"""Channels of the stem output and of each block's output, relative to the first (NeRV's profile)."""
STEM_RATIO = 4
"""Hidden units of the stem MLP per stem-output channel."""
EMBEDDING_VALUES = 80
EMBEDDING_BASE = 1.25


def stem_bits_for(weight_bits: int) -> int:
    """Bits of ``BIG_STEM`` in a network whose other coarse weights have ``weight_bits``."""
    return max(MIN_STEM_BITS, weight_bits - STEM_BITS_BELOW)


def strides_for(source: tuple[int, int]) -> tuple[tuple[int, ...], tuple[int, int]]:
    """Upsampling strides and feature grid (h, w) for frames of ``source`` (w, h).

    NeRV starts from a grid whose short side is about 9 cells; among stride plans (5, 4 or 3, then
    twos) whose canvas wastes at most 10% of its area, the one nearest that is taken.
    """
    w, h = source
    plans = []
    for first in (5, 4, 3):
        for twos in range(0, 7):
            up = first * 2**twos
            fh, fw = math.ceil(h / up), math.ceil(w / up)
            waste = fh * fw * up * up / (w * h) - 1
            plans.append((waste > 0.1, abs(min(fh, fw) - 9), waste, (first,) + (2,) * twos, (fh, fw)))
    best = min(plans)
    return best[3], best[4]


def layout(source: tuple[int, int], frames: int, quality: int) -> NervLayout:
    """The network of a session of ``frames`` frames of ``source`` (w, h) at ``quality``."""
    strides, feature = strides_for(source)
    up = math.prod(strides)
    target = QUALITY_WEIGHTS_PER_PIXEL[quality] * source[0] * source[1] * frames
    target = min(max(target, MIN_WEIGHTS), MAX_WEIGHTS)
    ratios = CHANNEL_RATIOS[: len(strides) + 1]

    def arch(c0: int) -> NervLayout:
        return NervLayout(
            canvas=(feature[1] * up, feature[0] * up),
            feature=feature,
            stem_hidden=STEM_RATIO * c0,
            channels=tuple(max(4, round(c0 * r)) for r in ratios),
            strides=strides,
            values_per_index=EMBEDDING_VALUES,
            embed_base=EMBEDDING_BASE,
        )

    return min((arch(c0) for c0 in range(4, 513)), key=lambda a: abs(a.weight_count() - target))


def fake_quantize(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """``weight`` rounded to ``bits`` bits per tensor in the forward pass, unchanged gradients
    (straight-through); the scale follows ``format.quant.quantize``."""
    top = levels(bits)
    scale = weight.detach().abs().max().clamp_min(torch.finfo(weight.dtype).tiny) / top
    rounded = torch.clamp(torch.round(weight / scale), -top, top) * scale
    return weight + (rounded - weight).detach()


class SessionNet(NervNet):
    """One session's decoder: frame index → RGB frame on its canvas, with dense stem and blocks.

    While it trains, its stem and block weights are rounded to their stored bit depths in the
    forward pass (straight-through) from ``qat_start`` of the training on, so the integers stored
    are what it was trained for; ``BIG_STEM`` has ``stem_bits`` (sessions written before it had its
    own depth: ``weight_bits``)."""

    def __init__(
        self, arch: NervLayout, weight_bits: int, stem_bits: int | None = None, qat_start: float = 1.0
    ) -> None:
        super().__init__(arch, SinusoidalEmbedding(arch.values_per_index, arch.embed_base))
        self.weight_bits = weight_bits
        self.stem_bits = weight_bits if stem_bits is None else stem_bits
        self.qat_start = qat_start
        self.qat = False

    def make_linear(self, cin: int, cout: int) -> nn.Linear:
        return nn.Linear(cin, cout)

    def make_conv(self, cin: int, cout: int) -> nn.Conv2d:
        return nn.Conv2d(cin, cout, 3, padding=1)

    def after_update(self, progress: float) -> None:
        """Round the weights in every step after ``qat_start`` of the training."""
        self.qat = progress >= self.qat_start

    def linear(self, layer: nn.Module, x: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """Only the outputs ``rows`` where given: a patch computes its cells' rows of the stem alone
        (rounded with the whole tensor's scale, as stored)."""
        if rows is None:
            return nn.functional.linear(x, self._weight(layer), layer.bias)
        return nn.functional.linear(x, self._weight(layer)[rows], layer.bias[rows])

    def conv(self, layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self._weight(layer), layer.bias, padding=1)

    def coarse(self) -> set[str]:
        """Names of the tensors stored at ``weight_bits`` (the rest at 8 bits)."""
        return {f"stem.{i}.weight" for i in range(len(self.stem))} | {
            f"blocks.{i}.weight" for i in range(len(self.blocks))
        }

    def bits_of(self, name: str) -> int:
        if name == BIG_STEM:
            return self.stem_bits
        return self.weight_bits if name in self.coarse() else BITS

    def _weight(self, layer: nn.Module) -> torch.Tensor:
        if not self.qat:
            return layer.weight
        return fake_quantize(layer.weight, self.stem_bits if layer is self.stem[-1] else self.weight_bits)

    def quantized(self) -> dict[str, Quantized]:
        """Every parameter as stored: integers and one scale each, in network order (the embedding's
        frequencies are a fixed buffer, not stored)."""
        out = {}
        for name, tensor in self.named_parameters():
            values = tensor.detach().cpu().numpy().reshape(-1).astype(np.float32)
            out[name] = quantize(values, np.zeros(values.size, np.int64), 1, "tensor", self.bits_of(name))
        return out

    def load_quantized(self, tensors: dict[str, Quantized]) -> None:
        """Write stored parameters into the network (the decoder's weights, exactly)."""
        with torch.no_grad():
            for name, tensor in self.named_parameters():
                tensor.copy_(torch.from_numpy(tensors[name].dequantize(np.zeros(1, np.int64))).view_as(tensor))

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {name: tuple(tensor.shape) for name, tensor in self.named_parameters()}
