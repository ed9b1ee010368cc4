"""The grow strategy and archive format 2: sessions that own their networks.

Real frames of the sample clips at tiny sizes and a few epochs: round trips through the file are
bit-exact, a later session never changes an earlier one's decode, every session decodes at its own
size, the stored weights respect their bit depth, and format 1 stays what it was.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from nrcodec.errors import BelowFloorError, UsageError
from nrcodec.format import nrc, nrc_v2
from nrcodec.format.quant import levels
from nrcodec.metrics import psnr
from nrcodec.video.archive import Archive
from nrcodec.video.grow.library import GrowLibrary
from nrcodec.video.grow.network import SessionNet, layout
from nrcodec.video.grow.settings import DEFAULT_MINUTES, FLOOR_DB, GrowSettings
from nrcodec.video.settings import NewArchive, SessionRequest

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v2"


def _settings(epochs: int = 4, quality: int = 2, bits: int = 5) -> GrowSettings:
    return GrowSettings(epochs=epochs, batch_size=4, lr=5e-3, quality=quality, weight_bits=bits)


def _add(path: Path, frames: np.ndarray, name: str, settings: GrowSettings) -> None:
    with Archive.writing(path, NewArchive(strategy="grow"), "cpu") as archive:
        archive.add(frames, name, 25.0, settings)


def _digest(frames: np.ndarray) -> str:
    return hashlib.sha256(frames.tobytes()).hexdigest()


def test_sessions_round_trip_bit_exactly_and_never_change(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    path = tmp_path / "lib.nrc"
    bunny, closeup = clips["bunny"][:8, :90, :160], clips["closeup"][:8]
    _add(path, bunny, "bunny", _settings())
    first = Archive.open(path)
    assert first.version == 2
    before = first.library.decode(1)
    head = path.read_bytes()

    _add(path, closeup, "closeup", _settings(quality=1))
    after = Archive.open(path)
    assert path.read_bytes()[: len(head)] == head, "an add rewrote earlier bytes"
    assert np.array_equal(after.library.decode(1), before), "session 2 changed session 1's decode"
    assert after.library.decode(2).shape == closeup.shape, "a session decodes at its own size"
    only_first = Archive.open(path, sessions=1)
    assert np.array_equal(only_first.library.decode(1), before)
    assert [c.status.value for c in only_first.checks] == ["ok", "unread"], "decoding session 1 read session 2"


def test_decode_is_what_was_measured_when_added(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    """The PSNR an add reports is the PSNR of the file's decode (the QAT weights are the stored ones)."""
    path = tmp_path / "lib.nrc"
    frames = clips["meadow"][:8]
    with Archive.writing(path, NewArchive(strategy="grow"), "cpu") as archive:
        added = archive.add(frames, "meadow", 25.0, _settings(epochs=60, quality=3))
    decoded = Archive.open(path).library.decode(1)
    assert added.info.psnr == pytest.approx(psnr(frames, decoded), abs=1e-4)
    assert added.info.psnr > 17.5


