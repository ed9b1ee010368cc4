"""Label-free weight sensitivities of earlier sessions, shared by EWC and ANPyC.

An earlier session's frames are not kept, only its model. Under a Gaussian model of the output the
Fisher information needs no targets: with ε ~ N(0, I) over the output pixels, the gradient
g = ∂(ε · f(θ)) / ∂θ / √P has E[g²] = Σ_p (∂f_p/∂θ)² / P, the diagonal of JᵀJ / P: the curvature
of the per-pixel MSE at the session's own output. Equivalently, g is the gradient of the MSE
against a target drawn from the model itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch

from nrcodec.video.supernet.model import Supernet
from nrcodec.video.supernet.strategies.base import Recall

Gradients = dict[str, torch.Tensor]


def sampled_gradients(
    model: Supernet, recall: Recall, batch_size: int, generator: torch.Generator
) -> Iterator[Gradients]:
    """One g per batch of the session's frames, per masked layer (weight-shaped)."""
    layers = model.masked_layers()
    for start in range(0, recall.frames, batch_size):
        idx = torch.arange(start, min(start + batch_size, recall.frames))
        out = recall.forward(model, idx)
        noise = torch.randn(out.shape, generator=generator).to(out.device)
        weights = [layer.weight for layer in layers.values()]
        grads = torch.autograd.grad((out * noise).sum() / out[0].numel() ** 0.5, weights)
        yield dict(zip(layers, grads))


@dataclass
class Moments:
    """Mean g and mean g² over one session's frames, per masked layer."""

    mean: Gradients
    square: Gradients


def session_moments(model: Supernet, recalls: list[Recall], batch_size: int, seed: int) -> list[Moments]:
    """First and second moments of g for each session in ``recalls``."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for recall in recalls:
        mean = {n: torch.zeros_like(layer.weight) for n, layer in model.masked_layers().items()}
        square = {n: torch.zeros_like(t) for n, t in mean.items()}
        batches = 0
        for grads in sampled_gradients(model, recall, batch_size, generator):
            for n, g in grads.items():
                mean[n] += g
                square[n] += g.square()
            batches += 1
        for n in mean:
            mean[n] /= max(1, batches)
            square[n] /= max(1, batches)
        out.append(Moments(mean, square))
    return out
