"""Encoder-side refinement: the latents of one image optimised for the shipped decoder at encode time.

Why: the analysis transform is amortised, one network's guess of the latents for every picture.
For the picture at hand, gradient descent on the model's own rate-distortion cost (bpp + λ·MSE on
0..255, λ of the quality level as the codec file stores it) from that guess finds latents that code
to fewer bits, less distortion or both (Yang et al. 2020, "Improving Inference for Neural Image
Compression"). Only the encoder changes: the refined latents are rounded and entropy-coded by the
model's ``code`` like any others, so every decoder of the codec file decodes them unchanged.

The coder rounds; the descent needs a gradient. Stochastic Gumbel annealing (:class:`SoftRound`,
Yang et al.) replaces rounding by a random soft choice between floor and ceiling that hardens as
the temperature falls. On a held-out photo it beat straight-through rounding and the training's
additive noise, both of which made the real cost worse at this budget (notes/image.md). The
hyper-latents are refined too, and ``code`` rounds the latents around the means of the final rounded
hyper-latents, as the decoder computes them. A picture whose refined latents code to a higher real
cost than the encoder's keeps the encoder's, so an effort never costs more than effort 0.
"""

from __future__ import annotations

import torch

from nrcodec.errors import UsageError
from nrcodec.image.models import Compressed, ImageModel

EFFORT_STEPS = (0, 100, 300)
"""Refinement steps of each effort (``encode-image --effort``); 0 is the encoder's latents as they come."""
LEARNING_RATE = 2e-2
"""Adam's step on the latents (whose rounding step is 1)."""
TEMPERATURES = (0.5, 0.2)
"""SGA's temperature at the first and the last step, geometric in between (0.2 beat 0.05 at the end)."""
SEED = 0
"""Seed of the Gumbel draws: the same image, codec and effort give the same bitstream (on one machine and
thread count; float sums may round otherwise elsewhere, and every such bitstream decodes anywhere)."""
EDGE = 1e-5
"""Keeps atanh finite where a latent sits on an integer."""


def steps_for(effort: int) -> int:
    """Refinement steps of an effort; anything but a listed effort is a usage error."""
    if isinstance(effort, bool) or not isinstance(effort, int) or not 0 <= effort < len(EFFORT_STEPS):
        raise UsageError(f"effort must be an integer from 0 to {len(EFFORT_STEPS) - 1}, not {effort!r}")
    return EFFORT_STEPS[effort]


class SoftRound:
    """Stochastic Gumbel annealing: ``floor(v) + w``, w a relaxed Bernoulli draw in (0, 1) that favours
    the nearer integer (logits -atanh(distance) / τ) and tends to a hard choice as τ falls."""

    def __init__(self, generator: torch.Generator) -> None:
        self.generator = generator
        self.temperature = TEMPERATURES[0]

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        below = torch.floor(v).detach()
        frac = v - below
        lean = torch.atanh(frac.clamp(EDGE, 1 - EDGE)) - torch.atanh((1 - frac).clamp(EDGE, 1 - EDGE))
        u = torch.rand(v.shape, generator=self.generator, dtype=v.dtype).clamp(EDGE, 1 - EDGE)
        noise = torch.log(u) - torch.log1p(-u)
        return below + torch.sigmoid((lean / self.temperature + noise) / self.temperature)


def temperature(step: int, steps: int) -> float:
    """SGA's temperature at ``step`` of ``steps``: from the first of TEMPERATURES to the last, geometrically."""
    first, last = TEMPERATURES
    return first * (last / first) ** (step / max(1, steps - 1))


def rd_cost(x: torch.Tensor, x_hat: torch.Tensor, bits: torch.Tensor | float, lmbda: float) -> torch.Tensor:
    """bpp + λ·MSE (0..255) of ``x_hat`` cropped to ``x`` and clamped as the decoder clamps: the loss
    the codec trained its level on."""
    height, width = x.shape[-2:]
    mse = torch.mean((x_hat[..., :height, :width].clamp(0, 1) - x) ** 2) * 255.0**2
    return bits / (height * width) + lmbda * mse


def refine_latents(
    model: ImageModel,
    x: torch.Tensor,
    latents: tuple[torch.Tensor, ...],
    level: int,
    lmbda: float,
    steps: int,
) -> tuple[torch.Tensor, ...]:
    """``latents`` after ``steps`` Adam steps on the relaxed rate-distortion cost of image ``x``."""
    params = [t.detach().clone().requires_grad_(True) for t in latents]
    optimizer = torch.optim.Adam(params, lr=LEARNING_RATE)
    rounding = SoftRound(torch.Generator().manual_seed(SEED))
    for step in range(steps):
        rounding.temperature = temperature(step, steps)
        x_hat, bits = model.relaxed(tuple(params), level, rounding)
        optimizer.zero_grad(set_to_none=True)
        rd_cost(x, x_hat, bits, lmbda).backward()
        optimizer.step()
    return tuple(p.detach() for p in params)


def coded_cost(x: torch.Tensor, result: Compressed, lmbda: float) -> float:
    """The real cost of a coded image: bits of its coded bytes, distortion of its 8-bit reconstruction."""
    pixels = torch.round(result.x_hat.clamp(0, 1) * 255.0) / 255.0
    return float(rd_cost(x, pixels, 8 * len(result.coded), lmbda))


def compress(model: ImageModel, x: torch.Tensor, level: int, lmbda: float, steps: int) -> Compressed:
    """``model.compress(x, level)`` with the latents refined for ``steps`` steps at ``lmbda``, unless
    the encoder's own code to a lower real cost."""
    with torch.no_grad():
        start = model.analyse(x, level)
    height, width = x.shape[-2:]
    refined = model.code(refine_latents(model, x, start, level, lmbda, steps), height, width, level)
    plain = model.code(start, height, width, level)
    return min((refined, plain), key=lambda result: coded_cost(x, result, lmbda))
