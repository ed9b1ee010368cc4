"""Writers: one at a time under the lock, an add appends its chunk in place, and a kill in the
middle of the commit leaves the old archive for every reader and a clean one after the next add.

The writing processes are real ones (``WRITER`` below, through the Python API) killed with SIGKILL
while ``NRCODEC_TEST_COMMIT_PAUSE`` holds them in the middle of writing their chunk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from nrcodec.errors import FormatError, InputError
from nrcodec.format import atomic
from nrcodec.format.atomic import PAUSE_VARIABLE
from nrcodec.format.lock import lock_path
from nrcodec.video.archive import Archive, NewArchive
from nrcodec.video.damage import Status
from nrcodec.video.settings import SessionSettings

SETTINGS = SessionSettings(epochs=1, batch_size=4, lr=3e-3)
TINY = NewArchive(preset="tiny", strategy="pnr")
WRITER = """
import sys, time
from pathlib import Path
from nrcodec.media.video import read_video
from nrcodec.video.settings import SessionSettings
from nrcodec.video.archive import Archive, NewArchive

path, clip, go = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
frames = read_video(clip, max_frames=4).frames
notice = lambda line: print("WAIT", line, flush=True)
with Archive.writing(path, NewArchive(preset="tiny", strategy="pnr"), "cpu", on_wait=notice) as archive:
    print("LOCKED", flush=True)
    while not go.exists():
        time.sleep(0.01)
    report = archive.add(frames, clip.stem, 25.0, SessionSettings(epochs=1, batch_size=4, lr=3e-3))
print("ADDED", report.info.session, flush=True)
"""


def _writer(path: Path, clip: Path, go: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(clip), str(go)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _add(path: Path, frames: np.ndarray, name: str) -> tuple[Archive, list[str]]:
    with Archive.writing(path, TINY, "cpu") as archive:
        notices = list(archive.notices)
        archive.add(frames[:4], name, 25.0, SETTINGS)
    return archive, notices


def _written_bytes() -> int:
    """Bytes this process has passed to write(2) so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/self/io")


