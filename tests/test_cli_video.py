"""The video commands end to end, as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.format.atomic import PAUSE_VARIABLE
from nrcodec.media.video import read_video, write_video
from nrcodec.video.archive import Archive

FAST = ["--epochs", "2", "--max-frames", "8", "--device", "cpu"]
runner = CliRunner()


def nrcodec(*args: str, input: bytes | None = None) -> object:
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.mark.parametrize("strategy", ["grow", "pnr"])
def test_library_grows_without_changing_earlier_sessions(tmp_path: Path, samples: Path, strategy: str) -> None:
    """The default (grow: a network per session) and the paper's masked supernet (pnr)."""
    lib = tmp_path / "lib.nrc"
    for clip in ("bunny", "meadow"):
        preset = ["--preset", "tiny"] if strategy == "pnr" else []
        result = nrcodec("add-video", lib, samples / f"{clip}.mp4", *FAST, *preset, "--strategy", strategy, "--json")
        assert result.exit_code == 0, result.output
    first = json.loads(nrcodec("add-video", lib, samples / "closeup.mp4", *FAST, "--json").stdout)
    assert first["session"] == 3 and first["width"] == 144 and first["height"] == 192

    assert nrcodec("decode", lib, "--session", "1", "-o", tmp_path / "a.y4m").exit_code == 0
    info = json.loads(nrcodec("info", lib, "--json").stdout)
    assert [s["name"] for s in info["sessions"]] == ["bunny", "meadow", "closeup"]
    assert info["header_bytes"] + sum(s["bytes"] for s in info["sessions"]) == info["file_bytes"]
    assert info["file_bytes"] == lib.stat().st_size
    assert info["forget_free"] is True and info["strategy"] == strategy
    if strategy == "pnr":
        assert 0 < info["capacity_used"] < 1 and info["format_version"] == 1
    else:
        assert info["grows"] is True and info["format_version"] == 2

    before = (tmp_path / "a.y4m").read_bytes()
    prefix = lib.read_bytes()
    result = nrcodec("add-video", lib, samples / "bunny.mp4", *FAST, "--name", "again", "--json")
    assert result.exit_code == 0, result.output
    assert lib.read_bytes().startswith(prefix)
    assert nrcodec("decode", lib, "--session", "1", "-o", tmp_path / "b.y4m").exit_code == 0
    assert (tmp_path / "b.y4m").read_bytes() == before

    report = json.loads(
        nrcodec(
            "eval", lib, "--source", f"1={samples / 'bunny.mp4'}", "--source", f"3={samples / 'closeup.mp4'}", "--json"
        ).stdout
    )
    assert report["bwt_psnr"] == 0.0
    assert [r["psnr_now"] for r in report["sessions"]] == [r["psnr_at_add"] for r in report["sessions"]]


