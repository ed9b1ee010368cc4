"""A grow session may start from an earlier video's network (``--parent``): a short probe decides under
auto, a losing probe leaves the session exactly as it would have been alone, and a child decodes from
its own record only."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.format.quant import Quantized
from nrcodec.media.video import read_video
from nrcodec.video.archive import Archive
from nrcodec.video.grow.inherit import inherit
from nrcodec.video.grow.library import architecture_of
from nrcodec.video.grow.network import SessionNet, layout
from nrcodec.video.grow.parents import PROBE_KEY
from nrcodec.video.grow.settings import GrowSettings
from nrcodec.video.settings import NewArchive
from nrcodec.video.videos import PARENT_KEY

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("one_thread")
"""The probes' outcomes below were measured on one thread."""
TINY = GrowSettings(epochs=2, quality=1)


def _clip(samples: Path, name: str) -> np.ndarray:
    return read_video(samples / f"{name}.mp4", 32).frames


def _two(path: Path, first: np.ndarray, second: np.ndarray, parent: str = "auto") -> Archive:
    with Archive.writing(path, NewArchive(), "cpu") as archive:
        archive.add(first, "first", 25.0, TINY)
        archive.add(second, "second", 25.0, replace(TINY, parent=parent))
    return Archive.open(path)


def _hash(frames: np.ndarray) -> str:
    return hashlib.sha256(frames.tobytes()).hexdigest()


def test_a_related_clip_starts_from_the_earlier_video_and_decodes_from_its_own_record(
    tmp_path: Path, samples: Path
) -> None:
    """The next 16 frames of the same shot: the probe puts the parent's start ahead, the session
    records both figures and its parent, info shows it; wiping the parent's stored weights in memory
    changes nothing in the child's decode."""
    frames = _clip(samples, "bunny")
    archive = _two(tmp_path / "lib.nrc", frames[:16], frames[16:])
    child = archive.library.records[1].meta
    warm, fresh = child[PROBE_KEY]
    assert warm > fresh and child[PARENT_KEY] == 1
    info = json.loads(runner.invoke(app, ["info", str(tmp_path / "lib.nrc"), "--json"]).stdout)
    assert [s["parent"] for s in info["sessions"]] == [None, 1]
    before = _hash(archive.library.decode(2))
    parent = archive.library.records[0]
    zeros = {name: Quantized(np.zeros_like(q.q), q.scales) for name, q in parent.dense.items()}
    archive.library.records[0] = replace(parent, dense=zeros)
    archive.library._cached = None
    assert _hash(archive.library.decode(2)) == before


def test_when_the_probe_favours_a_fresh_start_the_session_is_the_one_it_would_be_alone(
    tmp_path: Path, samples: Path
) -> None:
    """Two moments of the meadow clip at the tiny preset, where 2 passes from a fresh start end
    ahead: no parent is taken, and the stored weights equal those of the same add with --parent none."""
    frames = _clip(samples, "meadow")
    auto = _two(tmp_path / "auto.nrc", frames[:16], frames[16:])
    alone = _two(tmp_path / "none.nrc", frames[:16], frames[16:], "none")
    child, single = auto.library.records[1], alone.library.records[1]
    warm, fresh = child.meta[PROBE_KEY]
    assert warm <= fresh and PARENT_KEY not in child.meta
    assert PROBE_KEY not in single.meta and PARENT_KEY not in single.meta
    assert all(np.array_equal(child.dense[name].q, single.dense[name].q) for name in single.dense)


