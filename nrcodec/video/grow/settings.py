"""A grow session's recipe: its settings record, its defaults, and the archive's grow options.

A grow session trains with Adam at ``LEARNING_RATE`` on batches of ``BATCH_SIZE`` frames for
``DEFAULT_MINUTES`` unless ``--epochs`` or ``--minutes`` says otherwise, sizes its network by
``--quality`` and stores its weights at ``--weight-bits``; ``GrowSettings`` checks them, once.
"""

from __future__ import annotations

from dataclasses import dataclass

from nrcodec.errors import UsageError
from nrcodec.format.quant import BITS
from nrcodec.video.grow.network import MIN_WEIGHT_BITS, QUALITY_WEIGHTS_PER_PIXEL
from nrcodec.video.grow.parents import NONE, Choice
from nrcodec.video.settings import SessionRequest, SessionSettings

DEFAULT_QUALITY = 4
DEFAULT_WEIGHT_BITS = 5
BATCH_SIZE = 4
LEARNING_RATE = 1e-2
"""Adam's rate for every grow session: against 5e-3 it gave +0.43 dB and 2% fewer bytes on carphone
(40 epochs) and +0.51 dB and 8% fewer bytes on bunny 320x180 (20 epochs); notes/rate.md."""
DEFAULT_MINUTES = 14.0
"""Training budget of a grow session when neither --epochs nor --minutes is given, unless its clip
needs more for ``budget.MIN_EPOCHS`` passes (then the budget grows to that, said up front)."""
FLOOR_DB = 25.0
"""The PSNR below which a time-budgeted session is not stored without the user's consent
(``--allow-below-floor``): x264 medium's smallest file of a real 1280x720 camera clip (CRF 51) is
25.1 dB, so a session under 25 dB is worse than any file a classic codec would write (issue 29)."""


@dataclass(frozen=True)
class GrowSettings(SessionSettings):
    """How a grow session trains: the loop's settings with grow's recipe as defaults, and the
    ``quality`` level (1..6) and ``weight_bits`` (4..8) of its network."""

    batch_size: int = BATCH_SIZE
    lr: float = LEARNING_RATE
    quality: int = DEFAULT_QUALITY
    weight_bits: int = DEFAULT_WEIGHT_BITS
    fit_minutes: bool = False
    """``minutes`` is the default budget, which grows to what the clip needs (``GrowLibrary.plan``)."""
    auto_quality: bool = False
    """``quality`` is the default level, which the plan lowers to one that trains in the default budget."""
    floor: float | None = None
    """PSNR (dB) a session must reach to be stored; None: no floor (an epoch budget the user chose)."""
    parent: Choice = NONE
    """The session this one starts from (``grow.parents``): none (the default), auto or a session number."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.quality not in QUALITY_WEIGHTS_PER_PIXEL:
            raise UsageError(f"quality must be one of 1..{max(QUALITY_WEIGHTS_PER_PIXEL)}, got {self.quality}")
        if not MIN_WEIGHT_BITS <= self.weight_bits <= BITS:
            raise UsageError(f"weight bits must be in {MIN_WEIGHT_BITS}..{BITS}, got {self.weight_bits}")

    @classmethod
    def from_request(cls, request: SessionRequest) -> GrowSettings:
        """Grow's recipe with what ``request`` asks: the default budget (``DEFAULT_MINUTES`` or what the
        clip needs) unless it gives epochs or minutes; a time budget keeps ``FLOOR_DB`` unless the
        request allows a session below it."""
        budgeted = not request.epochs
        return cls(
            epochs=request.epochs or 0,
            minutes=request.minutes or (DEFAULT_MINUTES if budgeted else 0.0),
            fit_minutes=budgeted and not request.minutes,
            auto_quality=request.quality is None,
            floor=FLOOR_DB if budgeted and not request.allow_below_floor else None,
            quality=request.quality or DEFAULT_QUALITY,
            weight_bits=request.weight_bits or DEFAULT_WEIGHT_BITS,
            seed=request.seed,
            precision=request.precision,
            compile=request.compile,
            parent=NONE if request.parent is None else request.parent,
        )


@dataclass(frozen=True)
class GrowOptions:
    """Archive-wide options of a grow archive (``--strategy-option``), stored in its header."""

    qat_start: float = 0.6
    """Fraction of the training after which weights are rounded in the forward pass."""

    def __post_init__(self) -> None:
        if not 0 <= self.qat_start <= 1:
            raise ValueError(f"qat_start must be in [0, 1], got {self.qat_start}")
