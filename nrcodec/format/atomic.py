"""Durable file writes: a whole file committed atomically, or a chunk appended in place.

``commit_bytes`` writes beside the target, fsyncs, renames over it and fsyncs the directory: a kill
at any moment leaves either the old file or the new one, never a mix. ``append_bytes`` writes at
the end of an existing file and fsyncs: a kill leaves the old bytes followed by part of the new
ones, which readers of chunked files recognise (the last chunk announces more bytes than exist).

Test hook: when the environment variable ``NRCODEC_TEST_COMMIT_PAUSE`` holds a number of seconds,
both write the first half of their data, flush and fsync it, and sleep that long before writing
the rest, so a test can kill the process in the middle of a commit.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

PAUSE_VARIABLE = "NRCODEC_TEST_COMMIT_PAUSE"


def commit_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, _mode_for(target))
        with os.fdopen(fd, "wb") as handle:
            _write(handle, data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def append_bytes(path: str | os.PathLike[str], data: bytes, offset: int) -> None:
    """Write ``data`` at ``offset`` of an existing file and fsync; whatever followed ``offset`` (an
    interrupted append the caller has recognised) is dropped first."""
    with open(path, "r+b") as handle:
        handle.truncate(offset)
        handle.seek(offset)
        _write(handle, data)
        handle.flush()
        os.fsync(handle.fileno())


def _write(handle: BinaryIO, data: bytes) -> None:
    """Write ``data``; under the test hook, half of it first, durably, then a pause."""
    pause = os.environ.get(PAUSE_VARIABLE)
    if pause:
        half = len(data) // 2
        handle.write(data[:half])
        handle.flush()
        os.fsync(handle.fileno())
        time.sleep(float(pause))
        data = data[half:]
    handle.write(data)


def _mode_for(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual 0666 less the umask."""
    if target.exists():
        return target.stat().st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def remove_temporaries(path: str | os.PathLike[str]) -> list[Path]:
    """Delete what killed ``commit_bytes`` calls for ``path`` left beside it; call it only while
    holding the lock that every writer of ``path`` takes, so no live commit's file is touched."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    prefix = f".{target.name}."
    removed = [p for p in directory.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    for leftover in removed:
        leftover.unlink(missing_ok=True)
    return removed
