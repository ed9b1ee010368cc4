"""Image models, one registered class per architecture (CompressAI's ``@register_model``).

Adding a model is one new file here: an :class:`ImageModel` subclass with its ``Params`` record,
decorated with ``@register_model("name")``. Every module of this package is imported below, so the
registry is complete without a list to keep. A codec file records each version's
:class:`Architecture` (model name and hyper-parameters) and rebuilds the model from this registry.
"""

from __future__ import annotations

import importlib
import pkgutil

from nrcodec.image.models.base import (
    MODELS,
    Architecture,
    Compressed,
    HyperParams,
    ImageModel,
    model_class,
    register_model,
)

DEFAULT_MODEL = "factorized"
"""The model ``train-image-codec`` trains."""

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def default_architecture() -> Architecture:
    """The default model with its default hyper-parameters (the shipped codec's)."""
    return Architecture(DEFAULT_MODEL, model_class(DEFAULT_MODEL).Params())


__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "Architecture",
    "Compressed",
    "HyperParams",
    "ImageModel",
    "default_architecture",
    "model_class",
    "register_model",
]
