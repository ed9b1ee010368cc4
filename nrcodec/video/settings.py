"""What a user asks of a video library, and how the one session loop trains.

``NewArchive`` is what may be asked when an archive is created (fixed afterwards) and
``SessionRequest`` what each ``add-video`` asks; both say None for "the default". A library kind
turns them into its own records (``VideoLibrary.new_config``, ``VideoLibrary.settings``): the
supernet's recipe comes from its preset, a grow session's from ``grow.settings``. ``SessionSettings``
is the loop's record, which every kind's settings extend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nrcodec.errors import UsageError
from nrcodec.runtime import TrainSettings, check
from nrcodec.video.records import LibraryConfig


@dataclass(frozen=True)
class SessionSettings(TrainSettings):
    """How the one session loop trains: ``epochs`` passes over the frames, or as many as fit in
    ``minutes`` when that is set, with a linear ``warmup`` and loss α·L1 + (1 − α)·(1 − SSIM),
    α = ``l1_weight``; the forward pass runs in ``precision`` (bf16 autocast: the stored integers,
    not the training arithmetic, define the decode), through ``torch.compile`` when ``compile``."""

    epochs: int = 0
    minutes: float = 0.0
    warmup: float = 0.1
    l1_weight: float = 0.7
    precision: str = "fp32"
    compile: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        check(
            (self.precision in ("fp32", "bf16"), "precision must be fp32 or bf16"),
            (self.epochs >= 0, "epochs must be >= 0"),
            (math.isfinite(self.minutes) and self.minutes >= 0, "minutes must be >= 0"),
            (0 <= self.warmup <= 1, "warm-up must be a fraction in [0, 1]"),
            (0 <= self.l1_weight <= 1, "L1 weight must be in [0, 1]"),
        )

    @property
    def progress_total(self) -> int:
        """Units of the progress reports: epochs, or seconds of a time budget."""
        return round(self.minutes * 60) if self.minutes else self.epochs

    def session_json(self) -> dict[str, Any]:
        """What a session stores under ``training`` (keys fixed by the archive format; a time budget
        adds ``minutes``)."""
        budget = {"minutes": self.minutes} if self.minutes else {}
        precision = {"precision": self.precision} if self.precision != "fp32" else {}
        return {
            **budget,
            **precision,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "warmup": self.warmup,
            "l1_weight": self.l1_weight,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class SessionRequest:
    """What ``add-video`` asks of one session's training; None is the library kind's default.
    ``quality``, ``weight_bits`` and ``minutes`` size and budget a grow session's own network."""

    epochs: int | None = None
    seed: int = 0
    quality: int | None = None
    weight_bits: int | None = None
    minutes: float | None = None
    precision: str = "fp32"
    compile: bool = False
    allow_below_floor: bool = False
    """Store a time-budgeted session even if it does not reach the quality floor."""
    parent: int | str | None = None
    """The session a grow session starts from: "auto", "none" or a session number (``grow.parents``)."""

    def refuse_grow_flags(self, strategy: str) -> None:
        """A UsageError if a flag that only a grow session has was given."""
        flags = (
            ("--quality", self.quality),
            ("--weight-bits", self.weight_bits),
            ("--minutes", self.minutes),
            ("--allow-below-floor", self.allow_below_floor or None),
            ("--parent", self.parent),
        )
        given = [flag for flag, value in flags if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} apply to grow archives; this archive's strategy is {strategy}")


@dataclass(frozen=True)
class NewArchive:
    """The settings asked for when an archive may be created; None means "the default" for a new
    archive and "whatever it has" for an existing one, which cannot change them. ``preset``,
    ``capacity`` and ``embedding`` shape the shared supernet of pnr and the other masked strategies."""

    preset: str | None = None
    capacity: float | None = None
    strategy: str | None = None
    strategy_options: dict[str, Any] = field(default_factory=dict)
    embedding: str | None = None
    seed: int = 0

    def supernet_flags(self) -> tuple[tuple[str, object], ...]:
        return (("--preset", self.preset), ("--capacity", self.capacity), ("--embedding", self.embedding))

    def check_fixed(self, path: Path, config: LibraryConfig) -> None:
        """An existing archive's settings cannot change: a different value is a usage error."""
        given = dict(self.supernet_flags(), **{"--strategy": self.strategy})
        for option, stored in config.fixed():
            if given[option] is not None and given[option] != stored:
                raise UsageError(
                    f"{path} was created with {option} {stored}; it cannot change to {given[option]} "
                    f"(leave {option} out, or add the video to a new archive)"
                )
        if self.strategy_options:
            raise UsageError(f"{path} exists; --strategy-option applies to new archives only")
