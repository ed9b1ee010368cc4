"""The settings of a supernet archive: its preset's network, the capacity each session selects,
its strategy and how weights are quantized. Fixed at creation; the archive header holds them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nrcodec.errors import UsageError
from nrcodec.format.quant import GRANULARITIES
from nrcodec.video.nerv import NervLayout
from nrcodec.video.records import LibraryConfig, malformed_settings

DEFAULT_PRESET = "small"
DEFAULT_CAPACITY = 0.3


@dataclass(frozen=True, kw_only=True)
class SupernetConfig(LibraryConfig):
    """A supernet archive's settings: ``architecture`` is its preset's network (with the chosen index
    embedding), ``capacity`` the fraction of each layer a session selects."""

    preset: str
    architecture: NervLayout
    capacity: float = DEFAULT_CAPACITY
    strategy: str = "pnr"
    quantization: str = "tensor"

    def __post_init__(self) -> None:
        if not 0 < self.capacity <= 1:
            raise UsageError(f"capacity must be in (0, 1], got {self.capacity}")
        if self.quantization not in GRANULARITIES:
            raise UsageError(f"quantization must be one of {', '.join(GRANULARITIES)}")

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "preset": self.preset,
            "architecture": self.architecture.to_json(),
            "capacity": self.capacity,
            "quantization": self.quantization,
        }

    def fixed(self) -> tuple[tuple[str, object], ...]:
        return (
            ("--preset", self.preset),
            ("--capacity", self.capacity),
            *super().fixed(),
            ("--embedding", self.architecture.embedding),
        )

    def describe(self) -> str:
        w, h = self.architecture.canvas
        return (
            f"preset {self.preset} ({w}x{h} canvas), {super().describe()}, embedding "
            f"{self.architecture.embedding}, capacity {self.capacity}"
        )

    def figures(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "canvas": list(self.architecture.canvas),
            "embedding": self.architecture.embedding,
            "capacity": self.capacity,
            "quantization": self.quantization,
        }

    @classmethod
    def from_json(cls, data: Any) -> SupernetConfig:
        return malformed_settings(
            lambda: cls(
                preset=str(data["preset"]),
                architecture=NervLayout.from_json(data["architecture"]),
                capacity=float(data["capacity"]),
                strategy=str(data["strategy"]),
                strategy_options=dict(data["strategy_options"]),
                quantization=str(data["quantization"]),
                seed=int(data["seed"]),
            )
        )
