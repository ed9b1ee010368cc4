"""Every strategy on the one loop, on real clips at the tiny preset: who forgets and who cannot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from nrcodec.bench.sequence import run_sequence
from nrcodec.cli import app
from nrcodec.errors import FormatError
from nrcodec.format import nrc
from nrcodec.video.archive import Archive
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.library import SupernetLibrary
from nrcodec.video.supernet.model import PRESETS
from nrcodec.video.supernet.strategies.spacenet import reserved_rows

TINY = PRESETS["tiny"]
SHORT = SessionSettings(epochs=4, batch_size=4, lr=1e-2)
runner = CliRunner()


@pytest.fixture(scope="module")
def sequence(clips: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray, float]]:
    """Three clips of different content and shape, 8 frames each."""
    return [(name, frames[:8], 25.0) for name, frames in clips.items()]


def _config(strategy: str, embedding: str = "sinusoidal") -> SupernetConfig:
    return SupernetConfig(preset="tiny", architecture=TINY.architecture.with_embedding(embedding), strategy=strategy)


@pytest.mark.parametrize("strategy", ["pnr", "wsn", "spacenet"])
def test_forget_free_strategies_decode_earlier_sessions_bit_identically(strategy: str, sequence: list) -> None:
    library = SupernetLibrary(_config(strategy))
    at_add = []
    for name, frames, fps in sequence:
        library.add_session(frames, name, fps, SHORT)
        at_add.append(library.decode(len(library.records)))
    for session, first in enumerate(at_add, start=1):
        assert np.array_equal(library.decode(session), first), f"{strategy} session {session} changed"
    run = run_sequence(sequence, _config(strategy), SHORT)
    assert run["bwt_psnr"] == 0.0
    assert [r["psnr_now"] for r in run["sessions"]] == [r["psnr_at_add"] for r in run["sessions"]]


@pytest.mark.parametrize("strategy", ["finetune", "ewc"])
def test_finetune_and_ewc_forget(strategy: str, sequence: list) -> None:
    run = run_sequence(sequence, _config(strategy), SHORT)
    assert run["bwt_psnr"] < 0, run
    assert run["sessions"][0]["psnr_now"] < run["sessions"][0]["psnr_at_add"]


def test_shared_strategies_store_changed_weights_and_reopen_exactly(tmp_path: Path, sequence: list) -> None:
    path = tmp_path / "shared.nrc"
    archive = Archive.create(path, _config("anpyc"))
    (name, frames, fps), second = sequence[0], sequence[1]
    archive.add(frames, name, fps, SHORT)
    first_decode = archive.library.decode(1)
    archive.add(second[1], second[0], second[2], SHORT)
    assert not np.array_equal(archive.library.decode(1), first_decode), "a shared network moves earlier sessions"
    reopened = Archive.open(path)
    for session in (1, 2):
        assert np.array_equal(reopened.library.decode(session), archive.library.decode(session))
    record = reopened.library.records[1]
    assert all(layer.written is not None and layer.mask.all() for layer in record.layers.values())
    assert reopened.describe().forget_free is False
    assert reopened.library.state.frozen()["stem.0"].sum() == 0


def test_replay_recites_earlier_sessions_and_forgets_less_than_finetune(sequence: list) -> None:
    replay = run_sequence(sequence, _config("replay"), SHORT)
    finetune = run_sequence(sequence, _config("finetune"), SHORT)
    assert replay["bwt_psnr"] > finetune["bwt_psnr"]


def test_spacenet_never_grows_into_reserved_neurons(sequence: list) -> None:
    library = SupernetLibrary(_config("spacenet"))
    used_before = None
    for name, frames, fps in sequence:
        frozen = {n: layer.frozen.clone() for n, layer in library.state.layers.items()}
        reserved = reserved_rows(library.records, library.model)
        library.add_session(frames, name, fps, SHORT)
        record = library.records[-1]
        for n, layer in library.state.layers.items():
            new = torch.from_numpy(record.layers[n].mask).view_as(layer.weight) & ~frozen[n]
            assert not new[reserved[n]].any(), f"session {len(library.records)} grew into reserved neurons of {n}"
        assert any(record.meta["spacenet"]["reserved"].values())
        left = library.strategy.summary(library.records, library.model)["space_left"]
        assert used_before is None or left < used_before
        used_before = left


def test_static_sparse_differs_from_spacenet_only_by_drop_and_grow(sequence: list) -> None:
    masks = {}
    for strategy in ("spacenet", "static"):
        library = SupernetLibrary(_config(strategy))
        library.add_session(*sequence[0][1:2], sequence[0][0], 25.0, SHORT)
        masks[strategy] = library.records[0].layers["block.0"].mask
    assert masks["spacenet"].sum() == masks["static"].sum()
    assert not np.array_equal(masks["spacenet"], masks["static"])


def test_krnet_embedding_archive_is_forget_free_and_reopens_exactly(tmp_path: Path, sequence: list) -> None:
    path = tmp_path / "krnet.nrc"
    archive = Archive.create(path, _config("pnr", "krnet"))
    decodes = []
    for name, frames, fps in sequence[:2]:
        archive.add(frames, name, fps, SHORT)
        decodes.append(archive.library.decode(len(archive.library.records)))
    reopened = Archive.open(path)
    assert reopened.config.architecture.embedding == "krnet"
    groups = reopened.library.records[0].dense["embed.static_ids"].q.size // TINY.architecture.id_dim
    assert groups == 8 // TINY.architecture.group_size
    for session, first in enumerate(decodes, start=1):
        assert np.array_equal(reopened.library.decode(session), first)


def test_chunk_of_a_shared_session_is_refused_by_a_forget_free_archive(sequence: list) -> None:
    shared = SupernetLibrary(_config("finetune"))
    result = shared.add_session(sequence[0][1], "a", 25.0, SHORT)
    parsed = nrc.parse(nrc.header_chunk({}, 1) + result.chunk)
    forget_free = SupernetLibrary(_config("pnr"))
    record = forget_free.read_session(parsed.sessions[0], 1)
    with pytest.raises(FormatError, match="not stored as a pnr session"):
        forget_free.state.install(record)


def test_cli_strategy_is_fixed_at_creation_and_eval_prints_the_transfer_matrix(tmp_path: Path, samples: Path) -> None:
    lib = tmp_path / "lib.nrc"
    fast = ["--preset", "tiny", "--epochs", "2", "--max-frames", "8", "--device", "cpu"]
    for clip in ("bunny", "meadow"):
        result = runner.invoke(app, ["add-video", str(lib), str(samples / f"{clip}.mp4"), *fast, "--strategy", "ewc"])
        assert result.exit_code == 0, result.output
    wrong = runner.invoke(app, ["add-video", str(lib), str(samples / "closeup.mp4"), "--strategy", "pnr"])
    assert wrong.exit_code == 2 and "--strategy ewc" in wrong.stderr and "Traceback" not in wrong.stderr
    info = json.loads(runner.invoke(app, ["info", str(lib), "--json"]).stdout)
    assert info["strategy"] == "ewc" and info["forget_free"] is False

    other = tmp_path / "other.nrc"
    bad_args = [*fast, "--strategy", "ewc", "--strategy-option", "x=1"]
    bad = runner.invoke(app, ["add-video", str(other), str(samples / "bunny.mp4"), *bad_args])
    assert bad.exit_code == 2 and "has no option 'x'" in bad.stderr and not other.exists()
    good = [*fast, "--strategy", "ewc", "--strategy-option", "strength=1e3"]
    assert runner.invoke(app, ["add-video", str(other), str(samples / "bunny.mp4"), *good]).exit_code == 0
    assert json.loads(runner.invoke(app, ["info", str(other), "--json"]).stdout)["strategy_options"] == {
        "strength": 1000.0
    }

    png = tmp_path / "matrix.png"
    sources = ["--source", f"1={samples / 'bunny.mp4'}", "--source", f"2={samples / 'meadow.mp4'}"]
    result = runner.invoke(app, ["eval", str(lib), *sources, "--matrix", "--heatmap", str(png), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    grid = report["matrix"]
    assert grid["subnetworks"] == [1, 2] and grid["videos"] == [1, 2]
    assert [grid["psnr"][i][i] for i in range(2)] == [r["psnr_now"] for r in report["sessions"]]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
