"""The mean-scale hyperprior with a space-channel context, registered as ``checkerboard``: the
checkerboard of He et al. 2021 within channel groups coded one after another (ELIC, He et al. 2022).

The latents are split into ``groups`` groups of channels (``group_size`` each, the rest in the last
group). Group by group, the *anchors* (row + column even) are coded first, under a mean and scale
that the hyper-synthesis' features and the groups decoded before give, then the other latents of
the group, which also see the decoded anchors around them (a 5x5 convolution over the anchors
alone). Every pass is a few convolutions over the whole latent grid (2 x ``groups`` passes), so
decoding stays parallel: no loop over latents. Each refinement is added to the hyperprior's own mean
and scale through output layers that start at zero, so a model built from a ``hyperprior``
version's weights codes exactly as that version until its context is trained; a codec file stores
such a version as the context layers alone on top of its parent (:mod:`nrcodec.image.context`).

Growing (CAwF) appends latent channels to the last group and hyper-features at the end of every
input, so a grown model starts as its parent. Bitstream of the latents: the byte lengths of all
passes but the last (uvarints), then each pass under the Gaussian tables of its scales; what the
means and scales are computed from runs in float64, as in ``hyperprior``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
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

SPATIAL_KERNEL = 5
CHANNEL_KERNEL = 3
CONTEXT_LAYERS = ("spatial.", "channel.", "anchor.", "anchor_out.", "other.", "other_out.")
"""Name prefixes of the parameters the context adds to a ``hyperprior`` model."""
MAX_GROUPS = 16
CONTEXT_AFFINE = tuple(
    f"{layer}.{g}.{head}affine."
    for layer, heads in (
        ("spatial", ("",)),
        ("channel", ("",)),
        ("anchor", ("",)),
        ("other", ("",)),
        ("anchor_out", ("0.", "1.")),
        ("other_out", ("0.", "1.")),
    )
    for g in range(MAX_GROUPS)
    for head in heads
)
"""The context layers' channel scales and shifts (``affine`` models), which a selective version trains."""


@dataclass(frozen=True)
class CheckerboardParams(HyperpriorParams):
    """A hyperprior's hyper-parameters and the context's: ``groups`` of ``group_size`` latent channels
    (the last takes the rest), ``spatial`` features of a group's anchors, ``channel`` features of the
    groups before it, ``hidden`` units of each refinement."""

    groups: int = 4
    group_size: int = 48
    spatial: int = 32
    channel: int = 64
    hidden: int = 256

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("group_size", "spatial", "channel", "hidden"):
            if not 1 <= getattr(self, name) <= MAX_WIDTH:
                raise ValueError(f"{name} {getattr(self, name)} is out of range")
        if not 1 <= self.groups <= MAX_GROUPS or (self.groups - 1) * self.group_size >= self.latents:
            raise ValueError(f"{self.groups} groups of {self.group_size} channels do not fit {self.latents} latents")

    @property
    def bounds(self) -> list[int]:
        """First channel of every group, and the channel count at the end."""
        return [i * self.group_size for i in range(self.groups)] + [self.latents]


def anchors(shape: torch.Size | tuple[int, ...], device: torch.device) -> torch.Tensor:
    """True where a latent of a (b, c, h, w) grid is an anchor (coded first in its group): row + column even."""
    rows = torch.arange(shape[-2], device=device)[:, None]
    cols = torch.arange(shape[-1], device=device)[None, :]
    return ((rows + cols) % 2 == 0).expand(shape)


def _refinement(cin: int, hidden: int, affine: bool) -> _Stack:
    return _Stack([nn.Conv2d(cin, hidden, 1), nn.Conv2d(hidden, hidden, 1)], [nn.LeakyReLU(), nn.LeakyReLU()], affine)


def _outputs(hidden: int, channels: int, affine: bool) -> nn.ModuleList:
    """A mean and a scale refinement per channel, both zero until trained."""
    heads = nn.ModuleList([_Stack([nn.Conv2d(hidden, channels, 1)], [], affine) for _ in range(2)])
    with torch.no_grad():
        for head in heads:
            head.layers[0].weight.zero_()
            head.layers[0].bias.zero_()
    return heads


Coder = Callable[[torch.Tensor, slice, torch.Tensor, torch.Tensor], torch.Tensor]
"""What a pass does with the means and scales of a group's ``channels``, of which it codes those
where the mask is true: returns their values in the coded domain (rounded symbols plus means: the
decoder's view), coding or decoding them on the way."""


