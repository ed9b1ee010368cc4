"""Index embeddings that turn (session, frame) into the supernet's input vector.

Both take (session, frame indices, frame count) and give one vector per frame, so the supernet
does not care which one it has.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from nrcodec.nn.masked import MaskedLinear

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


class KRNetEmbedding(nn.Module):
    """KRNet's batched ID embedding (Zhang et al.): frames are grouped by ``group`` consecutive
    indices; each group has a learned static vector (its group ID) and the session one learned
    dynamic vector, cyclically shifted by the frame's index inside its group (the permutation A_n).
    Each goes through FC + GroupNorm + LeakyReLU; the two results are concatenated.

    The FC layers are shared (masked, so sessions own subnetworks of them); the vectors and the
    GroupNorm affines belong to the session. ``resize`` gives the static table the session's
    number of groups.
    """

    def __init__(self, id_dim: int, out_per_branch: int, group: int, norm_groups: int = 8) -> None:
        super().__init__()
        if group < 1 or id_dim < 1 or out_per_branch % norm_groups:
            raise ValueError("KRNet embedding: group and id_dim must be positive, width divisible by the norm groups")
        self.group = group
        self.id_dim = id_dim
        self.fc_static = MaskedLinear(id_dim, out_per_branch)
        self.fc_dynamic = MaskedLinear(id_dim, out_per_branch)
        self.norm_static = nn.GroupNorm(norm_groups, out_per_branch)
        self.norm_dynamic = nn.GroupNorm(norm_groups, out_per_branch)
        self.static_ids = nn.Parameter(torch.zeros(1, id_dim))
        self.dynamic_id = nn.Parameter(torch.zeros(id_dim))
        self.out_dim = 2 * out_per_branch

    def groups_for(self, num_frames: int) -> int:
        return max(1, math.ceil(num_frames / self.group))

    def resize(self, num_frames: int, generator: torch.Generator | None = None) -> None:
        """A fresh static table for a session of ``num_frames`` frames and a fresh dynamic vector."""
        device = self.dynamic_id.device
        static = torch.randn(self.groups_for(num_frames), self.id_dim, generator=generator)
        self.static_ids = nn.Parameter(static.to(device))
        self.dynamic_id = nn.Parameter(torch.randn(self.id_dim, generator=generator).to(device))

    def forward(self, session: int, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        frames = frames.to(self.dynamic_id.device)
        static = self.static_ids[(frames // self.group) % self.static_ids.shape[0]]
        shift = frames % self.group
        positions = (torch.arange(self.id_dim, device=frames.device)[None, :] - shift[:, None]) % self.id_dim
        dynamic = self.dynamic_id[positions]
        a = F.leaky_relu(self.norm_static(self.fc_static(static)), 0.2)
        b = F.leaky_relu(self.norm_dynamic(self.fc_dynamic(dynamic)), 0.2)
        return torch.cat([a, b], dim=1)
