"""Per-image colour offsets: one constant per RGB channel that the encoder measures and signals
(bitstream format 3) and the decoder adds to the model's reconstruction.

Why: the learned models leave a per-image colour cast, a channel mean a few levels off that does
not shrink with rate (up to 1.5 dB on held-out photographs, notes/image.md). Three constants cost
at most a few bytes; the encoder keeps a channel's offset only where it lowers that channel's error
after rounding to 8 bits, so a stream never gets worse for carrying them.
"""

from __future__ import annotations

import torch

from nrcodec.format.image_bitstream import MAX_OFFSET, OFFSET_STEPS

Offsets = tuple[int, int, int]
UNIT = 255 * OFFSET_STEPS
"""Offsets are integers in 1/OFFSET_STEPS of a level: this many make the range 0..1."""


def apply_offsets(x_hat: torch.Tensor, offsets: Offsets) -> torch.Tensor:
    """``x_hat`` (1, 3, h, w) in 0..1 with each channel shifted by its offset."""
    if not any(offsets):
        return x_hat
    return x_hat + torch.tensor(offsets, dtype=x_hat.dtype).view(1, 3, 1, 1) / UNIT


def _channel_errors(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Per channel, the squared error of ``x_hat`` as the decoder writes it (clamped, 8 bits)."""
    levels = torch.round(x_hat.clamp(0, 1) * 255.0)
    return ((levels - x * 255.0) ** 2).mean(dim=(0, 2, 3))


def fit_offsets(x: torch.Tensor, x_hat: torch.Tensor) -> Offsets:
    """The offsets that move each channel's mean of the clamped reconstruction onto the source's,
    zero for a channel where that would not lower its 8-bit error."""
    drift = (x - x_hat.clamp(0, 1)).mean(dim=(0, 2, 3)) * UNIT
    offsets = tuple(int(v) for v in torch.round(drift).clamp(-MAX_OFFSET, MAX_OFFSET).tolist())
    better = _channel_errors(x, apply_offsets(x_hat, offsets)) < _channel_errors(x, x_hat)  # type: ignore[arg-type]
    return tuple(v if keep else 0 for v, keep in zip(offsets, better.tolist(), strict=True))  # type: ignore[return-value]