@register_model("checkerboard")
class CheckerboardHyperprior(MeanScaleHyperprior):
    """A hyperprior whose latents are coded group by group, anchors first, each refined by what is
    decoded before it."""

    Params = CheckerboardParams
    params: CheckerboardParams
    SELECTIVE_ADDED = (*MeanScaleHyperprior.SELECTIVE_ADDED, *CONTEXT_AFFINE)
    SELECTIVE_TRAINED = (*MeanScaleHyperprior.SELECTIVE_TRAINED, *CONTEXT_AFFINE)

    def __init__(self, params: CheckerboardParams | None = None) -> None:
        params = params or CheckerboardParams()
        super().__init__(params)
        p, n, affine = params, params.channels, params.affine
        sizes = [b - a for a, b in zip(p.bounds, p.bounds[1:])]
        self.spatial = nn.ModuleList(
            [_Stack([nn.Conv2d(k, p.spatial, SPATIAL_KERNEL, padding=SPATIAL_KERNEL // 2)], [], affine) for k in sizes]
        )
        self.channel = nn.ModuleList(
            [
                _Stack([nn.Conv2d(p.bounds[g], p.channel, CHANNEL_KERNEL, padding=CHANNEL_KERNEL // 2)], [], affine)
                for g in range(1, p.groups)
            ]
        )
        before = [0] + [p.channel] * (p.groups - 1)
        self.anchor = nn.ModuleList([_refinement(c + n, p.hidden, affine) for c in before])
        self.anchor_out = nn.ModuleList([_outputs(p.hidden, k, affine) for k in sizes])
        self.other = nn.ModuleList([_refinement(p.spatial + c + n, p.hidden, affine) for c in before])
        self.other_out = nn.ModuleList([_outputs(p.hidden, k, affine) for k in sizes])

    def _context_modules(self) -> dict[str, nn.Module]:
        modules = (self.spatial, self.channel, self.anchor, self.anchor_out, self.other, self.other_out)
        return {name.rstrip("."): module for name, module in zip(CONTEXT_LAYERS, modules, strict=True)}

    def _float64_hyper(self) -> nn.ModuleDict:
        modules = super()._float64_hyper()
        for name, module in self._context_modules().items():
            modules[name] = copy.deepcopy(module).double()
        return modules

    def _run(
        self, modules: dict[str, nn.Module], hyper: Hyper, gain: torch.Tensor, coder: Coder
    ) -> tuple[torch.Tensor, ...]:
        """Every pass in order: the means and scales of its latents from what came before, then
        ``coder`` on them. Returns the decoded values, means and scales of all latents; ``gain`` is
        the level's per-channel gain (b, m, 1, 1), which the context divides out. Nothing is written
        in place, so training can differentiate through every pass."""
        mask = anchors(hyper.means.shape, hyper.means.device)
        base_scales = hyper.scales.clamp_min(gaussian.SCALE_MIN)
        bounds = self.params.bounds
        groups: list[tuple[torch.Tensor, ...]] = []
        for g in range(self.params.groups):
            ch = slice(bounds[g], bounds[g + 1])
            prior = [hyper.features]
            if g > 0:
                decoded = torch.cat([group[0] for group in groups], 1)
                prior.insert(0, modules["channel"][g - 1](decoded / gain[:, : ch.start]))
            coded = []
            for first, where in ((True, mask[:, ch]), (False, ~mask[:, ch])):
                if first:
                    hidden, heads = modules["anchor"][g](torch.cat(prior, 1)), modules["anchor_out"][g]
                else:
                    around = torch.where(where, 0.0, coded[0][0]) / gain[:, ch]
                    hidden = modules["other"][g](torch.cat([modules["spatial"][g](around), *prior], 1))
                    heads = modules["other_out"][g]
                mean = hyper.means[:, ch] + heads[0](hidden) * gain[:, ch]
                scale = base_scales[:, ch] * torch.exp(heads[1](hidden))
                coded.append((coder(where, ch, mean, scale), mean, scale))
            groups.append(tuple(torch.where(mask[:, ch], a, b) for a, b in zip(*coded)))
        return tuple(torch.cat(parts, 1) for parts in zip(*groups))

    def _latents(self, y: torch.Tensor, hyper: Hyper, levels: torch.Tensor, rounding: Rounding) -> Latents:
        def round_around(
            where: torch.Tensor, channels: slice, means: torch.Tensor, scales: torch.Tensor
        ) -> torch.Tensor:
            return means + rounding(y[:, channels] - means)

        gain = self.gain[levels][:, :, None, None]
        return Latents(*self._run(self._context_modules(), hyper, gain, round_around))

    def _code_latents(self, y: torch.Tensor, hyper: Hyper, level: int) -> tuple[bytes, Latents]:
        streams: list[bytes] = []
        tables = self._tables()

        def code(where: torch.Tensor, channels: slice, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
            coded = quantize(y[:, channels].double() - means)
            streams.append(gaussian.encode(coded[where], scales[where], tables))
            return coded + means

        latents = self._coded(hyper, level, code)
        return pack_uvarints([len(s) for s in streams[:-1]]) + b"".join(streams), latents

    def _decode_latents(self, data: bytes, hyper: Hyper, level: int) -> Latents:
        sizes, pos = unpack_uvarints(data, 2 * self.params.groups - 1, "bitstream latent passes")
        if sum(sizes) > len(data) - pos:
            raise FormatError(f"bitstream latent passes: {sum(sizes)} bytes announced, {len(data) - pos} present")
        ends = [pos + sum(sizes[: i + 1]) for i in range(len(sizes))] + [len(data)]
        parts = iter(data[start:end] for start, end in zip([pos, *ends[:-1]], ends))
        tables = self._tables()

        def decode(where: torch.Tensor, channels: slice, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
            symbols = torch.zeros_like(means)
            symbols[where] = gaussian.decode(next(parts), scales[where], tables, "bitstream latents")
            return symbols + means

        return self._coded(hyper, level, decode)

    def _coded(self, hyper: Hyper, level: int, coder: Coder) -> Latents:
        """Every pass through ``coder`` with float64 means and scales; the integer symbols and their
        means and scales (a value is its symbol plus its mean, so the symbols are recovered exactly)."""
        gain = self.gain[level].double()[None, :, None, None]
        values, means, scales = self._run(self._exact_modules(), hyper, gain, coder)
        return Latents(torch.round(values - means), means, scales)
