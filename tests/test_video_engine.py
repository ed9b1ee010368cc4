"""The PNR engine on real frames at the tiny preset: forget-free, rebuildable, good enough."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nrcodec.errors import FrozenWeightError
from nrcodec.format import nrc, nrc_v1
from nrcodec.media.video import read_video
from nrcodec.metrics import psnr
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.library import SupernetLibrary
from nrcodec.video.supernet.model import PRESETS
from nrcodec.video.supernet.strategies.base import STRATEGIES
from nrcodec.video.supernet.strategies.pnr import PNR

TINY = PRESETS["tiny"]
QUICK = SessionSettings(epochs=12, batch_size=4, lr=1e-2)
PSNR_FLOOR_TINY_BUNNY = 29.0
"""Measured 30.37 dB (tiny defaults: 60 epochs, batch 4, lr 1e-2); the floor leaves 1.4 dB for other CPUs."""


def _config(**kw: object) -> SupernetConfig:
    return SupernetConfig(preset="tiny", architecture=TINY.architecture, **kw)


@pytest.fixture(scope="module")
def three_sessions(clips: dict[str, np.ndarray]) -> dict[str, object]:
    """Three clips of different content and sizes, with decodes and chunks taken as they were added."""
    library = SupernetLibrary(_config())
    decoded, chunks = [], []
    for frames in clips.values():
        frozen = library.state.frozen()
        library.add_session(frames, "clip", 25.0, QUICK)
        decoded.append(library.decode(len(library.records)))
        chunks.append(nrc.session_chunk(nrc_v1.encode_session(library.records[-1], frozen)))
    return {"library": library, "decoded": decoded, "chunks": chunks}


def test_earlier_sessions_decode_bit_identically_after_later_ones(three_sessions: dict[str, object]) -> None:
    library: SupernetLibrary = three_sessions["library"]
    for session, before in enumerate(three_sessions["decoded"], start=1):
        after = library.decode(session)
        assert after.dtype == np.uint8
        assert np.array_equal(after, before), f"session {session} changed"


def test_stored_records_stay_byte_identical(three_sessions: dict[str, object]) -> None:
    library: SupernetLibrary = three_sessions["library"]
    frozen = {n: np.zeros(f.size, dtype=bool) for n, f in library.state.frozen().items()}
    for record, chunk in zip(library.records, three_sessions["chunks"]):
        assert nrc.session_chunk(nrc_v1.encode_session(record, frozen)) == chunk
        frozen = {n: frozen[n] | record.layers[n].mask for n in frozen}


def test_rebuild_from_records_alone_decodes_bit_identically(three_sessions: dict[str, object]) -> None:
    library: SupernetLibrary = three_sessions["library"]
    rebuilt = SupernetLibrary(library.config)
    for record in library.records:
        rebuilt.install(record)
    for session, before in enumerate(three_sessions["decoded"], start=1):
        assert np.array_equal(rebuilt.decode(session), before)


def test_decode_returns_each_video_at_its_own_size(three_sessions: dict[str, object], clips) -> None:
    for decoded, frames in zip(three_sessions["decoded"], clips.values()):
        assert decoded.shape == frames.shape
        assert psnr(frames, decoded) > 18.0


def test_sessions_reuse_frozen_weights_and_account_for_them(three_sessions: dict[str, object]) -> None:
    library: SupernetLibrary = three_sessions["library"]
    first, second = library.records[0].meta, library.records[1].meta
    assert first["reused_weights"] == 0
    assert second["reused_weights"] > 0
    selected = sum(round(0.3 * layer.weight.numel()) for layer in library.state.layers.values())
    assert second["new_weights"] + second["reused_weights"] == selected
    report = library.state.capacity()
    assert sum(use.frozen for use in report.layers.values()) == sum(int(r.meta["new_weights"]) for r in library.records)


def test_tiny_preset_reaches_its_psnr_floor_on_bunny(samples: Path) -> None:
    """The tiny preset with its default settings on the first frames of the bunny clip at 160×90."""
    frames = read_video(samples / "bunny.mp4", max_frames=32).frames
    small = (
        F.interpolate(torch.from_numpy(frames).permute(0, 3, 1, 2).float(), size=(90, 160), mode="area")
        .round()
        .clamp(0, 255)
        .to(torch.uint8)
        .permute(0, 2, 3, 1)
        .numpy()
    )
    library = SupernetLibrary(_config())
    result = library.add_session(
        small, "bunny", 25.0, SessionSettings(epochs=TINY.epochs, batch_size=TINY.batch_size, lr=TINY.lr)
    )
    assert result.info.psnr >= PSNR_FLOOR_TINY_BUNNY


def test_writer_refuses_a_strategy_that_moves_frozen_weights(clips: dict[str, np.ndarray]) -> None:
    class Leaky(PNR):
        name = "leaky"

        def after_epoch(self, ctx, epoch: int) -> None:  # nudges every weight, frozen ones included
            for layer in ctx.model.masked_layers().values():
                layer.weight.data.add_(1e-3)

    STRATEGIES["leaky"] = Leaky
    try:
        library = SupernetLibrary(_config(strategy="leaky", capacity=0.6))
        settings = SessionSettings(epochs=2, batch_size=4, lr=3e-3)
        library.add_session(clips["meadow"][:4], "a", 25.0, settings)
        with pytest.raises(FrozenWeightError, match="session 2 changed frozen weights"):
            library.add_session(clips["closeup"][:4], "b", 25.0, settings)
    finally:
        del STRATEGIES["leaky"]


def test_full_layers_still_train_and_say_so(clips: dict[str, np.ndarray]) -> None:
    library = SupernetLibrary(_config(capacity=0.7))
    settings = SessionSettings(epochs=1, batch_size=4, lr=3e-3)
    first = library.add_session(clips["meadow"][:4], "a", 25.0, settings).notices
    assert any("scaled to 120x90" in notice for notice in first)
    assert not any("free weights" in notice for notice in first)
    result = library.add_session(clips["closeup"][:4], "b", 25.0, settings)
    assert any("free weights" in notice for notice in result.notices)
    assert result.record.meta["new_weights"] > 0
