"""Label-free weight sensitivities of earlier sessions, shared by EWC and ANPyC.

An earlier session's frames are not kept, only its model. Under a Gaussian model of the output the
Fisher information needs no targets: with ε ~ N(0, I) over the output pixels, the gradient
g = ∂(ε · f(θ)) / ∂θ / √P has E[g²] = Σ_p (∂f_p/∂θ)² / P, the diagonal of JᵀJ / P: the curvature
of the per-pixel MSE at the session's own output. Equivalently, g is the gradient of the MSE
against a target drawn from the model itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from nrcodec.video.model import Supernet
from nrcodec.video.strategies.base import Recall

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


def accumulate(
    model: Supernet,
    recalls: list[Recall],
    batch_size: int,
    per_batch: Callable[[Gradients], Gradients],
    seed: int,
) -> Gradients:
    """Σ over sessions of the mean over batches of ``per_batch(g)``."""
    generator = torch.Generator().manual_seed(seed)
    total = {n: torch.zeros_like(layer.weight) for n, layer in model.masked_layers().items()}
    for recall in recalls:
        batches = 0
        part = {n: torch.zeros_like(t) for n, t in total.items()}
        for grads in sampled_gradients(model, recall, batch_size, generator):
            for n, value in per_batch(grads).items():
                part[n] += value
            batches += 1
        for n in total:
            total[n] += part[n] / max(1, batches)
    return total
