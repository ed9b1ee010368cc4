"""The mean-scale hyperprior with a checkerboard context (He et al. 2021), registered as ``checkerboard``.

The latents are coded in two passes over a checkerboard: the *anchors* (row + column even) exactly
as the ``hyperprior`` model codes them, then the others under a mean and scale refined from the
decoded anchors around them (a 5x5 convolution over the anchors alone) and the hyper-synthesis'
features. Each pass is a few convolutions over the whole latent grid, so decoding stays parallel: no
loop over latents. The refinement's output layers start at zero, so a model built from a
``hyperprior`` version's weights codes exactly as that version until its context is trained; a
codec file stores such a version as the context layers alone on top of its parent
(``release/train_context_version.py``, notes/image.md).

Bitstream of the latents: ``uvarint(anchor bytes) | anchors | others``, each under the Gaussian tables
of its scale; what the means and scales are computed from runs in float64, as in ``hyperprior``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from nrcodec.errors import FormatError
from nrcodec.format.varint import pack_uvarints, unpack_uvarints
from nrcodec.image.models.base import Rounding, register_model
from nrcodec.image.models.hyperprior import (
    MAX_WIDTH,
    Hyper,
    HyperpriorParams,
    Latents,
    MeanScaleHyperprior,
    _Stack,
)
from nrcodec.nn import gaussian_conditional as gaussian
from nrcodec.nn.entropy_bottleneck import quantize

CONTEXT_KERNEL = 5
CONTEXT_LAYERS = ("context.", "refine.", "refine_mean.", "refine_scale.")
"""Name prefixes of the parameters the context adds to a ``hyperprior`` model."""


@dataclass(frozen=True)
class CheckerboardParams(HyperpriorParams):
    """A hyperprior's hyper-parameters and the context's widths: ``context`` features of the anchors,
    ``hidden`` units of the network that turns them and the hyper-features into a refinement."""

    context: int = 128
    hidden: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("context", "hidden"):
            if not 1 <= getattr(self, name) <= MAX_WIDTH:
                raise ValueError(f"{name} {getattr(self, name)} is out of range")


def anchors(shape: torch.Size | tuple[int, ...], device: torch.device) -> torch.Tensor:
    """True where a latent of a (b, c, h, w) grid is an anchor (coded first): row + column even."""
    rows = torch.arange(shape[-2], device=device)[:, None]
    cols = torch.arange(shape[-1], device=device)[None, :]
    return ((rows + cols) % 2 == 0).expand(shape)


@register_model("checkerboard")
class CheckerboardHyperprior(MeanScaleHyperprior):
    """A hyperprior whose non-anchor latents are coded under means and scales refined by their
    decoded anchor neighbours."""

    Params = CheckerboardParams
    params: CheckerboardParams
    SELECTIVE_ADDED = (*MeanScaleHyperprior.SELECTIVE_ADDED, *(f"{p}affine." for p in CONTEXT_LAYERS))
    SELECTIVE_TRAINED = (*MeanScaleHyperprior.SELECTIVE_TRAINED, *(f"{p}affine." for p in CONTEXT_LAYERS))

    def __init__(self, params: CheckerboardParams | None = None) -> None:
        params = params or CheckerboardParams()
        super().__init__(params)
        n, m, c, hidden, affine = params.channels, params.latents, params.context, params.hidden, params.affine
        pad = CONTEXT_KERNEL // 2
        self.context = _Stack([nn.Conv2d(m, c, CONTEXT_KERNEL, padding=pad)], [], affine)
        self.refine = _Stack(
            [nn.Conv2d(c + n, hidden, 1), nn.Conv2d(hidden, hidden, 1)],
            [nn.LeakyReLU(inplace=True), nn.LeakyReLU(inplace=True)],
            affine,
        )
        self.refine_mean = _Stack([nn.Conv2d(hidden, m, 1)], [], affine)
        self.refine_scale = _Stack([nn.Conv2d(hidden, m, 1)], [], affine)
        with torch.no_grad():
            for head in (self.refine_mean, self.refine_scale):
                head.layers[0].weight.zero_()
                head.layers[0].bias.zero_()

    def _refined(
        self, modules: dict[str, nn.Module], anchor_values: torch.Tensor, hyper: Hyper, gain: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Means and scales of the non-anchors from the anchors' decoded values (zero elsewhere, in the
        coded domain: ``gain`` is the level's per-channel gain, (b, m, 1, 1)) and the hyper-features."""
        features = modules["context"](anchor_values / gain)
        hidden = modules["refine"](torch.cat([features, hyper.features], 1))
        means = hyper.means + modules["refine_mean"](hidden) * gain
        scales = hyper.scales.clamp_min(gaussian.SCALE_MIN) * torch.exp(modules["refine_scale"](hidden))
        return means, scales

    def _float64_hyper(self) -> nn.ModuleDict:
        modules = super()._float64_hyper()
        for name in ("context", "refine", "refine_mean", "refine_scale"):
            modules[name] = copy.deepcopy(getattr(self, name)).double()
        return modules

    def _latents(self, y: torch.Tensor, hyper: Hyper, levels: torch.Tensor, rounding: Rounding) -> Latents:
        first = super()._latents(y, hyper, levels, rounding)
        mask = anchors(y.shape, y.device)
        gain = self.gain[levels][:, :, None, None]
        modules = {name: getattr(self, name) for name in ("context", "refine", "refine_mean", "refine_scale")}
        means, scales = self._refined(modules, first.values * mask, hyper, gain)
        values = means + rounding(y - means)
        return Latents(
            torch.where(mask, first.values, values),
            torch.where(mask, first.means, means),
            torch.where(mask, first.scales, scales),
        )

    def _second_pass(self, anchor_symbols: torch.Tensor, hyper: Hyper, level: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Float64 means and scales of every latent once the anchors' symbols are known."""
        mask = anchors(anchor_symbols.shape, anchor_symbols.device)
        gain = self.gain[level].double()[None, :, None, None]
        means, scales = self._refined(self._exact_modules(), (anchor_symbols + hyper.means) * mask, hyper, gain)
        return torch.where(mask, hyper.means, means), torch.where(mask, hyper.scales, scales)

    def _code_latents(self, y: torch.Tensor, hyper: Hyper, level: int) -> tuple[bytes, Latents]:
        mask = anchors(y.shape, y.device)
        first = quantize(y.double() - hyper.means) * mask
        means, scales = self._second_pass(first, hyper, level)
        symbols = quantize(y.double() - means)
        tables = self._tables()
        head = gaussian.encode(symbols[mask], scales[mask], tables)
        tail = gaussian.encode(symbols[~mask], scales[~mask], tables)
        return pack_uvarints([len(head)]) + head + tail, Latents(symbols, means, scales)

    def _decode_latents(self, data: bytes, hyper: Hyper, level: int) -> Latents:
        (size,), pos = unpack_uvarints(data, 1, "bitstream anchor latents")
        if size > len(data) - pos:
            raise FormatError(f"bitstream anchor latents: {size} bytes announced, {len(data) - pos} present")
        mask = anchors(hyper.means.shape, hyper.means.device)
        tables = self._tables()
        symbols = torch.zeros_like(hyper.means)
        symbols[mask] = gaussian.decode(data[pos : pos + size], hyper.scales[mask], tables, "bitstream anchor latents")
        means, scales = self._second_pass(symbols, hyper, level)
        symbols[~mask] = gaussian.decode(data[pos + size :], scales[~mask], tables, "bitstream latents")
        return Latents(symbols, means, scales)