def test_a_named_parent_is_taken_without_a_probe_and_bad_ones_are_usage_errors(tmp_path: Path, samples: Path) -> None:
    lib = tmp_path / "lib.nrc"
    fast = ["--epochs", "1", "--quality", "1", "--max-frames", "8"]
    bunny = str(samples / "bunny.mp4")
    assert runner.invoke(app, ["add-video", str(lib), bunny, *fast]).exit_code == 0
    result = runner.invoke(app, ["add-video", str(lib), str(samples / "meadow.mp4"), *fast, "--parent", "1"])
    assert result.exit_code == 0 and "trained from session 1's network" in result.stdout
    child = Archive.open(lib).library.records[1].meta
    assert child[PARENT_KEY] == 1 and PROBE_KEY not in child
    assert runner.invoke(app, ["add-video", str(lib), bunny, *fast]).exit_code == 0
    default = Archive.open(lib).library.records[2].meta
    assert PARENT_KEY not in default and PROBE_KEY not in default, "a video starts fresh unless asked"
    for value, message in (("4", "the archive has 3 videos"), ("x", "auto, none or a video number")):
        bad = runner.invoke(app, ["add-video", str(lib), bunny, *fast, "--parent", value])
        assert bad.exit_code == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    supernet = ["add-video", str(tmp_path / "pnr.nrc"), bunny, *fast[:2], "--strategy", "pnr", "--parent", "1"]
    bad = runner.invoke(app, supernet)
    assert bad.exit_code == 2 and "--parent apply to grow archives" in bad.stderr


def test_a_narrower_network_inherits_the_strongest_channels_and_a_wider_one_keeps_its_extra_ones(
    tmp_path: Path, samples: Path
) -> None:
    frames = _clip(samples, "bunny")[:16]
    with Archive.writing(tmp_path / "lib.nrc", NewArchive(), "cpu") as archive:
        archive.add(frames, "parent", 25.0, replace(TINY, quality=3))
    record = archive.library.records[0]
    theirs = architecture_of(record, "parent")
    head = record.dense["head.weight"].dequantize(np.zeros(1, np.int64)).reshape(3, -1)
    narrow = SessionNet(layout((320, 180), 16, 2), 5, 3)
    assert narrow.arch.channels[-1] < theirs.channels[-1] and inherit(narrow, record, theirs)
    own = narrow.head.weight.detach().numpy().reshape(3, -1)
    columns = [int(np.flatnonzero((head == column[:, None]).all(axis=0))[0]) for column in own.T]
    assert len(set(columns)) == len(columns) == narrow.arch.channels[-1] and columns == sorted(columns)
    torch.manual_seed(0)
    wide = SessionNet(layout((320, 180), 16, 4), 5, 3)
    fresh = wide.head.weight.detach().clone()
    assert inherit(wide, record, theirs)
    width = theirs.channels[-1]
    assert np.array_equal(wide.head.weight.detach().numpy().reshape(3, -1)[:, :width], head)
    assert torch.equal(wide.head.weight[:, width:], fresh[:, width:])


def test_bench_transfer_compares_the_child_with_and_without_its_parent_and_resumes(
    tmp_path: Path, samples: Path
) -> None:
    """bunny then its own first frames again (related) at the tiny preset: three child rows from real
    archives, each compared with the alone row; a rerun reads the archives instead of training."""
    work, out = tmp_path / "work", tmp_path / "transfer.json"
    clip = str(samples / "bunny.mp4")
    args = ["bench", "transfer", clip, clip, "--workdir", str(work), "--max-frames", "8", "--epochs", "2"]
    args += ["--child-quality", "1", "--out", str(out), "--markdown", str(tmp_path / "transfer.md")]
    assert runner.invoke(app, args).exit_code == 0
    result = json.loads(out.read_text())
    rows = {row["design"]: row for row in result["rows"]}
    assert list(rows) == ["parent", "alone", "with parent", "with parent, quality 1"]
    assert rows["alone"]["parent"] is None and rows["with parent, quality 1"]["quality"] == 1
    for compared in result["against_alone"]:
        row = rows[compared["design"]]
        assert compared["bytes_ratio"] == round(row["bytes"] / rows["alone"]["bytes"], 4)
        assert compared["psnr_gain_db"] == round(row["psnr"] - rows["alone"]["psnr"], 4)
    assert rows["alone"]["bytes"] == Archive.open(work / "child-0.nrc").videos()[-1].bytes
    stamps = {path: path.stat().st_mtime_ns for path in work.glob("*.nrc")}
    assert runner.invoke(app, args).exit_code == 0
    assert {path: path.stat().st_mtime_ns for path in work.glob("*.nrc")} == stamps
    assert json.loads(out.read_text())["rows"] == result["rows"]
