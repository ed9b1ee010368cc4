"""How an image codec trains: the record that the image trainer, the CLI and a codec file's versions share."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from nrcodec.runtime import TrainSettings, check

ADAPT_STEPS = 500
"""Steps of an adaptation, unless given."""
ADAPT_LR = 1e-4
"""Peak learning rate of an adaptation, unless given."""


@dataclass(frozen=True)
class CodecSettings(TrainSettings):
    """An image codec runs ``steps`` batches of random ``crop``-pixel crops minimising R + ``lmbda``·D,
    its entropy model's quantiles learning at ``aux_lr``; a codec with quality levels trains level i
    at λ = ``ladder[i]`` (each crop draws its level), and ``lmbda`` is then its lowest λ."""

    steps: int = 2000
    lmbda: float = 0.01
    crop: int = 256
    aux_lr: float = 1e-3
    ladder: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        check(
            (self.steps >= 0, "steps must be >= 0"),
            (math.isfinite(self.lmbda) and self.lmbda > 0, "lambda must be > 0"),
            (self.crop >= 1, "crop must be >= 1 pixel"),
            (math.isfinite(self.aux_lr) and self.aux_lr > 0, "aux learning rate must be > 0"),
            (all(math.isfinite(v) and v > 0 for v in self.ladder), "every lambda of the ladder must be > 0"),
        )

    @property
    def lambdas(self) -> tuple[float, ...]:
        """The λ of each quality level, lowest first: the ladder, or ``lmbda`` alone for a single-rate codec."""
        return self.ladder or (self.lmbda,)

    def with_lambdas(self, lambdas: tuple[float, ...]) -> CodecSettings:
        """These settings for a codec whose levels train at ``lambdas`` (lowest first): ``lmbda`` is the
        lowest, and ``ladder`` the whole when there is more than one level."""
        check((len(lambdas) >= 1, "a codec needs at least one lambda"))
        return replace(self, lmbda=lambdas[0], ladder=lambdas if len(lambdas) > 1 else ())

    @classmethod
    def adapting(cls, info: Mapping[str, Any], **overrides: Any) -> CodecSettings:
        """Settings that keep a stored version's rate-distortion trade-offs (``info``: what the
        version stores about its training): its λ, or its whole ladder; ``ADAPT_STEPS`` steps at
        ``ADAPT_LR`` unless ``overrides`` say otherwise."""
        value = info.get("lambda")
        lmbda = float(value) if isinstance(value, int | float) else cls.lmbda
        ladder = info.get("ladder")
        rungs = tuple(float(v) for v in ladder) if isinstance(ladder, list) else ()
        return cls(**{"lmbda": lmbda, "ladder": rungs, "lr": ADAPT_LR, "steps": ADAPT_STEPS, **overrides})

    def codec_json(self, images: int) -> dict[str, Any]:
        """What an image codec version stores about its training (keys fixed by the codec file)."""
        return {
            "lambda": self.lmbda,
            "images": images,
            "steps": self.steps,
            "crop": self.crop,
            "batch": self.batch_size,
            "lr": self.lr,
            "seed": self.seed,
            "loss": "bpp + lambda * MSE(0..255)",
            **({"ladder": list(self.ladder)} if self.ladder else {}),
        }
