"""Published rate-distortion curves of the learned codecs nrcodec's image codec descends from, so that
``bench image`` can say how far the shipped codec is from what its model family reaches with full
training. They are measured on Kodak-24 (the 24 768x512 photographs learned-codec papers report on),
not on the images a bench codes: the comparison is like for like only when those are Kodak's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PublishedCurve:
    """A codec's mean RD curve as published: (bpp, RGB PSNR dB) points, the images, the source."""

    name: str
    images: str
    source: str
    points: tuple[tuple[float, float], ...]

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "images": self.images, "source": self.source, "points": self.points}


COMPRESSAI = (
    "CompressAI's published results (compressai/results/image/kodak/compressai-*.json, MSE models, qualities 1-6)"
)
PUBLISHED = (
    PublishedCurve(
        "mbt2018-mean",
        "Kodak-24",
        COMPRESSAI,
        ((0.124, 27.70), (0.198, 29.36), (0.307, 31.13), (0.461, 32.95), (0.662, 34.97), (0.914, 36.91)),
    ),
    PublishedCurve(
        "bmshj2018-hyperprior",
        "Kodak-24",
        COMPRESSAI,
        ((0.131, 27.58), (0.209, 29.20), (0.320, 30.97), (0.478, 32.84), (0.669, 34.53), (0.939, 36.74)),
    ),
)
"""Mean-scale hyperprior (Minnen et al. 2018 without context, nrcodec's ``hyperprior`` family) and the
scale hyperprior (Ballé et al. 2018), as quoted in issue 30."""