def test_an_add_appends_its_chunk_in_place(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    path = tmp_path / "lib.nrc"
    _add(path, clips["bunny"], "bunny")
    before, inode = path.read_bytes(), path.stat().st_ino
    with Archive.writing(path, TINY, "cpu") as archive:
        written = _written_bytes() if Path("/proc/self/io").exists() else None
        report = archive.add(clips["meadow"][:4], "meadow", 25.0, SETTINGS)
        if written is not None:
            assert _written_bytes() - written < report.bytes + 1024
    assert path.stat().st_ino == inode
    assert lock_path(path) == tmp_path / ".lib.nrc.lock" and lock_path(path).exists()
    data = path.read_bytes()
    assert data.startswith(before) and len(data) == len(before) + report.bytes == report.file_bytes
    assert Archive.check(path).ok


def test_two_writers_at_once_both_keep_their_session(tmp_path: Path, samples: Path) -> None:
    """The second writer waits (one notice line) while the first holds the lock, then reads the
    archive the first one wrote and adds after it."""
    path, go = tmp_path / "lib.nrc", tmp_path / "go"
    first = _writer(path, samples / "bunny.mp4", go)
    assert first.stdout is not None and first.stdout.readline().strip() == "LOCKED"
    second = _writer(path, samples / "meadow.mp4", go)
    assert second.stdout is not None
    waiting = second.stdout.readline()
    assert waiting.startswith("WAIT") and f"being written by another nrcodec process (pid {first.pid})" in waiting
    go.touch()
    out_first, out_second = first.communicate(timeout=300)[0], second.communicate(timeout=300)[0]
    assert first.returncode == 0 and second.returncode == 0
    assert out_first.split() == ["ADDED", "1"]
    assert out_second.split() == ["LOCKED", "ADDED", "2"]
    archive = Archive.open(path)
    assert [r.name for r in archive.library.records] == ["bunny", "meadow"]
    assert Archive.check(path).ok


def test_a_kill_in_the_middle_of_the_commit_leaves_the_old_archive(
    tmp_path: Path, samples: Path, clips: dict[str, np.ndarray]
) -> None:
    path, go = tmp_path / "lib.nrc", tmp_path / "go"
    _add(path, clips["closeup"], "closeup")
    original = path.read_bytes()
    reference = Archive.open(path).library.decode(1)
    go.touch()
    proc = _writer(path, samples / "meadow.mp4", go, **{PAUSE_VARIABLE: "600"})
    _wait_for(lambda: path.stat().st_size > len(original), proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    data = path.read_bytes()
    assert data.startswith(original) and len(data) > len(original)
    reopened = Archive.open(path)
    assert [c.status for c in reopened.checks] == [Status.OK, Status.TORN]
    assert "the last add to" in reopened.notices[0] and "was interrupted" in reopened.notices[0]
    assert np.array_equal(reopened.library.decode(1), reference)
    assert np.array_equal(Archive.open(path, sessions=1).library.decode(1), reference)

    archive, notices = _add(path, clips["meadow"], "meadow")
    assert "was interrupted" in notices[0] and "is replaced" in notices[0]
    assert path.read_bytes().startswith(original)
    check = Archive.check(path)
    assert check.ok and not check.torn_tail and len(check.sessions) == 2
    assert path.stat().st_size == archive.header_bytes + sum(archive.session_bytes)
    assert np.array_equal(Archive.open(path).library.decode(1), reference)


def test_a_kill_while_committing_the_first_session_leaves_no_archive(
    tmp_path: Path, samples: Path, clips: dict[str, np.ndarray]
) -> None:
    path, go = tmp_path / "new.nrc", tmp_path / "go"
    go.touch()
    proc = _writer(path, samples / "meadow.mp4", go, **{PAUSE_VARIABLE: "600"})
    temporaries = lambda: [p for p in tmp_path.iterdir() if p.name.endswith(".tmp") and p.stat().st_size]  # noqa: E731
    _wait_for(lambda: bool(temporaries()), proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not path.exists() and temporaries()
    with pytest.raises(InputError, match="does not exist"):
        Archive.open(path)
    _add(path, clips["meadow"], "meadow")
    assert Archive.check(path).ok and not temporaries()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".new.nrc.lock", "go", "new.nrc"]


def test_a_cut_copy_is_read_but_not_appended_to(tmp_path: Path, clips: dict[str, np.ndarray]) -> None:
    """A file that ends inside a chunk with no interrupted add on record (a copy cut short) is not
    truncated by a writer: that is for repair."""
    path = tmp_path / "lib.nrc"
    _add(path, clips["bunny"], "bunny")
    cut = tmp_path / "elsewhere" / "cut.nrc"
    cut.parent.mkdir()
    cut.write_bytes(path.read_bytes()[:-50])
    assert Archive.open(cut).checks[0].status == Status.TORN
    with (
        pytest.raises(FormatError, match=r"no interrupted add explains it.*nrcodec repair"),
        Archive.writing(cut, TINY, "cpu"),
    ):
        pass
    assert cut.stat().st_size == path.stat().st_size - 50


def test_an_add_outside_writing_refuses_to_commit_over_another_writers_session(
    tmp_path: Path, clips: dict[str, np.ndarray]
) -> None:
    """``Archive.open`` + ``add`` takes the lock for the commit only, and finds the file changed."""
    path = tmp_path / "lib.nrc"
    _add(path, clips["bunny"], "bunny")
    one, two = Archive.open(path), Archive.open(path)
    one.add(clips["meadow"][:4], "meadow", 25.0, SETTINGS)
    after_one = path.read_bytes()
    with pytest.raises(InputError, match="changed by another process while this session trained; nothing was"):
        two.add(clips["closeup"][:4], "closeup", 25.0, SETTINGS)
    assert path.read_bytes() == after_one
    assert [r.name for r in Archive.open(path).library.records] == ["bunny", "meadow"]


def test_a_disk_full_during_the_append_is_one_error_and_the_next_add_recovers(
    tmp_path: Path, clips: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills after half of the chunk is written: an InputError, readers see the old archive,
    and the next add replaces the torn tail."""
    path = tmp_path / "lib.nrc"
    _add(path, clips["bunny"], "bunny")
    original = path.read_bytes()

    def half_then_full(handle: BinaryIO, data: bytes) -> None:
        handle.write(data[: len(data) // 2])
        handle.flush()
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(atomic, "_write", half_then_full)
        with pytest.raises(InputError, match=r"cannot write .*No space left on device; readers still see"):
            _add(path, clips["meadow"], "meadow")
    assert len(path.read_bytes()) > len(original)
    assert [c.status for c in Archive.open(path).checks] == [Status.OK, Status.TORN]
    _add(path, clips["meadow"], "meadow")
    assert Archive.check(path).ok and path.read_bytes().startswith(original)
