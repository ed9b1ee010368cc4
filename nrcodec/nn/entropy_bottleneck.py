"""Factorized entropy model (Ballé et al. 2018, appendix 6.1): one learned density per channel.

Each channel's cumulative c(x) is a small monotone network (softplus matrices, tanh gates); the
likelihood of a value is c(x + 1/2) - c(x - 1/2), evaluated on noisy values in training and on
rounded ones at test. Learned quantiles (tails and median) bound the range of the integer tables
that :meth:`EntropyBottleneck.integer_tables` freezes for the entropy coder. ``compress`` and
``decompress`` code integer latents with the tables given to :meth:`EntropyBottleneck.use_tables`
(those a codec file stores), never with tables recomputed from the floats.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nrcodec.format.entropy import FrequencyTable
from nrcodec.format.latent_coding import MAX_ESCAPE_BITS, decode_channels, encode_channels
from nrcodec.nn.gdn import lower_bound

TABLE_PRECISION = 16
MAX_TABLE_ENTRIES = 2048
LIKELIHOOD_FLOOR = 1e-9
SYMBOL_LIMIT = (1 << (MAX_ESCAPE_BITS - 1)) - 1


def quantize(y: torch.Tensor) -> torch.Tensor:
    """Integer latents as the entropy coder sees them (rounded, clamped to what escapes can carry)."""
    return torch.round(y).clamp(-SYMBOL_LIMIT, SYMBOL_LIMIT)


class EntropyBottleneck(nn.Module):
    """Per-channel factorized density of latents of shape (batch, channels, h, w)."""

    def __init__(
        self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0, tail_mass: float = 1e-9
    ) -> None:
        super().__init__()
        self.channels = channels
        self.tail_mass = tail_mass
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))
        self.quantiles = nn.Parameter(torch.tensor([-init_scale, 0.0, init_scale]).repeat(channels, 1, 1))
        target = math.log(2 / tail_mass - 1)
        self.register_buffer("target", torch.tensor([-target, 0.0, target]), persistent=False)
        self.tables: list[FrequencyTable] | None = None

    def _logits_cumulative(self, x: torch.Tensor, detach: bool = False) -> torch.Tensor:
        """Logit of the cumulative at ``x`` of shape (channels, 1, n)."""
        for i, matrix in enumerate(self.matrices):
            m = matrix.detach() if detach else matrix
            b = self.biases[i].detach() if detach else self.biases[i]
            x = torch.matmul(F.softplus(m), x) + b
            if i < len(self.factors):
                f = self.factors[i].detach() if detach else self.factors[i]
                x = x + torch.tanh(f) * torch.tanh(x)
        return x

    def likelihood(self, values: torch.Tensor) -> torch.Tensor:
        """Probability mass of the unit interval around each value, floored to keep logs finite."""
        shape = values.shape
        x = values.transpose(0, 1).reshape(self.channels, 1, -1)
        lower = self._logits_cumulative(x - 0.5)
        upper = self._logits_cumulative(x + 0.5)
        sign = -torch.sign(lower + upper).detach()
        like = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        like = lower_bound(like, LIKELIHOOD_FLOOR)
        return like.reshape(self.channels, shape[0], *shape[2:]).transpose(0, 1)

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(values seen by the rate term, likelihoods): uniform noise in training, rounding at test."""
        y_tilde = y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else torch.round(y)
        return y_tilde, self.likelihood(y_tilde)

    def aux_loss(self) -> torch.Tensor:
        """Pulls the quantiles to the tails and median of each channel's density."""
        logits = self._logits_cumulative(self.quantiles, detach=True)
        return torch.abs(logits - self.target).sum()

    @property
    def medians(self) -> torch.Tensor:
        return self.quantiles[:, 0, 1].detach()

    @torch.no_grad()
    def integer_tables(self, precision: int = TABLE_PRECISION) -> list[FrequencyTable]:
        """Freeze each channel's pmf into integer counts summing to 2**precision.

        The table covers the integers between the learned tail quantiles (widened to include the
        median, capped at MAX_TABLE_ENTRIES); its last entry is the escape that stands for every
        value outside, weighted by the tail mass. Every entry gets at least one count, so any value
        stays codable."""
        q = self.quantiles.detach()[:, 0, :].double()
        medians = torch.round(q[:, 1])
        lows = torch.minimum(torch.floor(q[:, 0]), medians - 1)
        highs = torch.maximum(torch.ceil(q[:, 2]), medians + 1)
        half = MAX_TABLE_ENTRIES // 2 - 1
        lows = torch.maximum(lows, medians - half).long().tolist()
        highs = torch.minimum(highs, medians + half).long().tolist()
        width = max(h - lo + 1 for lo, h in zip(lows, highs, strict=True))
        grid = torch.tensor(lows, dtype=torch.float64)[:, None] + torch.arange(width, dtype=torch.float64)
        pmf = self._pmf(grid.float()).double().numpy()
        tables = []
        total = 1 << precision
        for channel, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
            n = hi - lo + 1
            probs = np.append(pmf[channel, :n], max(0.0, 1.0 - pmf[channel, :n].sum()))
            counts = np.maximum(1, np.floor(probs * (total - n - 1))).astype(np.int64)
            counts[int(np.argmax(counts[:-1]))] += total - int(counts.sum())
            tables.append(FrequencyTable(lo, tuple(int(c) for c in counts)))
        return tables

    def use_tables(self, tables: list[FrequencyTable]) -> None:
        """Code with these integer tables, one per channel, from now on."""
        if len(tables) != self.channels:
            raise ValueError(f"{len(tables)} tables for {self.channels} channels")
        self.tables = list(tables)

    def _frozen(self) -> list[FrequencyTable]:
        if self.tables is None:
            raise RuntimeError("no integer tables: call use_tables first")
        return self.tables

    def compress(self, y_hat: torch.Tensor) -> bytes:
        """Entropy-code quantized latents of shape (1, channels, h, w)."""
        symbols = y_hat[0].reshape(self.channels, -1).to(torch.int64).cpu().numpy()
        return encode_channels(symbols, self._frozen())

    def decompress(self, coded: bytes, height: int, width: int) -> torch.Tensor:
        """Latents of shape (1, channels, height, width) from :meth:`compress`'s bytes."""
        symbols = decode_channels(coded, self._frozen(), height * width, "bitstream latents")
        latents = torch.from_numpy(symbols).float().reshape(1, self.channels, height, width)
        return latents.to(self.quantiles.device)

    def _pmf(self, grid: torch.Tensor) -> torch.Tensor:
        x = grid[:, None, :]
        lower = self._logits_cumulative(x - 0.5)
        upper = self._logits_cumulative(x + 0.5)
        sign = -torch.sign(lower + upper)
        return torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))[:, 0, :]
