"""Index embeddings that turn (session, frame) into the supernet's input vector.

Kept behind one small interface so that a learned embedding (KRNet's batched IDs) can replace
the sinusoidal one without touching the supernet.
"""

from __future__ import annotations

import math

import torch
from torch import nn

SESSION_SCALE = 1 / 64
"""Sessions are placed at p = s / 64, so the lowest frequency never aliases for 64 sessions."""


class SinusoidalEmbedding(nn.Module):
    """Γ(p) = [sin(b^i π p), cos(b^i π p)] for the frame (p = t / T) and for the session."""

    def __init__(self, values_per_index: int = 80, base: float = 1.25) -> None:
        super().__init__()
        if values_per_index % 2:
            raise ValueError("values_per_index must be even (sin and cos pairs)")
        freqs = torch.tensor([base**i * math.pi for i in range(values_per_index // 2)], dtype=torch.float64)
        self.register_buffer("freqs", freqs.float())
        self.out_dim = 2 * values_per_index

    def gamma(self, p: torch.Tensor) -> torch.Tensor:
        angles = p[:, None].float() * self.freqs[None, :]
        return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)

    def forward(self, session: int, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        t = frames.float() / max(num_frames, 1)
        s = torch.full_like(t, session * SESSION_SCALE)
        return torch.cat([self.gamma(s), self.gamma(t)], dim=1)
