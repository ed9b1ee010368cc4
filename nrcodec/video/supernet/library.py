"""Sessions as subnetworks of one shared masked supernet (pnr and the other strategies; format 1).

``add_session`` is ``start_session`` (get the supernet ready, remember what must not move), the
one training loop (``video.trainer``) with the archive's strategy plugged in, and
``finish_session`` (``freezer`` turns what the session made into a record, which is then
measured). ``decode`` rebuilds any session's frames (``decoder``); ``install`` adds a stored
session, so a library rebuilt from records alone (what a fresh process does with an archive)
decodes exactly like the one that trained them. The pieces live in their own modules; this class
wires them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from nrcodec.errors import FrozenWeightError
from nrcodec.format import nrc, nrc_v1
from nrcodec.format.session import SessionRecord
from nrcodec.runtime import Progress
from nrcodec.video.contract import SessionResult, VideoLibrary, check_frames
from nrcodec.video.frames import Placement, to_training
from nrcodec.video.records import CapacityReport, SessionInfo, malformed_settings
from nrcodec.video.settings import NewArchive, SessionRequest, SessionSettings
from nrcodec.video.supernet.config import DEFAULT_CAPACITY, DEFAULT_PRESET, SupernetConfig
from nrcodec.video.supernet.decoder import Decoder
from nrcodec.video.supernet.freezer import Freezer, Frozen
from nrcodec.video.supernet.model import Supernet, preset
from nrcodec.video.supernet.state import LibraryState
from nrcodec.video.supernet.strategies import STRATEGIES, Recall, Strategy, SupernetContext, make_strategy
from nrcodec.video.trainer import reconstruction_loss, train_session


@dataclass
class Pending:
    """A session between ``start_session`` and ``finish_session``: its context and what it must
    not change."""

    ctx: SupernetContext
    frozen_before: dict[str, np.ndarray]
    snapshot: dict[str, torch.Tensor]


class SupernetLibrary(VideoLibrary[SessionSettings]):
    """Sessions as subnetworks of one shared supernet, trained by the archive's strategy."""

    format_version = 1
    transfer_matrix = True
    config: SupernetConfig

    def __init__(self, config: SupernetConfig, device: str | torch.device = "cpu") -> None:
        super().__init__(config, device)
        self.state = LibraryState(config, self.device)
        self.records = self.state.records
        self.freezer = Freezer(self.state.model, config.quantization)
        self.decoder = Decoder(self.state.model)

    @classmethod
    def strategies(cls) -> list[str]:
        return sorted(STRATEGIES)

    @classmethod
    def new_config(cls, request: NewArchive) -> SupernetConfig:
        chosen = preset(request.preset or DEFAULT_PRESET)
        config = SupernetConfig(
            preset=chosen.name,
            architecture=chosen.architecture.with_embedding(request.embedding or "sinusoidal"),
            capacity=DEFAULT_CAPACITY if request.capacity is None else request.capacity,
            strategy=request.strategy or "pnr",
            strategy_options=request.strategy_options,
            seed=request.seed,
        )
        make_strategy(config.strategy, config.strategy_options)
        return config

    @classmethod
    def config_from_json(cls, data: Any) -> SupernetConfig:
        config = SupernetConfig.from_json(data)
        malformed_settings(lambda: make_strategy(config.strategy, config.strategy_options))
        return config

    @property
    def model(self) -> Supernet:
        return self.state.model

    @property
    def strategy(self) -> Strategy:
        return self.state.strategy

    @property
    def forget_free(self) -> bool:
        return self.strategy.forget_free

    def settings(self, request: SessionRequest) -> SessionSettings:
        """The preset's recipe, with ``request.epochs`` instead of its epochs if given."""
        request.refuse_grow_flags(self.config.strategy)
        chosen = preset(self.config.preset)
        return SessionSettings(
            epochs=request.epochs or chosen.epochs,
            batch_size=chosen.batch_size,
            lr=chosen.lr,
            seed=request.seed,
            precision=request.precision,
            compile=request.compile,
        )

    def info(self, session: int) -> SessionInfo:
        return self.state.info(session)

    def capacity(self) -> CapacityReport:
        return self.state.capacity()

    def summary(self) -> dict[str, Any]:
        """Strategy-specific figures for ``info``."""
        return self.strategy.summary(self.records, self.model)

    def read_session(self, payload: bytes, session: int) -> SessionRecord:
        """Decode a stored session chunk against the frozen sets of the sessions installed so far."""
        where = f"session {session} chunk"
        return nrc_v1.decode_session(payload, self.state.frozen(), self.model.session_sizes, where)

    def add_session(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: SessionSettings,
        progress: Progress | None = None,
        source: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> SessionResult:
        """Learn ``frames`` (T, H, W, 3) uint8 as the next session, then freeze it."""
        pending = self.start_session(frames, settings)
        targets = to_training(frames, pending.ctx.placement)
        seconds = train_session(pending.ctx, self.strategy, targets, settings, progress)
        return self.finish_session(pending, frames, name, fps, settings, seconds, source, meta)

    def start_session(self, frames: np.ndarray, settings: SessionSettings) -> Pending:
        """Get the supernet ready for the next session and remember what it must not change."""
        check_frames(frames)
        session = len(self.records) + 1
        placement = Placement.compute((frames.shape[2], frames.shape[1]), self.config.architecture.canvas)
        if self.records:
            self.decoder.load_dense(self.records[-1])
        self.model.prepare(frames.shape[0], self.config.seed * 1000 + session)
        frozen_before = self.state.frozen()
        snapshot = {n: layer.weight.detach().clone() for n, layer in self.state.layers.items()}
        ctx = SupernetContext(
            model=self.model,
            session=session,
            capacity=self.config.capacity,
            placement=placement,
            num_frames=frames.shape[0],
            epochs=settings.epochs,
            batch_size=max(1, min(settings.batch_size, frames.shape[0])),
            loss=lambda out, target: reconstruction_loss(out, target, settings.l1_weight),
            records=list(self.records),
            recall=self.recall,
            notices=_notices(self.config, placement, frozen_before),
        )
        return Pending(ctx, frozen_before, snapshot)

    def finish_session(
        self,
        pending: Pending,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: SessionSettings,
        seconds: float,
        source: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> SessionResult:
        """Store what the model now holds as the session: freeze it or record its changes, measure
        it, and code its chunk against the frozen set it started from."""
        ctx = pending.ctx
        frozen = self._freeze(pending)
        info = SessionInfo(
            session=ctx.session,
            name=name,
            frames=int(frames.shape[0]),
            fps=float(fps),
            placement=ctx.placement,
            training=settings.session_json(),
            seconds=round(seconds, 3),
            device=str(self.device),
            new_weights=sum(c["new"] for c in frozen.counts.values()),
            reused_weights=sum(c["reused"] for c in frozen.counts.values()),
            layers=frozen.counts,
            source=source,
            extra={**(meta or {}), **self.strategy.session_meta(ctx)},
        )
        record = SessionRecord(info.to_json(), frozen.layers, self.freezer.dense())
        self.measured(record, info, frames)
        chunk = nrc.session_chunk(nrc_v1.encode_session(record, pending.frozen_before))
        return SessionResult(record, info, chunk, seconds, ctx.notices)

    def _freeze(self, pending: Pending) -> Frozen:
        """Freeze a forget-free session (after checking it moved no frozen weight) or record its changes."""
        masks = {n: m.cpu().numpy().reshape(-1) for n, m in self.strategy.final_masks(pending.ctx).items()}
        if not self.strategy.forget_free:
            return self.freezer.store_changed(masks, pending.snapshot)
        for n, layer in self.state.layers.items():
            was_frozen = torch.from_numpy(pending.frozen_before[n]).view_as(layer.frozen).to(layer.weight.device)
            if not torch.equal(layer.weight[was_frozen], pending.snapshot[n][was_frozen]):
                raise FrozenWeightError(
                    f"session {pending.ctx.session} changed frozen weights of {n}; refusing to write"
                )
        return self.freezer.freeze(masks, pending.frozen_before)

    def recall(self, session: int) -> Recall:
        """Session ``session`` as the current weights replay it, with its own dense tensors."""
        return self.decoder.recall(self.records, session)

    def decode(
        self, session: int, start: int = 0, stop: int | None = None, subnetwork: int | None = None
    ) -> np.ndarray:
        """Frames ``start:stop`` of ``session`` (1-based); ``subnetwork`` decodes them with another
        session's subnetwork (a cell of the transfer matrix)."""
        for number in (session, subnetwork or session):
            self.check_session(number)
        return self.decoder.decode(self.records, session, (start, stop), subnetwork)

    def install(self, record: SessionRecord) -> None:
        """Add a stored session (from an archive, or another library's records) without training."""
        self.state.install(record)


def _notices(config: SupernetConfig, placement: Placement, frozen_before: dict[str, np.ndarray]) -> list[str]:
    """What the user should hear before a session: its frames scaled to the canvas, layers nearly full."""
    notices = []
    if placement.fit != placement.source:
        (w, h), (fw, fh) = placement.source, placement.fit
        notices.append(
            f"{w}x{h} frames are scaled to {fw}x{fh} to fit the {config.preset} canvas; quality is "
            "measured at the source size (a larger preset keeps more detail)"
        )
    for n, frozen in frozen_before.items():
        free = 1 - frozen.mean()
        if free < config.capacity:
            notices.append(
                f"layer {n} has {free:.0%} free weights for a {config.capacity:.0%} subnetwork; "
                "this session trains what is free and reuses frozen weights for the rest"
            )
    return notices
