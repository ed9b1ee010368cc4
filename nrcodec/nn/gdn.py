"""Generalized divisive normalization (Ballé et al. 2016), written here rather than taken from
CompressAI, which would pull torchvision and CUDA wheels into a CPU install.

``GDN(x)_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``; the inverse multiplies instead. ``beta``
and ``gamma`` are stored reparametrized (squared, lower-bounded) so that plain gradient steps keep
them positive; the stored tensors are the raw ones, so freezing a slice of them freezes the same
slice of the effective parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_PEDESTAL = 2.0**-36  # (2**-18)**2


class _LowerBound(torch.autograd.Function):
    """max(x, bound) whose gradient still flows where it would push x back above the bound."""

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor, bound: float) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.bound = bound  # type: ignore[attr-defined]
        return x.clamp_min(bound)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors  # type: ignore[attr-defined]
        passes = (x >= ctx.bound) | (grad < 0)  # type: ignore[attr-defined]
        return grad * passes.to(grad.dtype), None


def lower_bound(x: torch.Tensor, bound: float) -> torch.Tensor:
    return _LowerBound.apply(x, bound)


def _to_raw(value: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(value + _PEDESTAL)


def _from_raw(raw: torch.Tensor, minimum: float) -> torch.Tensor:
    return lower_bound(raw, (minimum + _PEDESTAL) ** 0.5) ** 2 - _PEDESTAL


class GDN(nn.Module):
    """GDN over ``channels``; ``inverse=True`` gives IGDN, used in the synthesis transform."""

    def __init__(self, channels: int, inverse: bool = False, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(_to_raw(torch.ones(channels)))
        self.gamma = nn.Parameter(_to_raw(gamma_init * torch.eye(channels)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.shape[1]
        beta = _from_raw(self.beta, 1e-6)
        gamma = _from_raw(self.gamma, 0.0).reshape(channels, channels, 1, 1)
        norm = torch.sqrt(F.conv2d(x * x, gamma, beta))
        return x * norm if self.inverse else x / norm
