"""Typed records of the video half: archive settings, session metadata and what commands report.

Each has one ``to_json`` whose keys are the documented ones (docs/architecture.md); scripts depend
on them, so keys are added, never renamed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nrcodec.errors import FormatError, NrcodecError
from nrcodec.video.frames import Placement


def bits_per_pixel(nbytes: int, width: int, height: int, frames: int) -> float:
    """bpp of a session from real bytes: the one place it is computed."""
    return nbytes * 8 / (width * height * frames)


@dataclass(frozen=True)
class LibraryConfig:
    """Archive-wide settings every library kind has, fixed when the archive is created; its header
    holds them. A kind with more settings extends it (the supernet's ``SupernetConfig``)."""

    strategy: str = "grow"
    strategy_options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "strategy_options": self.strategy_options, "seed": self.seed}

    def fixed(self) -> tuple[tuple[str, object], ...]:
        """The add-video options that set these settings, with their values (which cannot change)."""
        return (("--strategy", self.strategy),)

    def describe(self) -> str:
        """The settings in words, for ``info``."""
        opts = ", ".join(f"{k}={v}" for k, v in self.strategy_options.items())
        return f"strategy {self.strategy} ({opts})" if opts else f"strategy {self.strategy}"

    def figures(self) -> dict[str, Any]:
        """The supernet's settings as ``info`` reports them: none for a library without one."""
        return {"preset": None, "canvas": None, "embedding": None, "capacity": None, "quantization": None}

    @classmethod
    def from_json(cls, data: Any) -> LibraryConfig:
        """The settings in an archive header; other keys (a grow archive written before this record
        had its own, which held a supernet's settings) are ignored."""
        return malformed_settings(lambda: cls(str(data["strategy"]), dict(data["strategy_options"]), int(data["seed"])))


Read = TypeVar("Read")


def malformed_settings(read: Callable[[], Read]) -> Read:
    """``read()``, with what a malformed header raises as one FormatError."""
    try:
        return read()
    except FormatError as exc:
        raise FormatError(f"archive header: {exc}") from None
    except (KeyError, TypeError, ValueError, NrcodecError) as exc:
        raise FormatError(f"archive header: settings are malformed ({exc})") from None


SESSION_KEYS = (
    "session",
    "name",
    "frames",
    "fps",
    "placement",
    "training",
    "seconds",
    "device",
    "new_weights",
    "reused_weights",
    "layers",
    "psnr",
    "ms_ssim",
    "source",
)


@dataclass
class SessionInfo:
    """A session's metadata as stored in its chunk. ``extra`` holds what the strategy keeps for
    later sessions (e.g. SpaceNet's reserved neurons) under its own keys."""

    session: int
    name: str
    frames: int
    fps: float
    placement: Placement
    training: dict[str, Any]
    seconds: float
    device: str
    new_weights: int
    reused_weights: int
    layers: dict[str, dict[str, int]]
    psnr: float | None = None
    ms_ssim: float | None = None
    source: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {key: getattr(self, key) for key in SESSION_KEYS if key != "source" or self.source is not None}
        data["placement"] = self.placement.to_json()
        return {**self.extra, **data}

    @classmethod
    def from_json(cls, meta: dict[str, Any], canvas: tuple[int, int], where: str) -> SessionInfo:
        """Validate what a decoder relies on; other figures are kept as found."""
        placement = Placement.from_json(meta.get("placement"), canvas, where)
        fps = meta.get("fps")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1e4:
            raise FormatError(f"{where}: frame rate is missing or malformed")
        try:
            fields = {key: meta.get(key) for key in SESSION_KEYS if key != "placement"}
            extra = {key: value for key, value in meta.items() if key not in SESSION_KEYS}
            return cls(**fields, placement=placement, extra=extra)
        except TypeError as exc:
            raise FormatError(f"{where}: metadata is malformed ({exc})") from None

    @property
    def width(self) -> int:
        return self.placement.source[0]

    @property
    def height(self) -> int:
        return self.placement.source[1]

    def bpp(self, nbytes: int) -> float:
        return bits_per_pixel(nbytes, self.width, self.height, self.frames)

    def figures(self, nbytes: int) -> dict[str, Any]:
        """The keys every per-session report shares, with bytes and bpp from a real chunk size."""
        return {
            "session": self.session,
            "name": self.name,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "psnr": self.psnr,
            "ms_ssim": self.ms_ssim,
            "bytes": nbytes,
            "bpp": self.bpp(nbytes),
            "new_weights": self.new_weights,
            "reused_weights": self.reused_weights,
        }


@dataclass(frozen=True)
class SessionRow:
    """One session in ``info``: its metadata and its chunk's real size."""

    info: SessionInfo
    bytes: int

    def to_json(self) -> dict[str, Any]:
        return {**self.info.figures(self.bytes), "fps": self.info.fps}


@dataclass(frozen=True)
class AddReport:
    """What ``add-video`` reports: the new session, what the archive grew by, and its new size."""

    info: SessionInfo
    bytes: int
    file_bytes: int
    notices: tuple[str, ...] = ()
    world_size: int = 1
    """Processes that trained the session (torchrun)."""

    def to_json(self) -> dict[str, Any]:
        i = self.info
        return {
            **i.figures(self.bytes),
            "seconds": round(i.seconds, 2),
            "device": i.device,
            "world_size": self.world_size,
            "file_bytes": self.file_bytes,
        }


@dataclass(frozen=True)
class LayerUse:
    weights: int
    frozen: int

    @property
    def used(self) -> float:
        return self.frozen / self.weights

    def to_json(self) -> dict[str, Any]:
        return {"weights": self.weights, "frozen": self.frozen, "used": self.used}


@dataclass(frozen=True)
class CapacityReport:
    """How much of the supernet earlier sessions froze, per masked layer and overall."""

    layers: dict[str, LayerUse]

    @property
    def weights(self) -> int:
        return sum(u.weights for u in self.layers.values())

    @property
    def used(self) -> float:
        """Fraction of the supernet frozen; 0 for a library without one (grow)."""
        return sum(u.frozen for u in self.layers.values()) / self.weights if self.weights else 0.0
