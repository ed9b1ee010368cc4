"""Image models, one registered class per architecture (CompressAI's ``@register_model``).

Adding a model is one new file here: an :class:`ImageModel` subclass with its ``Params`` record,
decorated with ``@register_model("name")``. Every module of this package is imported below, so the
registry is complete without a list to keep. A codec file records each version's
:class:`Architecture` (model name and hyper-parameters) and rebuilds the model from this registry.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from nrcodec.errors import UsageError
from nrcodec.image.models.base import (
    MODELS,
    Architecture,
    Compressed,
    HyperParams,
    ImageModel,
    model_class,
    register_model,
)

DEFAULT_MODEL = "hyperprior"
"""The model ``train-image-codec`` trains."""
LADDER = (0.0018, 0.0035, 0.0067, 0.013, 0.025, 0.0483)
"""λ of quality levels 1..6 of a model with levels (CompressAI's qualities 1-6 for MSE, the same
numbers on our 0..255 scale: their loss is λ·255²·MSE(0..1) + bpp)."""
SINGLE_RATE_LAMBDA = 0.01
"""λ of a single-rate model (the factorized codec's)."""

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def default_architecture() -> Architecture:
    """The default model with its default hyper-parameters (the shipped codec's)."""
    return Architecture(DEFAULT_MODEL, model_class(DEFAULT_MODEL).Params())


def default_ladder(model: str) -> tuple[float, ...]:
    """The λ of each quality level a model trains with by default."""
    return LADDER if model_class(model).Params().level_count > 1 else (SINGLE_RATE_LAMBDA,)


def architecture_for(model: str, levels: int) -> Architecture:
    """The model's default hyper-parameters with ``levels`` quality levels (a usage error when the
    model has a fixed number of them)."""
    params = model_class(model).Params()
    if params.level_count == levels:
        return Architecture(model, params)
    if not hasattr(params, "levels"):
        raise UsageError(f"the {model} model codes at {params.level_count} quality level(s), not {levels}")
    try:
        return Architecture(model, dataclasses.replace(params, levels=levels))
    except ValueError as exc:
        raise UsageError(f"the {model} model: {exc}") from None


__all__ = [
    "DEFAULT_MODEL",
    "LADDER",
    "MODELS",
    "Architecture",
    "Compressed",
    "HyperParams",
    "ImageModel",
    "architecture_for",
    "default_architecture",
    "default_ladder",
    "model_class",
    "register_model",
]
