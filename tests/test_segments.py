"""Long clips as segments: a clip longer than ``--segment`` frames is learned as consecutive sessions
that the user sees, decodes and evaluates as one video (real frames, tiny budgets)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from typer.testing import CliRunner

import nrcodec
from nrcodec.cli import app
from nrcodec.video.archive import Archive
from nrcodec.video.grow.inherit import inherit
from nrcodec.video.grow.library import architecture_of
from nrcodec.video.grow.network import SessionNet, layout
from nrcodec.video.grow.parents import PARENT_KEY
from nrcodec.video.grow.settings import GrowSettings
from nrcodec.video.settings import NewArchive
from nrcodec.video.videos import group, segment_meta, split

runner = CliRunner()
FAST = ("--epochs", "2", "--quality", "1", "--device", "cpu", "--max-frames", "16")


def test_a_clip_is_split_into_even_segments() -> None:
    assert split(320, 120) == [(0, 107), (107, 213), (213, 320)]
    assert split(600, 120) == [(0, 120), (120, 240), (240, 360), (360, 480), (480, 600)]
    assert split(120, 120) == [(0, 120)]


def test_a_long_clip_is_one_video_of_segments(tmp_path: Path, samples: Path) -> None:
    lib = tmp_path / "lib.nrc"
    added = runner.invoke(app, ["add-video", str(lib), str(samples / "bunny.mp4"), *FAST, "--segment", "6", "--json"])
    assert added.exit_code == 0, added.output
    report = json.loads(added.stdout)
    assert report["session"] == 1 and report["frames"] == 16 and len(report["segments"]) == 3
    assert [s["frames"] for s in report["segments"]] == [5, 6, 5] and report["complete"] is True
    assert report["bytes"] == sum(s["bytes"] for s in report["segments"])
    before = Archive.open(lib).decode(1)
    assert runner.invoke(app, ["add-video", str(lib), str(samples / "closeup.mp4"), *FAST]).exit_code == 0

    archive = Archive.open(lib)
    assert [len(v.segments) for v in archive.videos()] == [3, 1] and len(archive.library.records) == 4
    assert np.array_equal(archive.decode(1), before), "a later add changed the long clip's decode"
    assert np.array_equal(archive.decode(1, 3, 13), before[3:13]), "a range across segments"
    assert archive.decode(2).shape == (16, 192, 144, 3)
    source = nrcodec.read_video(samples / "bunny.mp4", max_frames=16).frames
    assert abs(nrcodec.psnr(source, before) - archive.videos()[0].psnr) < 1e-3, "the video's PSNR is its frames'"
    shown = json.loads(runner.invoke(app, ["info", str(lib), "--json"]).stdout)
    assert [s["session"] for s in shown["sessions"]] == [1, 2] and shown["sessions"][1]["name"] == "closeup"
    decoded = runner.invoke(app, ["decode", str(lib), "-s", "1", "--frames", "2:14", "-o", str(tmp_path / "o.y4m")])
    assert decoded.exit_code == 0 and nrcodec.read_video(tmp_path / "o.y4m").frames.shape[0] == 12
    evaluated = runner.invoke(app, ["eval", str(lib), "--source", f"1={samples / 'bunny.mp4'}", "--json"])
    # the video's PSNR weights its segments' stored PSNRs (4 decimals each); eval measures the frames
    assert abs(json.loads(evaluated.stdout)["sessions"][0]["psnr_now"] - archive.videos()[0].psnr) < 2e-4


def test_an_interrupted_long_clip_shows_what_it_holds(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    """Two of three segments written (an add killed between them), then another video: both listed."""
    path, frames = tmp_path / "lib.nrc", clips["meadow"][:6, :90, :120]
    settings = GrowSettings(epochs=1, quality=1)
    with Archive.writing(path, NewArchive(), "cpu") as archive:
        for index in (1, 2):
            archive.add(frames[:3], "long", 25.0, settings, meta=segment_meta(index, 3))
        archive.add(frames, "next", 25.0, settings)
    videos = group(Archive.open(path).sessions())
    assert [(v.number, v.first.name, len(v.segments), v.complete) for v in videos] == [
        (1, "long", 2, False),
        (2, "next", 1, True),
    ]
    assert "2 of 3 segments" in runner.invoke(app, ["info", str(path)]).stdout


def test_a_segment_starts_from_the_previous_segments_blocks_and_head(tmp_path: Path, samples: Path) -> None:
    """Segment 2 of a clip is laid out like segment 1 (17 frames split 8 + 9) and its training starts
    from segment 1's stored blocks and head (recorded in its metadata); its stem starts fresh; a clip
    of its own with --parent none does not; and each segment still decodes from its own record alone."""
    lib = tmp_path / "lib.nrc"
    args = ["add-video", str(lib), str(samples / "bunny.mp4"), *FAST[:-1], "17", "--segment", "9"]
    assert runner.invoke(app, args).exit_code == 0
    alone_args = ["add-video", str(lib), str(samples / "closeup.mp4"), *FAST, "--parent", "none"]
    assert runner.invoke(app, alone_args).exit_code == 0
    archive = Archive.open(lib)
    first, second, alone = (archive.library.records[i] for i in range(3))
    assert (second.meta.get(PARENT_KEY), first.meta.get(PARENT_KEY), alone.meta.get(PARENT_KEY)) == (1, None, None)
    assert "parent_probe" not in second.meta
    assert second.meta["architecture"] == first.meta["architecture"] and second.shapes == first.shapes
    net = SessionNet(layout((320, 180), 8, 1), 5, 3)
    stem = net.stem[1].weight.detach().clone()
    assert inherit(net, first, architecture_of(first, "segment 1"))
    head = first.dense["head.weight"].dequantize(np.zeros(1, np.int64))
    assert np.array_equal(net.head.weight.detach().numpy().reshape(-1), head)
    assert torch.equal(net.stem[1].weight, stem)
    other = SessionNet(layout((176, 144), 8, 1), 5, 3)
    assert not inherit(other, first, architecture_of(first, "segment 1"))
    video = archive.videos()[0]
    assert np.array_equal(archive.decode(1, 8, 17), archive.library.decode(video.sessions[1], 0, 9))
