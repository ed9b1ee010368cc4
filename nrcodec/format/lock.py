"""One writer per archive: an exclusive ``flock`` on a hidden lock file beside it, which also
journals the append in flight.

The lock is on ``.NAME.lock``, not on the archive, because an archive's first session is committed
by renaming a new file over the path: two processes could each hold a lock on a different inode.
The lock file never moves, and it stays when the writer ends (deleting it would let a waiting
writer lock a file that a third process no longer sees). ``flock`` locks die with their process,
so a killed writer never leaves the archive locked. Readers never take the lock: the file they
read only ever grows by whole appends, and they ignore a torn tail.

The journal: before an append the writer records its offset and length in the lock file and
fsyncs it. The next writer truncates a torn tail only where the journal says an append was
interrupted; a file that ends inside a chunk for any other reason (a cut copy, damage) is left
for ``repair``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from nrcodec.errors import InputError

MAX_JOURNAL = 4096
"""The lock file holds one short JSON object; anything longer is not ours and is ignored."""


@dataclass(frozen=True)
class PendingAppend:
    """An append a writer started: ``size`` bytes at ``offset`` of the archive."""

    offset: int
    size: int


def lock_path(archive: Path) -> Path:
    return archive.with_name(f".{archive.name}.lock")


class WriterLock:
    """The held lock of one archive, and its journal."""

    def __init__(self, archive: Path, fd: int) -> None:
        self.archive = archive
        self._fd = fd

    def pending(self) -> PendingAppend | None:
        """The append the last writer started and did not finish, if any."""
        return _parse_journal(os.pread(self._fd, MAX_JOURNAL + 1, 0))

    def claim(self) -> None:
        """Put this process's pid in the journal (for the wait notice), keeping what is in flight."""
        pending = self.pending()
        self._record({"pid": os.getpid(), **({"append": asdict(pending)} if pending else {})})

    def begin_append(self, offset: int, size: int) -> None:
        """Record, durably, that ``size`` bytes are about to be appended at ``offset``."""
        self._record({"pid": os.getpid(), "append": {"offset": offset, "size": size}})
        os.fsync(self._fd)

    def end_append(self) -> None:
        """The append is on disk: nothing is in flight any more."""
        self._record({"pid": os.getpid()})

    def _record(self, journal: dict[str, object]) -> None:
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, json.dumps(journal).encode(), 0)


@contextlib.contextmanager
def writer_lock(archive: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[WriterLock]:
    """Hold ``archive``'s writer lock; if another process holds it, call ``on_wait`` once with a
    one-line notice and wait for it (Ctrl-C gives up)."""
    path = lock_path(archive)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as error:
        raise InputError(
            f"cannot lock {archive} for writing: cannot create {path.name} beside it "
            f"({error.strerror or error}); the folder must be writable"
        ) from None
    try:
        _acquire(fd, archive, on_wait)
        held = WriterLock(archive, fd)
        held.claim()
        yield held
    finally:
        os.close(fd)


def read_pending(archive: Path) -> PendingAppend | None:
    """What the journal says is in flight, read without the lock (for a reader's notice)."""
    try:
        with open(lock_path(archive), "rb") as handle:
            return _parse_journal(handle.read(MAX_JOURNAL + 1))
    except OSError:
        return None


def _acquire(fd: int, archive: Path, on_wait: Callable[[str], None] | None) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    if on_wait is not None:
        pid = _holder(os.pread(fd, MAX_JOURNAL + 1, 0))
        by = f" (pid {pid})" if pid else ""
        on_wait(f"{archive} is being written by another nrcodec process{by}; waiting for it to finish")
    fcntl.flock(fd, fcntl.LOCK_EX)


def _journal(data: bytes) -> dict[str, object]:
    if len(data) > MAX_JOURNAL:
        return {}
    try:
        journal = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    return journal if isinstance(journal, dict) else {}


def _holder(data: bytes) -> int | None:
    pid = _journal(data).get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) else None


def _parse_journal(data: bytes) -> PendingAppend | None:
    entry = _journal(data).get("append")
    if not isinstance(entry, dict):
        return None
    offset, size = entry.get("offset"), entry.get("size")
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (offset, size)):
        return None
    return PendingAppend(int(offset), int(size))  # type: ignore[arg-type]