def test_y4m_from_stdin_and_to_stdout(tmp_path: Path, samples: Path) -> None:
    clip = read_video(samples / "meadow.mp4", max_frames=6)
    stream = tmp_path / "in.y4m"
    write_video(clip.frames, clip.fps, stream)
    lib = tmp_path / "pipe.nrc"
    result = nrcodec("add-video", lib, "-", *FAST, "--json", input=stream.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["frames"] == 6

    result = nrcodec("decode", lib, "--session", "1", "-o", "-", "--frames", "1:4")
    assert result.exit_code == 0
    out = tmp_path / "out.y4m"
    out.write_bytes(result.stdout_bytes)
    decoded = read_video(out)
    assert decoded.frames.shape == (3, 180, 240, 3)
    assert decoded.fps == pytest.approx(clip.fps)


def _one_line_error(result: object, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def test_bad_inputs_give_one_line_and_exit_1(tmp_path: Path, samples: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a video\n")
    assert "notes.txt" in _one_line_error(nrcodec("add-video", tmp_path / "x.nrc", text, *FAST))
    assert not (tmp_path / "x.nrc").exists()
    assert "does not exist" in _one_line_error(nrcodec("info", tmp_path / "missing.nrc"))
    assert "is not an nrcodec file" in _one_line_error(nrcodec("info", text))
    lib = tmp_path / "lib.nrc"
    assert nrcodec("add-video", lib, samples / "closeup.mp4", *FAST).exit_code == 0
    assert "session 2 does not exist" in _one_line_error(nrcodec("decode", lib, "-s", "2", "-o", tmp_path / "o.y4m"))
    assert "0:99" in _one_line_error(nrcodec("decode", lib, "-s", "1", "--frames", "0:99", "-o", tmp_path / "o.y4m"))
    assert ".mkv" in _one_line_error(nrcodec("decode", lib, "-s", "1", "-o", tmp_path / "o.xyz"))


def test_a_full_supernet_says_so_before_training(tmp_path: Path, samples: Path) -> None:
    lib = tmp_path / "full.nrc"
    first = ("--strategy", "pnr", "--preset", "tiny", "--capacity", "1.0")
    assert nrcodec("add-video", lib, samples / "closeup.mp4", *first, *FAST).exit_code == 0
    before = lib.read_bytes()
    info = json.loads(nrcodec("info", lib, "--json").stdout)
    assert info["capacity_left"] == 0.0
    line = _one_line_error(nrcodec("add-video", lib, samples / "bunny.mp4", *FAST))
    assert line.startswith(f"error: {lib} is full: its 1 session froze 100.00% of the supernet's weights")
    assert lib.read_bytes() == before


def test_usage_errors_exit_2(tmp_path: Path, samples: Path) -> None:
    assert nrcodec("decode", tmp_path / "lib.nrc", "-o", "x.y4m").exit_code == 2
    assert nrcodec("add-video").exit_code == 2
    lib = tmp_path / "lib.nrc"
    assert (
        nrcodec("add-video", lib, samples / "closeup.mp4", *FAST, "--strategy", "pnr", "--preset", "tiny").exit_code
        == 0
    )
    before = lib.read_bytes()
    changed = _one_line_error(nrcodec("add-video", lib, samples / "bunny.mp4", "--preset", "small"), 2)
    assert "created with --preset tiny; it cannot change to small" in changed
    grow = _one_line_error(nrcodec("add-video", tmp_path / "g.nrc", samples / "bunny.mp4", "--preset", "tiny"), 2)
    assert "--preset shape the shared supernet" in grow and not (tmp_path / "g.nrc").exists()
    assert "--strategy-option" in _one_line_error(
        nrcodec("add-video", lib, samples / "bunny.mp4", "--strategy-option", "strength=1"), 2
    )
    assert "unknown strategy 'nope'" in _one_line_error(
        nrcodec("add-video", tmp_path / "n.nrc", "x", "--strategy", "nope"), 2
    )
    assert lib.read_bytes() == before and not (tmp_path / "n.nrc").exists()


def _run(args: list[str], **kw: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "nrcodec", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw
    )


def test_sigkill_in_the_middle_of_the_commit_leaves_the_old_archive(tmp_path: Path, samples: Path) -> None:
    """The test hook holds add-video after half of its chunk is on disk; SIGKILL there leaves a torn
    tail that readers ignore and the next add-video replaces."""
    lib = tmp_path / "lib.nrc"
    assert nrcodec("add-video", lib, samples / "closeup.mp4", *FAST).exit_code == 0
    original = lib.read_bytes()
    reference = Archive.open(lib).library.decode(1)
    env = {**os.environ, PAUSE_VARIABLE: "600"}
    proc = _run(["add-video", str(lib), str(samples / "meadow.mp4"), *FAST], env=env)
    deadline = time.monotonic() + 120
    while lib.stat().st_size == len(original):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert lib.read_bytes().startswith(original) and lib.stat().st_size > len(original)
    reopened = Archive.open(lib)
    assert len(reopened.library.records) == 1 and "was interrupted" in reopened.notices[0]
    assert np.array_equal(reopened.library.decode(1), reference)

    assert nrcodec("add-video", lib, samples / "meadow.mp4", *FAST).exit_code == 0
    assert lib.read_bytes().startswith(original)
    assert Archive.check(lib).ok and len(Archive.open(lib).library.records) == 2
    assert np.array_equal(Archive.open(lib).library.decode(1), reference)


def test_two_add_video_at_once_keep_both_sessions(tmp_path: Path, samples: Path) -> None:
    """Once, both runs printed "added session 1" and one session was lost."""
    lib = tmp_path / "lib.nrc"
    args = ["add-video", str(lib), "--epochs", "2", "--max-frames", "4", "--device", "cpu"]
    runs = [_run([*args[:2], str(samples / clip), *args[2:], "--json"]) for clip in ("bunny.mp4", "meadow.mp4")]
    reports = []
    for proc in runs:
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr.decode()
        reports.append(json.loads(stdout))
    assert sorted(r["session"] for r in reports) == [1, 2]
    archive = Archive.open(lib)
    assert sorted(r.name for r in archive.library.records) == ["bunny", "meadow"]
    assert archive.file_bytes == max(r["file_bytes"] for r in reports)
