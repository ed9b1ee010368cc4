"""Placing a video on a network's canvas and taking decoded frames back to the video's size.

A video is scaled to fit inside the canvas (never upscaled), centred, and the
loss only sees that region; decoded frames are cropped and scaled back to the source size so
that PSNR is measured where the user's pixels are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nrcodec.errors import FormatError


@dataclass(frozen=True)
class Placement:
    source: tuple[int, int]
    fit: tuple[int, int]
    offset: tuple[int, int]

    @classmethod
    def compute(cls, source: tuple[int, int], canvas: tuple[int, int]) -> Placement:
        (w, h), (cw, ch) = source, canvas
        scale = min(cw / w, ch / h, 1.0)
        fw = min(cw, max(1, round(w * scale)))
        fh = min(ch, max(1, round(h * scale)))
        return cls((w, h), (fw, fh), ((cw - fw) // 2, (ch - fh) // 2))

    def to_json(self) -> dict[str, Any]:
        return {"source": list(self.source), "fit": list(self.fit), "offset": list(self.offset)}

    @classmethod
    def from_json(cls, data: Any, canvas: tuple[int, int], where: str) -> Placement:
        try:
            (sw, sh), (fw, fh), (ox, oy) = (tuple(int(v) for v in data[k]) for k in ("source", "fit", "offset"))
        except (KeyError, TypeError, ValueError):
            raise FormatError(f"{where}: placement is malformed") from None
        if min(sw, sh, fw, fh) < 1 or min(ox, oy) < 0:
            raise FormatError(f"{where}: placement is malformed")
        if fw + ox > canvas[0] or fh + oy > canvas[1] or max(sw, sh) > 1 << 15:
            raise FormatError(f"{where}: placement does not fit the canvas")
        return cls((sw, sh), (fw, fh), (ox, oy))

    def crop(self, canvas_frames: torch.Tensor) -> torch.Tensor:
        """The valid region of (B, 3, H, W) canvas outputs."""
        (x, y), (fw, fh) = self.offset, self.fit
        return canvas_frames[:, :, y : y + fh, x : x + fw]


def to_training(frames: np.ndarray, placement: Placement) -> torch.Tensor:
    """uint8 (T, H, W, 3) source frames → float (T, 3, fit_h, fit_w) targets in [0, 1]."""
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255)
    if placement.fit != placement.source:
        x = F.interpolate(x, size=placement.fit[::-1], mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(0, 1)


def to_source(outputs: torch.Tensor, placement: Placement) -> np.ndarray:
    """Canvas outputs (B, 3, H, W) in [0, 1] → uint8 (B, h, w, 3) frames at the source size."""
    x = placement.crop(outputs).float()
    if placement.fit != placement.source:
        x = F.interpolate(x, size=placement.source[::-1], mode="bicubic", align_corners=False)
    return x.mul(255).round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
