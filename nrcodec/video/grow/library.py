"""A library whose sessions own their networks (``grow``, archive format 2).

A session goes in as frames: its network is laid out for the clip (``network.layout``), trained
by the one session loop (``video.trainer``) with no plugin, and stored as the integers it was
trained for. It comes out by rebuilding that network from its record alone, so a session decodes
the same whether its library was just trained or read from a file, and no later session can
change it.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import numpy as np
import torch

from nrcodec import parallel
from nrcodec.errors import BelowFloorError, FormatError, InputError, UsageError
from nrcodec.format import nrc, nrc_v2
from nrcodec.format.quant import BITS, levels
from nrcodec.format.session import SessionRecord
from nrcodec.runtime import Progress, StepReport, duration
from nrcodec.video.contract import SessionResult, TrainingPlan, VideoLibrary, check_frames
from nrcodec.video.decoding import decode_frames
from nrcodec.video.frames import Placement, to_training
from nrcodec.video.grow.budget import MIN_EPOCHS, Clip, minutes_for, patches_for, too_short
from nrcodec.video.grow.inherit import inherit
from nrcodec.video.grow.network import (
    MAX_WEIGHTS,
    MIN_STEM_BITS,
    MIN_WEIGHT_BITS,
    SessionNet,
    layout,
    stem_bits_for,
)
from nrcodec.video.grow.parents import NONE, PARENT_KEY, PROBE_EPOCHS, PROBE_KEY, Candidate, Choice, candidate, decide
from nrcodec.video.grow.settings import DEFAULT_MINUTES, GrowOptions, GrowSettings
from nrcodec.video.nerv import NervLayout
from nrcodec.video.plugin import Plugin, SessionContext, parse_options
from nrcodec.video.records import LibraryConfig, SessionInfo, malformed_settings
from nrcodec.video.settings import NewArchive, SessionRequest
from nrcodec.video.trainer import reconstruction_loss, train_session
from nrcodec.video.videos import SEGMENT_KEY

NAME = "grow"


class GrowLibrary(VideoLibrary[GrowSettings]):
    """Sessions that each own a network: their records, and the network last decoded (cached)."""

    format_version = 2
    quality_levels = True
    segments = True
    parents = True

    def __init__(self, config: LibraryConfig, device: str | torch.device = "cpu") -> None:
        super().__init__(config, device)
        self.options: GrowOptions = parse_options(NAME, GrowOptions, config.strategy_options)
        self._cached: tuple[int, SessionNet] | None = None

    @classmethod
    def strategies(cls) -> list[str]:
        return [NAME]

    @classmethod
    def new_config(cls, request: NewArchive) -> LibraryConfig:
        """A grow archive's settings; ``--preset``, ``--capacity`` and ``--embedding`` shape a shared
        supernet, which grow does not have (a UsageError)."""
        given = [flag for flag, value in request.supernet_flags() if value is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)} shape the shared supernet of pnr and the other masked strategies; a grow "
                "session sizes its own network (use --quality, or --strategy pnr for a supernet)"
            )
        config = LibraryConfig(NAME, request.strategy_options, request.seed)
        parse_options(NAME, GrowOptions, config.strategy_options)
        return config

    @classmethod
    def config_from_json(cls, data: Any) -> LibraryConfig:
        config = LibraryConfig.from_json(data)
        malformed_settings(lambda: parse_options(NAME, GrowOptions, config.strategy_options))
        return config

    @property
    def forget_free(self) -> bool:
        return True

    def settings(self, request: SessionRequest) -> GrowSettings:
        return GrowSettings.from_request(request)

    def info(self, session: int) -> SessionInfo:
        """Session ``session``'s (1-based) metadata, typed."""
        record = self.records[session - 1]
        canvas = architecture_of(record, f"session {session}").canvas
        return SessionInfo.from_json(record.meta, canvas, f"session {session}")

    def summary(self) -> dict[str, Any]:
        return {"grows": True, "network_weights": sum(int(r.meta.get("new_weights", 0)) for r in self.records)}

    def read_session(self, payload: bytes, session: int) -> SessionRecord:
        """Decode a stored session chunk (it needs no earlier session)."""
        return nrc_v2.decode_session(payload, f"session {session} chunk")

    def add_session(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: GrowSettings,
        progress: Progress | None = None,
        source: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> SessionResult:
        """Learn ``frames`` (T, H, W, 3) uint8 as the next session in a network of its own."""
        check_frames(frames)
        session = len(self.records) + 1
        count, height, width = frames.shape[:3]
        prior = self._previous_segment(meta)
        arch = segment_layout(layout((width, height), count, settings.quality), settings.quality, prior)
        placement = Placement.compute((width, height), arch.canvas)
        targets = to_training(frames, placement)
        torch.manual_seed(self.config.seed * 1000 + session)
        net = SessionNet(arch, settings.weight_bits, stem_bits_for(settings.weight_bits), self.options.qat_start)
        context = partial(_session_context, self.device, session, placement, count, settings)
        started, settings = _start(net, *self._parent(prior, settings, arch), settings, (targets, context))
        ctx = context(net, settings.epochs)
        seconds = train_session(ctx, Plugin(), targets, settings, progress)
        info = SessionInfo(
            session=session,
            name=name,
            frames=count,
            fps=float(fps),
            placement=placement,
            training={**settings.session_json(), "epochs_run": ctx.epochs_run},
            seconds=round(seconds, 3),
            device=str(self.device),
            new_weights=sum(t.numel() for t in net.parameters()),
            reused_weights=0,
            layers={},
            source=source,
            extra={**(meta or {}), **started, **_network_meta(net, settings.quality, settings.quality)},
        )
        record = SessionRecord(info.to_json(), {}, net.quantized(), net.shapes())
        self.measured(record, info, frames)
        if settings.floor is not None and (info.psnr or 0.0) < settings.floor:
            self.records.pop()
            raise BelowFloorError(
                f"session {session} reached {info.psnr:.2f} dB in {seconds / 60:.1f} minutes, below the "
                f"{settings.floor:g} dB nrcodec stores by default, so nothing was written: give it more time "
                "(--minutes), a GPU (--device cuda) or a lower --quality, or pass --allow-below-floor to keep it"
            )
        chunk = nrc.session_chunk(nrc_v2.encode_session(record))
        return SessionResult(record, info, chunk, seconds)

    def _parent(
        self, prior: tuple[int, SessionRecord] | None, settings: GrowSettings, arch: NervLayout
    ) -> tuple[Candidate | None, Choice]:
        """The session a new one of layout ``arch`` may start from, and how it was chosen: the previous
        segment of its video (``prior``) as if named, whatever ``--parent`` says (it chooses where a
        video starts); else what ``settings.parent`` names."""
        if prior is not None:
            return Candidate(*prior, architecture_of(prior[1], f"session {prior[0]}")), prior[0]
        if settings.parent == NONE:
            return None, NONE
        earlier = [Candidate(i, r, architecture_of(r, f"session {i}")) for i, r in enumerate(self.records, 1)]
        return candidate(settings.parent, earlier, arch), settings.parent

    def _previous_segment(self, meta: dict[str, Any] | None) -> tuple[int, SessionRecord] | None:
        """(number, record) of the session just before a segment when it is the same video's previous
        segment; None for a whole clip or a first segment."""
        place = (meta or {}).get(SEGMENT_KEY)
        if not self.records or not isinstance(place, dict) or place.get("index", 1) <= 1:
            return None
        last = self.records[-1].meta.get(SEGMENT_KEY)
        expected = {"index": place["index"] - 1, "of": place.get("of")}
        return (len(self.records), self.records[-1]) if last == expected else None

    def plan(self, frames: np.ndarray, settings: GrowSettings) -> TrainingPlan:
        """Time the network of the asked quality here (rank 0's timing holds for every rank) and say how
        long the session will take: an epoch budget as given; the default budget grown to
        ``MIN_EPOCHS`` passes if the clip needs more; a budget the user set that gives fewer is a
        UsageError saying what would fit. A level the user asked for is never changed; the default
        level is the highest up to it whose network gets ``MIN_EPOCHS`` passes in the default budget
        (said in the plan's line)."""
        check_frames(frames)
        clip = _timing_clip(frames, settings, self.device)
        bits, batch = settings.weight_bits, settings.batch_size
        asked = settings.quality
        timed: dict[int, float] = {}
        if settings.auto_quality and settings.fit_minutes and not settings.epochs:
            settings = _default_level(clip, settings, timed)
        epoch_s = timed.get(settings.quality) or clip.epoch_seconds(settings.quality, bits, batch)
        epoch_s = parallel.agree(epoch_s, parallel.current())
        if settings.epochs:
            minutes = settings.epochs * epoch_s / 60
            return TrainingPlan(settings, minutes, _announce(settings.quality, minutes, settings.epochs))
        needed = minutes_for(epoch_s)
        if settings.fit_minutes:
            settings = replace(settings, minutes=max(settings.minutes, needed), fit_minutes=False)
        elif settings.minutes < needed:
            raise UsageError(too_short(clip, settings.quality, bits, batch, (settings.minutes, needed)))
        minutes = settings.minutes
        text = _announce(settings.quality, minutes, minutes * 60 / epoch_s)
        if settings.quality < asked:
            text += (
                f"; quality {asked}, the default, would not get {MIN_EPOCHS} passes in {DEFAULT_MINUTES:g} minutes "
                f"here (ask for it with --quality {asked}, and it gets the time it needs)"
            )
        return TrainingPlan(settings, minutes, text)

    def install(self, record: SessionRecord) -> None:
        """Add a stored session after checking its tensors against the network its metadata names."""
        where = f"session {len(self.records) + 1}"
        arch = architecture_of(record, where)
        bits, stem_bits = bit_depths(record, where)
        SessionInfo.from_json(record.meta, arch.canvas, where)
        with torch.device("meta"):
            expected = SessionNet(arch, bits, stem_bits)
        if record.shapes != expected.shapes():
            raise FormatError(f"{where}: stored tensors do not match the network its metadata describes")
        for name, tensor in record.dense.items():
            if tensor.q.size and np.abs(tensor.q.astype(np.int16)).max() > levels(expected.bits_of(name)):
                raise FormatError(f"{where}: tensor {name} holds values beyond its bit depth")
        self.records.append(record)

    def network(self, session: int) -> SessionNet:
        """Session ``session``'s network with its stored weights (the last one asked for is kept)."""
        if self._cached is None or self._cached[0] != session:
            record = self.records[session - 1]
            net = SessionNet(architecture_of(record, f"session {session}"), *bit_depths(record, f"session {session}"))
            net.load_quantized(record.dense)
            self._cached = (session, net.to(self.device).eval())
        return self._cached[1]

    def decode(
        self, session: int, start: int = 0, stop: int | None = None, subnetwork: int | None = None
    ) -> np.ndarray:
        """Frames ``start:stop`` of ``session`` (1-based) as uint8 (T, H, W, 3) at the source size."""
        self.check_session(session)
        if subnetwork not in (None, session):
            raise InputError("grow sessions own their networks: one session's network cannot decode another's")
        info = self.info(session)
        return decode_frames(self.network(session), session, info.frames, info.placement, (start, stop))


def _session_context(
    device: torch.device,
    session: int,
    placement: Placement,
    count: int,
    settings: GrowSettings,
    net: SessionNet,
    epochs: int,
) -> SessionContext:
    return SessionContext(
        model=net.to(device),
        session=session,
        placement=placement,
        num_frames=count,
        epochs=epochs,
        batch_size=max(1, min(settings.batch_size, count)),
        loss=partial(reconstruction_loss, l1_weight=settings.l1_weight),
        patches=patches_for(net.arch),
    )


def _start(
    net: SessionNet,
    parent: Candidate | None,
    asked: Choice,
    settings: GrowSettings,
    training: tuple[torch.Tensor, Callable[[SessionNet, int], SessionContext]],
) -> tuple[dict[str, Any], GrowSettings]:
    """Start ``net`` from ``parent``'s blocks and head if ``decide`` keeps it (under auto, after a
    probe of both starts on copies, trained on ``training`` = (targets, context)). Returns the
    metadata that records it, and the settings with the probe's time taken out of a time budget."""
    if parent is None:
        return {}, settings
    targets, context = training
    clock = time.perf_counter()

    def trial(inherited: bool) -> float:
        trying = copy.deepcopy(net)
        if inherited:
            inherit(trying, parent.record, parent.layout)
        reports: list[StepReport] = []
        short = replace(settings, epochs=PROBE_EPOCHS, minutes=0.0)
        train_session(context(trying, PROBE_EPOCHS), Plugin(), targets, short, reports.append)
        return reports[-1].psnr

    started = decide(parent, asked, trial)
    if PARENT_KEY in started:
        inherit(net, parent.record, parent.layout)
    if settings.minutes and PROBE_KEY in started:
        spent = (time.perf_counter() - clock) / 60
        settings = replace(settings, minutes=max(settings.minutes - spent, settings.minutes / 2))
    return started, settings


def _timing_clip(frames: np.ndarray, settings: GrowSettings, device: torch.device) -> Clip:
    """The clip as ``budget`` times it: one rank's share of a batch of its frames, at their own size."""
    count, height, width = frames.shape[:3]
    shard = frames[: math.ceil(settings.batch_size / parallel.current().size)]
    targets = to_training(shard, Placement.compute((width, height), (width, height))).to(device)
    return Clip((width, height), count, targets, partial(reconstruction_loss, l1_weight=settings.l1_weight))


def segment_layout(own: NervLayout, quality: int, prior: tuple[int, SessionRecord] | None) -> NervLayout:
    """The previous segment's layout when it was laid out for the same canvas and level (segments of
    one clip differ by at most a frame, which can move a width by a step and leave a channel without
    the previous segment's start); ``own`` otherwise."""
    if prior is None or prior[1].meta.get("quality") != quality:
        return own
    theirs = architecture_of(prior[1], f"session {prior[0]}")
    return theirs if theirs.canvas == own.canvas else own


def _default_level(clip: Clip, settings: GrowSettings, timed: dict[int, float]) -> GrowSettings:
    """``settings`` at the highest level up to the default whose network gets ``MIN_EPOCHS`` passes in
    the default budget here (level 1 if none does; its budget then grows); rank 0's choice for all.
    The seconds per epoch of each level timed go into ``timed``, so the plan does not time it again.
    Measured on bikes 640x272, 120 frames: level 3 kept for 50 passes in 32 minutes gave 10.2x
    x264-medium's bytes at its PSNR, level 1 in 14 minutes 4.3x (notes/scale.md)."""
    level = settings.quality
    while level > 1:
        timed[level] = clip.epoch_seconds(level, settings.weight_bits, settings.batch_size)
        if minutes_for(timed[level]) <= settings.minutes:
            break
        level -= 1
    return replace(settings, quality=parallel.agree(level, parallel.current()), auto_quality=False)


def _announce(quality: int, minutes: float, epochs: float) -> str:
    return f"quality {quality}: about {duration(minutes)} on this machine (about {epochs:.0f} passes over the clip)"


def _network_meta(net: SessionNet, quality: int, asked: int) -> dict[str, Any]:
    """What a session's metadata says about its network, so that it can be rebuilt to decode."""
    return {
        "architecture": net.arch.to_json(),
        "quality": quality,
        "quality_asked": asked,
        "weight_bits": net.weight_bits,
        "stem_bits": net.stem_bits,
    }


def bit_depths(record: SessionRecord, where: str) -> tuple[int, int]:
    """The weight bits and stem bits a session's metadata names (stem bits: the weight bits for
    sessions written before the stem had its own depth)."""
    bits = record.meta.get("weight_bits")
    stem = record.meta.get("stem_bits", bits)
    for value, low in ((bits, MIN_WEIGHT_BITS), (stem, MIN_STEM_BITS)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= BITS:
            raise FormatError(f"{where}: weight bit depth is missing or out of range")
    return bits, stem


def architecture_of(record: SessionRecord, where: str) -> NervLayout:
    """The network layout a session's metadata names, within what nrcodec writes."""
    try:
        arch = NervLayout.from_json(record.meta.get("architecture"))
    except FormatError as exc:
        raise FormatError(f"{where}: {exc}") from None
    if arch.embedding != "sinusoidal" or arch.weight_count() > MAX_WEIGHTS:
        raise FormatError(f"{where}: network is out of the range nrcodec writes")
    return arch
