"""The contract of an image model and the registry that names it in codec files.

A model is an ``nn.Module`` with typed hyper-parameters (``Params``, a frozen dataclass of JSON
scalars). It trains with ``forward`` (reconstruction, likelihoods of the noisy latents) and codes
with ``compress`` / ``decompress`` against the integer tables that its version stores in the codec
file (:meth:`ImageModel.use_tables`), never tables recomputed from floats. ``compress`` is two
halves, ``analyse`` (the continuous latents) and ``code`` (round and entropy-code them), so that an
encoder may change the latents in between (:mod:`nrcodec.image.refine`, descending ``relaxed``).
Its entropy model is ``entropy``, an :class:`EntropyBottleneck` whose quantiles train on their own
auxiliary loss.

The adaptation modes of :mod:`nrcodec.image.versions` ask a model three things: how its
hyper-parameters grow (``cawf``) or gain scales (``selective``), which parameters a selective
version trains, and how to keep grown channels silent until trained. A model that cannot be
adapted in a mode says so with an :class:`InputError`.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from nrcodec.errors import FormatError, InputError
from nrcodec.format.entropy import FrequencyTable
from nrcodec.nn.entropy_bottleneck import EntropyBottleneck

P = TypeVar("P", bound="HyperParams")
Rounding = Callable[[torch.Tensor], torch.Tensor]
"""A differentiable stand-in for the coder's rounding (what :meth:`ImageModel.relaxed` rounds with)."""
MT = TypeVar("MT", bound="ImageModel")

MODELS: dict[str, type[ImageModel]] = {}


def register_model(name: str) -> Callable[[type[MT]], type[MT]]:
    """Class decorator: make a model available under ``name``, the name codec files record."""

    def decorate(cls: type[MT]) -> type[MT]:
        if name in MODELS:
            raise ValueError(f"image model {name!r} is registered twice")
        cls.name = name
        MODELS[name] = cls
        return cls

    return decorate


def model_class(name: str) -> type[ImageModel]:
    """The model registered as ``name``; an unknown name is a FormatError naming it."""
    if name not in MODELS:
        raise FormatError(f"unknown image model {name!r} (this nrcodec knows {', '.join(sorted(MODELS))})")
    return MODELS[name]


def _fits(kind: object, value: object) -> bool:
    """Whether a JSON value fits a field of type ``kind``: an int is a fine float, a bool is no number."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(kind, type) and isinstance(value, kind)


@dataclass(frozen=True)
class HyperParams:
    """A model's hyper-parameters: a frozen dataclass of JSON scalars whose ``__post_init__`` raises
    ValueError on out-of-range values. Subclasses say how many latent channels (entropy tables) a
    model of theirs has, and how they change when a version is adapted."""

    @property
    def latent_channels(self) -> int:
        raise NotImplementedError

    @property
    def table_count(self) -> int:
        """Integer frequency tables a version of this model stores."""
        return self.latent_channels

    @property
    def level_count(self) -> int:
        """Quality levels one network of these hyper-parameters codes at (1: a single rate)."""
        return 1

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls: type[P], data: object, where: str) -> P:
        """Checked hyper-parameters from a codec file; every defect is a FormatError."""
        if not isinstance(data, dict):
            raise FormatError(f"{where}: hyper-parameters are malformed")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in data.items():
            if key not in fields:
                raise FormatError(f"{where}: unknown hyper-parameter {key!r}")
            if not _fits(hints[key], value):
                raise FormatError(f"{where}: hyper-parameter {key!r} is malformed ({value!r})")
        for key, spec in fields.items():
            required = spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING
            if required and key not in data:
                raise FormatError(f"{where}: hyper-parameter {key!r} is missing")
        try:
            return cls(**data)
        except ValueError as exc:
            raise FormatError(f"{where}: {exc}") from None

    def grown(self: P, extra: int) -> P:
        """These hyper-parameters with ``extra`` more filters per layer (CAwF)."""
        raise InputError(f"{type(self).__name__} cannot grow (no cawf adaptation for this model)")

    def with_scales(self: P) -> P:
        """These hyper-parameters with a trainable scale and shift per channel (selective)."""
        raise InputError(f"{type(self).__name__} has no channel scales (no selective adaptation for this model)")


@dataclass(frozen=True)
class Architecture:
    """What a codec file records to rebuild a version's model: its registered name and hyper-parameters."""

    model: str
    params: HyperParams

    def __str__(self) -> str:
        return f"{self.model} model ({', '.join(f'{k}={v}' for k, v in self.params.to_json().items())})"

    def to_json(self) -> dict[str, Any]:
        return {"model": self.model, "params": self.params.to_json()}

    @classmethod
    def from_json(cls, data: object, where: str) -> Architecture:
        if not isinstance(data, dict) or not isinstance(data.get("model"), str):
            raise FormatError(f"{where}: the architecture entry is malformed")
        try:
            model = model_class(data["model"])
        except FormatError as exc:
            raise FormatError(f"{where}: {exc}") from None
        return cls(data["model"], model.Params.from_json(data.get("params"), where))

    def build(self) -> ImageModel:
        """A freshly initialised model (draws from torch's global RNG, like any module)."""
        return model_class(self.model)(self.params)


