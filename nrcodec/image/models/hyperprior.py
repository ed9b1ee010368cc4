"""The mean-scale hyperprior codec (Minnen et al. 2018 without context model), registered as ``hyperprior``,
with a quality ladder from one network (gain units, Cui et al. 2021).

Analysis and synthesis: four 5x5 stride-2 (transposed) convolutions with GDN / IGDN between,
``channels`` filters, ``latents`` latent channels. The hyper-analysis summarises the latents in
``channels`` hyper-latents at 1/64 of the image size, coded with a factorized density (the
:class:`EntropyBottleneck`); the hyper-synthesis predicts a mean and a scale per latent, which is
coded as ``round(y - mean)`` under the Gaussian table of its scale (:mod:`nrcodec.nn.gaussian_conditional`).

Quality levels: level ``l`` multiplies the latents by a learned per-channel gain before coding and
by an inverse gain after (and the hyper-latents likewise), so each level is its own quantisation
step per channel, trained for its own λ. All levels share every other weight, so a ladder of N
levels costs one network and 4·N·(latents + channels) numbers.

Images are padded to a multiple of 64 by edge replication and the reconstruction cropped back.
The hyper-synthesis runs in float64 when coding (see the module docstring of the Gaussian model).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from nrcodec.errors import FormatError
from nrcodec.format.entropy import FrequencyTable
from nrcodec.format.varint import pack_uvarints, unpack_uvarints
from nrcodec.image.models.base import Compressed, HyperParams, ImageModel, Rounding, register_model
from nrcodec.image.models.factorized import pad_image
from nrcodec.nn import gaussian_conditional as gaussian
from nrcodec.nn.entropy_bottleneck import EntropyBottleneck, quantize
from nrcodec.nn.gdn import GDN

STRIDE = 64
LATENT_STRIDE = 16
MAX_WIDTH = 512
MAX_LEVELS = 16
GAIN_SPAN = (0.5, 2.5)
"""Initial gains of the lowest and highest level (geometric in between); training moves them."""


@dataclass(frozen=True)
class HyperpriorParams(HyperParams):
    """``channels`` filters per layer and hyper-latents, ``latents`` latent channels, ``levels``
    quality levels; ``affine``: a trainable scale and shift per channel after every convolution."""

    channels: int = 128
    latents: int = 192
    levels: int = 6
    affine: bool = False

    def __post_init__(self) -> None:
        for name in ("channels", "latents"):
            if not 1 <= getattr(self, name) <= MAX_WIDTH:
                raise ValueError(f"{name} {getattr(self, name)} is out of range")
        if not 1 <= self.levels <= MAX_LEVELS:
            raise ValueError(f"levels {self.levels} is out of range (1..{MAX_LEVELS})")

    @property
    def latent_channels(self) -> int:
        return self.latents

    @property
    def table_count(self) -> int:
        return self.channels + len(gaussian.SCALES)

    @property
    def level_count(self) -> int:
        return self.levels

    def grown(self, extra: int) -> HyperpriorParams:
        return dataclasses.replace(self, channels=self.channels + extra, latents=self.latents + extra)

    def with_scales(self) -> HyperpriorParams:
        return dataclasses.replace(self, affine=True)


class Hyper(NamedTuple):
    """What the hyper-synthesis gives for the latents: its features and a mean and scale for each."""

    features: torch.Tensor
    means: torch.Tensor
    scales: torch.Tensor


class Latents(NamedTuple):
    """Latents as coded: their values (rounded around ``means``, or the integer symbols themselves where
    they are coded) and the mean and scale of each."""

    values: torch.Tensor
    means: torch.Tensor
    scales: torch.Tensor


def straight_through(x: torch.Tensor) -> torch.Tensor:
    """Rounding in the forward pass, identity in the backward pass (what the decoders train on)."""
    return x + (torch.round(x) - x).detach()


def _conv(cin: int, cout: int, kernel: int = 5, stride: int = 2) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2)


def _deconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class _Stack(nn.Module):
    """Layers applied in turn, each followed by its optional channel-wise scale and shift and its
    activation (none after the last)."""

    def __init__(self, layers: list[nn.Module], acts: list[nn.Module], affine: bool) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.acts = nn.ModuleList(acts)
        outs = [layer.weight.shape[1 if isinstance(layer, nn.ConvTranspose2d) else 0] for layer in layers]
        self.affine = nn.ParameterList([nn.Parameter(torch.ones(2, c)) for c in outs]) if affine else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if self.affine is not None:
                x = x * self.affine[i][0, :, None, None] + (self.affine[i][1, :, None, None] - 1)
            if i < len(self.acts):
                x = self.acts[i](x)
        return x


def _gains(levels: int, channels: int) -> nn.Parameter:
    low, high = GAIN_SPAN
    ladder = torch.logspace(math.log10(low), math.log10(high), levels) if levels > 1 else torch.ones(1)
    return nn.Parameter(ladder[:, None].repeat(1, channels))


@register_model("hyperprior")
class MeanScaleHyperprior(ImageModel):
    """Transforms, hyper-transforms, gains and the hyper-latents' density; ``forward`` trains."""

    Params = HyperpriorParams
    params: HyperpriorParams
    stride = STRIDE
    STORE_DTYPE = torch.float16
    SELECTIVE_ADDED = (
        "g_a.affine.",
        "g_s.affine.",
        "h_a.affine.",
        "h_s.affine.",
        "h_s_mean.affine.",
        "h_s_scale.affine.",
    )
    SELECTIVE_TRAINED = ("g_a.acts.", "g_s.acts.", *SELECTIVE_ADDED, "entropy.")

    def __init__(self, params: HyperpriorParams | None = None) -> None:
        params = params or HyperpriorParams()
        super().__init__(params)
        n, m, affine = params.channels, params.latents, params.affine
        self.g_a = _Stack([_conv(3, n), _conv(n, n), _conv(n, n), _conv(n, m)], [GDN(n) for _ in range(3)], affine)
        self.g_s = _Stack(
            [_deconv(m, n), _deconv(n, n), _deconv(n, n), _deconv(n, 3)],
            [GDN(n, inverse=True) for _ in range(3)],
            affine,
        )
        self.h_a = _Stack(
            [_conv(m, n, 3, 1), _conv(n, n), _conv(n, n)], [nn.LeakyReLU(inplace=True) for _ in range(2)], affine
        )
        self.h_s = _Stack([_deconv(n, n), _deconv(n, n)], [nn.LeakyReLU(inplace=True) for _ in range(2)], affine)
        self.h_s_mean = _Stack([_conv(n, m, 3, 1)], [], affine)
        self.h_s_scale = _Stack([_conv(n, m, 3, 1)], [], affine)
        self.gain = _gains(params.levels, m)
        self.inverse_gain = nn.Parameter(1 / self.gain.detach().clone())
        self.hyper_gain = _gains(params.levels, n)
        self.hyper_inverse_gain = nn.Parameter(1 / self.hyper_gain.detach().clone())
        self.entropy = EntropyBottleneck(n)
        self.gaussian_tables: list[FrequencyTable] | None = None
        self._exact: tuple[nn.ModuleDict, ...] = ()
        """The float64 copy of the hyper-synthesis that coding uses (a tuple: not a submodule)."""

    def _hyper(self, z_hat: torch.Tensor, levels: torch.Tensor) -> Hyper:
        """The hyper-synthesis' features, and the latents' means and scales, from dequantised hyper-latents."""
        h = self.h_s(z_hat * self.hyper_inverse_gain[levels][:, :, None, None])
        return Hyper(h, self.h_s_mean(h), self.h_s_scale(h))

    def _latents(self, y: torch.Tensor, hyper: Hyper, levels: torch.Tensor, rounding: Rounding) -> Latents:
        """What the decoder sees of latents ``y`` (rounded around their means by ``rounding``) and the
        means and scales each is coded under: a context model (``checkerboard``) changes them."""
        return Latents(hyper.means + rounding(y - hyper.means), hyper.means, hyper.scales)

    def _code_latents(self, y: torch.Tensor, hyper: Hyper, level: int) -> tuple[bytes, Latents]:
        """The coded latents (float64 means and scales, as decoded) and what they decode to."""
        symbols = quantize(y.double() - hyper.means)
        return gaussian.encode(symbols, hyper.scales, self._tables()), Latents(symbols, hyper.means, hyper.scales)

    def _decode_latents(self, data: bytes, hyper: Hyper, level: int) -> Latents:
        """The inverse of ``_code_latents``."""
        symbols = gaussian.decode(data, hyper.scales, self._tables(), "bitstream latents")
        return Latents(symbols, hyper.means, hyper.scales)

    def forward(self, x: torch.Tensor, levels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, bits per image): noisy values for the rate, rounded ones (straight-through)
        for what the decoders see."""
        if levels is None:
            levels = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        y = self.g_a(x) * self.gain[levels][:, :, None, None]
        z = self.h_a(y) * self.hyper_gain[levels][:, :, None, None]
        z_likelihood = self.entropy.likelihood(z + torch.empty_like(z).uniform_(-0.5, 0.5))
        latents = self._latents(y, self._hyper(z + (torch.round(z) - z).detach(), levels), levels, straight_through)
        noisy = y + torch.empty_like(y).uniform_(-0.5, 0.5)
        y_likelihood = gaussian.likelihood(noisy, latents.means, latents.scales)
        x_hat = self.g_s(latents.values * self.inverse_gain[levels][:, :, None, None])
        bits = -torch.log2(y_likelihood).sum((1, 2, 3)) - torch.log2(z_likelihood).sum((1, 2, 3))
        return x_hat, bits

    def integer_tables(self) -> list[FrequencyTable]:
        return self.entropy.integer_tables() + gaussian.integer_tables()

    def use_tables(self, tables: list[FrequencyTable]) -> None:
        self.entropy.use_tables(tables[: self.params.channels])
        self.gaussian_tables = tables[self.params.channels :]

    def prepare_for_coding(self) -> None:
        """Channels-last convolutions: 0.76 s instead of 1.10 s to encode a 768x512 picture and 0.41 s
        instead of 0.64 s to decode it on 2 cores, the same bytes (notes/image.md)."""
        self.to(memory_format=torch.channels_last)
        self._exact = (self._float64_hyper(),)

    def _float64_hyper(self) -> nn.ModuleDict:
        return copy.deepcopy(nn.ModuleDict({"h_s": self.h_s, "m": self.h_s_mean, "s": self.h_s_scale})).double()

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        side = STRIDE // LATENT_STRIDE
        return self.params.latents, -(-height // STRIDE) * side, -(-width // STRIDE) * side

    def _exact_modules(self) -> nn.ModuleDict:
        """The float64 copy of what decides a latent's table (``prepare_for_coding`` makes it once)."""
        return self._exact[0] if self._exact else self._float64_hyper()

    def _coding_hyper(self, z_hat: torch.Tensor, level: int) -> Hyper:
        """Features, means and scales as both ends compute them: the hyper-synthesis in float64 (copied
        once by ``prepare_for_coding``, which a codec file's models go through; afresh otherwise)."""
        exact = self._exact_modules()
        h = exact["h_s"](z_hat.double() * self.hyper_inverse_gain[level].double()[None, :, None, None])
        return Hyper(h, exact["m"](h), exact["s"](h).clamp_min(gaussian.SCALE_MIN))

    def _synthesise(self, symbols: torch.Tensor, means: torch.Tensor, level: int) -> torch.Tensor:
        y_hat = (symbols + means).float()
        return self.g_s(y_hat * self.inverse_gain[level][None, :, None, None])

    def _tables(self) -> list[FrequencyTable]:
        if self.gaussian_tables is None:
            raise RuntimeError("no integer tables: call use_tables first")
        return self.gaussian_tables

    def analyse(self, x: torch.Tensor, level: int = 0) -> tuple[torch.Tensor, ...]:
        """(latents, hyper-latents) after their gains, before rounding."""
        y = self.g_a(pad_image(x, STRIDE)) * self.gain[level][None, :, None, None]
        return y, self.h_a(y) * self.hyper_gain[level][None, :, None, None]

    def relaxed(
        self, latents: tuple[torch.Tensor, ...], level: int, rounding: Rounding
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The latents are rounded around their means, as ``code`` rounds them, and the means and scales
        come from the rounded hyper-latents, as the decoder computes them."""
        y, z = latents
        z_hat = rounding(z)
        levels = torch.full((y.shape[0],), level, dtype=torch.long, device=y.device)
        coded = self._latents(y, self._hyper(z_hat, levels), levels, rounding)
        x_hat = self.g_s(coded.values * self.inverse_gain[level][None, :, None, None])
        bits = -torch.log2(gaussian.likelihood(coded.values, coded.means, coded.scales)).sum()
        return x_hat, bits - torch.log2(self.entropy.likelihood(z_hat)).sum()

    @torch.inference_mode()
    def code(self, latents: tuple[torch.Tensor, ...], height: int, width: int, level: int = 0) -> Compressed:
        """The latents are coded around the means of the rounded hyper-latents (float64, as decoded)."""
        y, z = latents
        z_hat = quantize(z)
        y_bytes, coded = self._code_latents(y, self._coding_hyper(z_hat, level), level)
        z_bytes = self.entropy.compress(z_hat)
        bits = -torch.log2(self.entropy.likelihood(z_hat)).sum()
        bits = bits - torch.log2(gaussian.likelihood(coded.values, torch.zeros_like(coded.values), coded.scales)).sum()
        x_hat = self._synthesise(coded.values, coded.means, level)[..., :height, :width]
        data = pack_uvarints([len(z_bytes)]) + z_bytes + y_bytes
        return Compressed(data, tuple(coded.values.shape[1:]), float(bits), x_hat)  # type: ignore[arg-type]

    @torch.inference_mode()
    def decompress(self, coded: bytes, height: int, width: int, level: int = 0) -> torch.Tensor:
        _, lat_h, lat_w = self.latent_shape(height, width)
        (z_size,), pos = unpack_uvarints(coded, 1, "bitstream hyper-latents")
        if z_size > len(coded) - pos:
            raise FormatError(f"bitstream hyper-latents: {z_size} bytes announced, {len(coded) - pos} present")
        side = STRIDE // LATENT_STRIDE
        z_hat = self.entropy.decompress(coded[pos : pos + z_size], lat_h // side, lat_w // side)
        latents = self._decode_latents(coded[pos + z_size :], self._coding_hyper(z_hat, level), level)
        return self._synthesise(latents.values, latents.means, level)[..., :height, :width]

    @torch.no_grad()
    def silence_custom_inputs(self, parent: HyperpriorParams) -> None:  # type: ignore[override]
        """Custom channels must not reach the parent's channels until training says so."""
        with torch.device("meta"):
            shapes = {name: p.shape for name, p in type(self)(parent).named_parameters()}
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
                old = shapes[f"{name}.weight"]
                if isinstance(module, nn.ConvTranspose2d):
                    module.weight[old[0] :, : old[1]] = 0
                else:
                    module.weight[: old[0], old[1] :] = 0