def test_stored_weights_respect_their_bit_depth(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    sizes = {}
    for bits in (4, 8):
        path = tmp_path / f"b{bits}.nrc"
        _add(path, clips["bunny"][:4, :90, :160], "bunny", _settings(epochs=2, bits=bits))
        library = Archive.open(path).library
        assert isinstance(library, GrowLibrary)
        net = library.network(1)
        record = library.records[0]
        for name, tensor in record.dense.items():
            assert np.abs(tensor.q.astype(int)).max() <= levels(net.bits_of(name))
        stem_bits = {4: 3, 8: 6}[bits]
        assert record.meta["stem_bits"] == net.stem_bits == stem_bits
        assert np.abs(record.dense["stem.1.weight"].q.astype(int)).max() <= levels(stem_bits)
        sizes[bits] = path.stat().st_size
    assert sizes[4] < 0.7 * sizes[8]


def test_chunks_reencode_to_their_bytes(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    path = tmp_path / "lib.nrc"
    _add(path, clips["bunny"][:4, :90, :160], "bunny", _settings(epochs=2))
    archive = Archive.open(path)
    data = path.read_bytes()
    chunk = nrc.session_chunk(nrc_v2.encode_session(archive.library.records[0]))
    assert data[archive.header_bytes :] == chunk


def test_layout_fits_each_clip_without_scaling() -> None:
    for (w, h), frames in (((320, 180), 120), ((176, 144), 120), ((640, 272), 120), ((144, 192), 32)):
        arch = layout((w, h), frames, 4)
        assert arch.canvas[0] >= w and arch.canvas[1] >= h
        assert arch.canvas[0] * arch.canvas[1] <= 1.1 * w * h
    small, large = (layout((320, 180), 120, q) for q in (3, 4))
    assert 1.7 < large.weight_count() / small.weight_count() < 2.3, "a quality level doubles the weights"


def test_grow_options_refused_on_a_supernet_archive(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    path = tmp_path / "pnr.nrc"
    with (
        Archive.writing(path, NewArchive(preset="tiny", strategy="pnr"), "cpu") as archive,
        pytest.raises(UsageError, match="--quality apply to grow archives"),
    ):
        archive.settings(SessionRequest(2, quality=3))


def test_a_grow_header_holds_no_supernet_settings_and_old_headers_still_read(
    tmp_path: Path, clips: dict[str, np.ndarray]
) -> None:
    """A new grow archive's header says strategy, options and seed only, so ``info`` shows no canvas;
    the fixture's header, written with a supernet's preset and canvas, reads the same way."""
    path = tmp_path / "lib.nrc"
    _add(path, clips["bunny"][:4, :90, :160], "bunny", _settings(epochs=1))
    header = nrc.parse(path.read_bytes()).header["config"]
    assert header == {"strategy": "grow", "strategy_options": {}, "seed": 0}
    old = nrc.parse((FIXTURES / "grow.nrc").read_bytes()).header["config"]
    assert {"preset", "architecture", "capacity"} <= set(old), "the fixture predates grow's own header"
    for archive in (Archive.open(path), Archive.open(FIXTURES / "grow.nrc")):
        described = archive.describe().to_json()
        assert described["strategy"] == "grow" and described["grows"] is True
        assert described["preset"] is described["canvas"] is described["capacity"] is None


@pytest.mark.parametrize("threads", [1, 2])
def test_version_2_fixture_decodes_bit_identically(threads: int) -> None:
    """The fixture (tests/fixtures/v2/README.md) keeps decoding to the frames it decoded to when written."""
    expected = json.loads((FIXTURES / "decodes.json").read_text())
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        library = Archive.open(FIXTURES / "grow.nrc").library
        got = [_digest(library.decode(s)) for s in (1, 2)]
    finally:
        torch.set_num_threads(before)
    assert got in expected["grow.nrc"]  # as decoded on one of the CPUs recorded (README there)


def test_a_stored_network_rebuilds_exactly() -> None:
    """What the decoder loads is exactly q * scale, and the embedding's frequencies are not stored."""
    arch = layout((64, 36), 4, 2)
    net = SessionNet(arch, 5)
    stored = net.quantized()
    assert "embedding.freqs" not in stored
    rebuilt = SessionNet(arch, 5)
    rebuilt.load_quantized(stored)
    for name, tensor in rebuilt.named_parameters():
        values = stored[name].q.astype(np.float32) * stored[name].scales[0]
        assert np.array_equal(tensor.detach().numpy().reshape(-1), values), name


def test_a_budget_too_short_for_the_level_is_refused_before_any_work(
    tmp_path: Path, clips: dict[str, np.ndarray]
) -> None:
    """The level asked is kept: a --minutes too short for it is refused with what would fit, the
    default budget grows to what the clip needs, and both are said before training."""
    frames, path = clips["bunny"], tmp_path / "t.nrc"
    with Archive.writing(path, NewArchive(strategy="grow"), "cpu") as archive:
        with pytest.raises(UsageError, match=r"quality 4 needs about \d+ (seconds|minutes) .* give --minutes [\d.]+"):
            archive.plan(frames, archive.settings(SessionRequest(minutes=0.01)))
        default = archive.plan(frames, archive.settings(SessionRequest()))
        counted = archive.plan(frames, archive.settings(SessionRequest(3, quality=2)))
    assert not path.exists(), "a plan writes nothing"
    assert default.settings.minutes >= DEFAULT_MINUTES and not default.settings.fit_minutes
    assert default.settings.quality == 4 and default.text.startswith("quality 4: about")
    assert counted.settings.epochs == 3 and "about 3 passes" in counted.text
    rushed = replace(GrowSettings.from_request(SessionRequest()), minutes=0.001)
    lowered = GrowLibrary(archive.config).plan(frames, rushed)
    assert lowered.settings.quality == 1 and lowered.settings.minutes > 0.001, "the default level fits the budget"
    assert "quality 4, the default, would not get 50 passes" in lowered.text


def test_a_time_budgeted_session_below_the_floor_is_refused_unless_allowed(
    tmp_path: Path, clips: dict[str, np.ndarray]
) -> None:
    assert GrowSettings.from_request(SessionRequest()).floor == FLOOR_DB
    assert GrowSettings.from_request(SessionRequest(minutes=5)).floor == FLOOR_DB
    assert GrowSettings.from_request(SessionRequest(20)).floor is None, "an epoch budget is the user's choice"
    assert GrowSettings.from_request(SessionRequest(allow_below_floor=True)).floor is None
    frames, path = clips["bunny"][:4, :90, :160], tmp_path / "f.nrc"
    rushed = _settings(epochs=1, quality=1)
    with (
        Archive.writing(path, NewArchive(strategy="grow"), "cpu") as archive,
        pytest.raises(BelowFloorError, match=r"below the 25 dB .* --allow-below-floor to keep it"),
    ):
        archive.add(frames, "rushed", 25.0, replace(rushed, floor=FLOOR_DB))
    assert not path.exists(), "a refused session wrote nothing"
    _add(path, frames, "rushed", rushed)
    assert Archive.open(path).sessions()[0].info.psnr < FLOOR_DB, "without a floor it is stored"
