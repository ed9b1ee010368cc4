"""A video library in memory: a session goes in as frames and comes out as a record.

``add_session`` is ``start_session`` (get the supernet ready, remember what must not move),
the one training loop (``trainer``), and ``finish_session`` (``freezer`` turns what the session
made into a record, which is then measured). ``decode`` rebuilds any session's frames
(``decoder``); ``install`` adds a stored session, so a library rebuilt from records alone (what a
fresh process does with an archive) decodes exactly like the one that trained them. The pieces
live in their own modules; this class wires them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from nrcodec.errors import FrozenWeightError, InputError
from nrcodec.format import nrc
from nrcodec.format.session import SessionRecord
from nrcodec.metrics import ms_ssim_video, psnr
from nrcodec.runtime import Progress, TrainSettings
from nrcodec.video.decoder import Decoder
from nrcodec.video.frames import Placement, to_training
from nrcodec.video.freezer import Freezer, Frozen
from nrcodec.video.records import CapacityReport, LibraryConfig, SessionInfo
from nrcodec.video.state import LibraryState
from nrcodec.video.strategies import Recall, SessionContext, Strategy
from nrcodec.video.trainer import reconstruction_loss, train_session


@dataclass
class Pending:
    """A session between ``start_session`` and ``finish_session``: its context and what it must
    not change."""

    ctx: SessionContext
    frozen_before: dict[str, np.ndarray]
    snapshot: dict[str, torch.Tensor]


@dataclass
class SessionResult:
    """A finished session: its record (what the archive stores), its metadata, and the frozen set it
    started from (what its chunk's mask coding is conditioned on)."""

    record: SessionRecord
    info: SessionInfo
    seconds: float
    frozen_before: dict[str, np.ndarray]
    notices: list[str] = field(default_factory=list)


def check_frames(frames: np.ndarray) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] < 1:
        raise InputError("frames must be a non-empty (T, H, W, 3) uint8 array")


class Library:
    """Sessions as subnetworks of one shared supernet (the masked strategies, archive format 1)."""

    format_version = 1

    def __init__(self, config: LibraryConfig, device: str | torch.device = "cpu") -> None:
        self.state = LibraryState(config, torch.device(device))
        self.freezer = Freezer(self.state.model, config.quantization)
        self.decoder = Decoder(self.state.model)

    @property
    def config(self) -> LibraryConfig:
        return self.state.config

    @property
    def model(self) -> Any:
        return self.state.model

    @property
    def strategy(self) -> Strategy:
        return self.state.strategy

    @property
    def records(self) -> list[SessionRecord]:
        return self.state.records

    @property
    def forget_free(self) -> bool:
        return self.strategy.forget_free

    def info(self, session: int) -> SessionInfo:
        return self.state.info(session)

    def capacity(self) -> CapacityReport:
        return self.state.capacity()

    def summary(self) -> dict[str, Any]:
        """Strategy-specific figures for ``info``."""
        return self.strategy.summary(self.records, self.model)

    def read_session(self, version: int, payload: bytes, session: int) -> SessionRecord:
        """Decode a stored session chunk against the sessions installed so far."""
        return nrc.decode_session(version, payload, self.state.frozen(), self.model.session_sizes, session)

    def add_session(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: TrainSettings,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> SessionResult:
        """Learn ``frames`` (T, H, W, 3) uint8 as the next session, then freeze it."""
        pending = self.start_session(frames, settings)
        targets = to_training(frames, pending.ctx.placement)
        seconds = train_session(pending.ctx, self.strategy, targets, settings, progress)
        return self.finish_session(pending, frames, name, fps, settings, seconds, source)

    def start_session(self, frames: np.ndarray, settings: TrainSettings) -> Pending:
        """Get the supernet ready for the next session and remember what it must not change."""
        check_frames(frames)
        session = len(self.records) + 1
        placement = Placement.compute((frames.shape[2], frames.shape[1]), self.config.architecture.canvas)
        if self.records:
            self.decoder.load_dense(self.records[-1])
        self.model.prepare(frames.shape[0], self.config.seed * 1000 + session)
        frozen_before = self.state.frozen()
        snapshot = {n: layer.weight.detach().clone() for n, layer in self.state.layers.items()}
        ctx = SessionContext(
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
            notices=self._notices(placement, frozen_before),
        )
        return Pending(ctx, frozen_before, snapshot)

    def _notices(self, placement: Placement, frozen_before: dict[str, np.ndarray]) -> list[str]:
        notices = []
        if placement.fit != placement.source:
            (w, h), (fw, fh) = placement.source, placement.fit
            notices.append(
                f"{w}x{h} frames are scaled to {fw}x{fh} to fit the {self.config.preset} canvas; quality is "
                "measured at the source size (a larger preset keeps more detail)"
            )
        capacity = self.config.capacity
        for n, frozen in frozen_before.items():
            free = 1 - frozen.mean()
            if free < capacity:
                notices.append(
                    f"layer {n} has {free:.0%} free weights for a {capacity:.0%} subnetwork; "
                    "this session trains what is free and reuses frozen weights for the rest"
                )
        return notices

    def finish_session(
        self,
        pending: Pending,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: TrainSettings,
        seconds: float,
        source: str | None = None,
    ) -> SessionResult:
        """Store what the model now holds as the session: freeze or record changes, measure it."""
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
            device=str(self.state.device),
            new_weights=sum(c["new"] for c in frozen.counts.values()),
            reused_weights=sum(c["reused"] for c in frozen.counts.values()),
            layers=frozen.counts,
            source=source,
            extra=self.strategy.session_meta(ctx),
        )
        record = SessionRecord(info.to_json(), frozen.layers, self.freezer.dense())
        self.records.append(record)
        decoded = self.decode(ctx.session)
        info.psnr = round(psnr(frames, decoded), 4)
        quality = ms_ssim_video(frames, decoded)
        info.ms_ssim = None if quality is None else round(quality, 6)
        record.meta = info.to_json()
        return SessionResult(record, info, seconds, pending.frozen_before, ctx.notices)

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
        """Frames ``start:stop`` of ``session`` (1-based) as uint8 (T, H, W, 3) at the source size;
        ``subnetwork`` decodes them with another session's subnetwork (the transfer matrix)."""
        return self.decoder.decode(self.records, session, (start, stop), subnetwork)

    def install(self, record: SessionRecord) -> None:
        """Add a stored session (from an archive, or another library's records) without training."""
        self.state.install(record)
