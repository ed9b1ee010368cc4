"""The factorized-prior image codec of Ballé et al. 2018 as DANICE uses it, registered as ``factorized``.

Analysis: four 5x5 stride-2 convolutions with GDN between; synthesis mirrors it with transposed
convolutions and IGDN; ``width`` filters everywhere (64 for a base, 80 after one CAwF growth) and
as many latent channels, each with its own factorized density. With ``affine`` (selective versions)
a channel-wise scale and shift follows every convolution. Images are padded to a multiple of 16 by
edge replication and the reconstruction cropped back, so any size works.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nrcodec.image.models.base import Compressed, HyperParams, ImageModel, Rounding, register_model
from nrcodec.nn.entropy_bottleneck import EntropyBottleneck, quantize
from nrcodec.nn.gdn import GDN

STRIDE = 16
KERNEL = 5
LAYERS = 4
MAX_WIDTH = 512
SCALES = ("enc_alpha.", "enc_beta.", "dec_alpha.", "dec_beta.")


@dataclass(frozen=True)
class FactorizedParams(HyperParams):
    """``width`` filters in every layer (and latent channels); ``affine``: channel scales and shifts."""

    width: int = 64
    affine: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.width <= MAX_WIDTH:
            raise ValueError(f"width {self.width} is out of range")

    @property
    def latent_channels(self) -> int:
        return self.width

    def grown(self, extra: int) -> FactorizedParams:
        return dataclasses.replace(self, width=self.width + extra)

    def with_scales(self) -> FactorizedParams:
        return dataclasses.replace(self, affine=True)


def pad_image(x: torch.Tensor, multiple: int = STRIDE) -> torch.Tensor:
    """Replicate the right and bottom edges up to a multiple of ``multiple`` (16: the latent grid)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


@register_model("factorized")
class FactorizedPrior(ImageModel):
    """Analysis, synthesis and entropy model; ``forward`` is the training pass."""

    Params = FactorizedParams
    params: FactorizedParams
    stride = STRIDE
    SELECTIVE_TRAINED = ("enc_gdn.", "dec_gdn.", *SCALES, "entropy.")
    SELECTIVE_ADDED = SCALES

    def __init__(self, params: FactorizedParams | None = None) -> None:
        params = params or FactorizedParams()
        super().__init__(params)
        width = params.width
        conv = dict(kernel_size=KERNEL, stride=2, padding=KERNEL // 2)
        self.enc = nn.ModuleList([nn.Conv2d(3 if i == 0 else width, width, **conv) for i in range(LAYERS)])
        self.enc_gdn = nn.ModuleList([GDN(width) for _ in range(LAYERS - 1)])
        self.dec = nn.ModuleList(
            [
                nn.ConvTranspose2d(width, 3 if i == LAYERS - 1 else width, output_padding=1, **conv)
                for i in range(LAYERS)
            ]
        )
        self.dec_gdn = nn.ModuleList([GDN(width, inverse=True) for _ in range(LAYERS - 1)])
        if params.affine:
            outs = [width] * LAYERS
            self.enc_alpha = nn.ParameterList([nn.Parameter(torch.ones(c)) for c in outs])
            self.enc_beta = nn.ParameterList([nn.Parameter(torch.zeros(c)) for c in outs])
            outs = [width] * (LAYERS - 1) + [3]
            self.dec_alpha = nn.ParameterList([nn.Parameter(torch.ones(c)) for c in outs])
            self.dec_beta = nn.ParameterList([nn.Parameter(torch.zeros(c)) for c in outs])
        self.entropy = EntropyBottleneck(width)

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """Latents of images in [0, 1] whose sides are multiples of 16."""
        for i, conv in enumerate(self.enc):
            x = conv(x)
            if self.params.affine:
                x = x * self.enc_alpha[i][:, None, None] + self.enc_beta[i][:, None, None]
            if i < LAYERS - 1:
                x = self.enc_gdn[i](x)
        return x

    def synthesis(self, y: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.dec):
            y = conv(y)
            if self.params.affine:
                y = y * self.dec_alpha[i][:, None, None] + self.dec_beta[i][:, None, None]
            if i < LAYERS - 1:
                y = self.dec_gdn[i](y)
        return y

    def forward(self, x: torch.Tensor, levels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, bits per image): noisy latents for the rate, rounded ones (straight-through)
        for the reconstruction, so the decoder trains on what it will really receive. One level."""
        y = self.analysis(x)
        _, likelihoods = self.entropy(y)
        y_hat = y + (torch.round(y) - y).detach()
        return self.synthesis(y_hat), -torch.log2(likelihoods).sum((1, 2, 3))

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        return self.params.width, -(-height // STRIDE), -(-width // STRIDE)

    def analyse(self, x: torch.Tensor, level: int = 0) -> tuple[torch.Tensor, ...]:
        return (self.analysis(pad_image(x)),)

    def relaxed(
        self, latents: tuple[torch.Tensor, ...], level: int, rounding: Rounding
    ) -> tuple[torch.Tensor, torch.Tensor]:
        y_hat = rounding(latents[0])
        return self.synthesis(y_hat), -torch.log2(self.entropy.likelihood(y_hat)).sum()

    @torch.inference_mode()
    def code(self, latents: tuple[torch.Tensor, ...], height: int, width: int, level: int = 0) -> Compressed:
        y_hat = quantize(latents[0])
        bits = float(-torch.log2(self.entropy.likelihood(y_hat)).sum())
        x_hat = self.synthesis(y_hat)[..., :height, :width]
        channels, lat_h, lat_w = y_hat.shape[1:]
        return Compressed(self.entropy.compress(y_hat), (channels, lat_h, lat_w), bits, x_hat)

    @torch.inference_mode()
    def decompress(self, coded: bytes, height: int, width: int, level: int = 0) -> torch.Tensor:
        _, lat_h, lat_w = self.latent_shape(height, width)
        return self.synthesis(self.entropy.decompress(coded, lat_h, lat_w))[..., :height, :width]

    @torch.no_grad()
    def silence_custom_inputs(self, parent: FactorizedParams) -> None:  # type: ignore[override]
        """Custom channels must not reach the parent's channels until training says so."""
        for i in range(1, LAYERS):
            self.enc[i].weight[: parent.width, parent.width :] = 0
        for i in range(LAYERS):
            out = self.dec[i].weight.shape[1] if i == LAYERS - 1 else parent.width
            self.dec[i].weight[parent.width :, :out] = 0