@dataclass(frozen=True)
class Compressed:
    """What ``compress`` makes of an image: the coded latents, their shape, the rate the float
    model expects for them and the reconstruction the decoder will produce, cropped to the image."""

    coded: bytes
    latent_shape: tuple[int, int, int]
    estimated_bits: float
    x_hat: torch.Tensor


class ImageModel(nn.Module):
    """Base of the registered models (see the module docstring for the contract)."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[HyperParams]] = HyperParams
    stride: ClassVar[int] = 1
    """Training crops are multiples of this many pixels."""
    SELECTIVE_TRAINED: ClassVar[tuple[str, ...]] = ()
    """Name prefixes of the parameters a ``selective`` version trains and stores."""
    SELECTIVE_ADDED: ClassVar[tuple[str, ...]] = ()
    """Name prefixes of the parameters ``with_scales`` adds (a parent may lack them)."""
    STORE_DTYPE: ClassVar[torch.dtype] = torch.float32
    """How a codec file stores this model's parameters (they compute in float32 either way)."""

    entropy: EntropyBottleneck

    def __init__(self, params: HyperParams) -> None:
        super().__init__()
        self.params = params

    @property
    def architecture(self) -> Architecture:
        return Architecture(self.name, self.params)

    @property
    def levels(self) -> int:
        return self.params.level_count

    def integer_tables(self) -> list[FrequencyTable]:
        """The integer tables a version of this model stores, frozen from its densities."""
        return self.entropy.integer_tables()

    def use_tables(self, tables: list[FrequencyTable]) -> None:
        """Code with these integer tables (its version's, from the codec file) from now on."""
        self.entropy.use_tables(tables)

    def prepare_for_coding(self) -> None:
        """Called once before a loaded version codes images: a model may pick a faster layout."""

    def latent_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """(channels, height, width) of the latents of an image of this size."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, levels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Training pass on images (b, 3, h, w), sides multiples of ``stride``, each at its quality
        level (default 0): the reconstruction and the estimated bits of each image."""
        raise NotImplementedError

    @torch.inference_mode()
    def compress(self, x: torch.Tensor, level: int = 0) -> Compressed:
        """Code one image, float (1, 3, h, w) in [0, 1] of any size, at a quality level."""
        return self.code(self.analyse(x, level), x.shape[-2], x.shape[-1], level)

    def analyse(self, x: torch.Tensor, level: int = 0) -> tuple[torch.Tensor, ...]:
        """The continuous latents ``compress`` rounds, of an image of any size (padded as it pads):
        where encoder-side refinement starts."""
        raise NotImplementedError

    def relaxed(
        self, latents: tuple[torch.Tensor, ...], level: int, rounding: Rounding
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction of the padded image, bits) of ``latents`` with ``rounding`` in place of the
        coder's: the rate-distortion objective as a function of the latents, which refinement descends."""
        raise NotImplementedError

    def code(self, latents: tuple[torch.Tensor, ...], height: int, width: int, level: int = 0) -> Compressed:
        """Round and entropy-code latents shaped as ``analyse`` makes them (refined or not) of a
        ``height`` x ``width`` image: the decoder sees no difference."""
        raise NotImplementedError

    def decompress(self, coded: bytes, height: int, width: int, level: int = 0) -> torch.Tensor:
        """The (1, 3, height, width) reconstruction of coded latents of ``latent_shape(height, width)``."""
        raise NotImplementedError

    def silence_custom_inputs(self, parent: HyperParams) -> None:
        """After growing from ``parent``: zero what the new filters feed into the parent's channels."""
        raise InputError(f"the {self.name} model cannot grow (no cawf adaptation for it)")
