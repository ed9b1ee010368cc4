"""The factorized-prior image codec of Ballé et al. 2018 as DANICE uses it.

Analysis: four 5x5 stride-2 convolutions with GDN between; synthesis mirrors it with transposed
convolutions and IGDN; ``width`` filters everywhere (64 for a base, 80 after one CAwF growth) and
as many latent channels, each with its own factorized density. Selective versions add a
channel-wise scale and shift after every convolution. Images are padded to a multiple of 16 by
edge replication and the reconstruction cropped back, so any size works.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nrcodec.format.latent_coding import MAX_ESCAPE_BITS
from nrcodec.nn.entropy_bottleneck import EntropyBottleneck
from nrcodec.nn.gdn import GDN

STRIDE = 16
KERNEL = 5
LAYERS = 4
SYMBOL_LIMIT = (1 << (MAX_ESCAPE_BITS - 1)) - 1


def latent_size(height: int, width: int) -> tuple[int, int]:
    return -(-height // STRIDE), -(-width // STRIDE)


class FactorizedPrior(nn.Module):
    """Analysis, synthesis and entropy model; ``forward`` is the training pass."""

    def __init__(self, width: int = 64, affine: bool = False) -> None:
        super().__init__()
        self.width = width
        self.affine = affine
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
        if affine:
            outs = [width] * LAYERS
            self.enc_alpha = nn.ParameterList([nn.Parameter(torch.ones(c)) for c in outs])
            self.enc_beta = nn.ParameterList([nn.Parameter(torch.zeros(c)) for c in outs])
            outs = [width] * (LAYERS - 1) + [3]
            self.dec_alpha = nn.ParameterList([nn.Parameter(torch.ones(c)) for c in outs])
            self.dec_beta = nn.ParameterList([nn.Parameter(torch.zeros(c)) for c in outs])
        self.entropy = EntropyBottleneck(width)

    def _scale(self, x: torch.Tensor, side: str, i: int) -> torch.Tensor:
        if not self.affine:
            return x
        alpha = getattr(self, f"{side}_alpha")[i]
        beta = getattr(self, f"{side}_beta")[i]
        return x * alpha[:, None, None] + beta[:, None, None]

    def analysis(self, x: torch.Tensor) -> torch.Tensor:
        """Latents of images in [0, 1] whose sides are multiples of 16."""
        for i, conv in enumerate(self.enc):
            x = self._scale(conv(x), "enc", i)
            if i < LAYERS - 1:
                x = self.enc_gdn[i](x)
        return x

    def synthesis(self, y: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.dec):
            y = self._scale(conv(y), "dec", i)
            if i < LAYERS - 1:
                y = self.dec_gdn[i](y)
        return y

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction, likelihoods): noisy latents for the rate, rounded ones (straight-through)
        for the reconstruction, so the decoder trains on what it will really receive."""
        y = self.analysis(x)
        _, likelihoods = self.entropy(y)
        y_hat = y + (torch.round(y) - y).detach()
        return self.synthesis(y_hat), likelihoods


def pad_image(x: torch.Tensor) -> torch.Tensor:
    """Replicate the right and bottom edges up to a multiple of 16."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % STRIDE, (-w) % STRIDE
    return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x


def quantize(y: torch.Tensor) -> torch.Tensor:
    """Integer latents as the entropy coder sees them (rounded, clamped to what escapes can carry)."""
    return torch.round(y).clamp(-SYMBOL_LIMIT, SYMBOL_LIMIT)


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (h, w, 3) array -> float (1, 3, h, w) in [0, 1]."""
    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (1, 3, h, w) -> uint8 (h, w, 3) numpy array."""
    return torch.round(x.clamp(0, 1) * 255.0)[0].permute(1, 2, 0).to(torch.uint8).numpy()
