"""Keep what a damaged archive still holds: its header and intact sessions, copied into a new file.

Never in place: the damaged file stays as it is (whatever tool might recover more from it later
needs it), and the copy's bytes are the original's, so its sessions decode exactly as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nrcodec.errors import UsageError
from nrcodec.format.atomic import commit_bytes
from nrcodec.format.lock import writer_lock
from nrcodec.video.archive import Archive
from nrcodec.video.damage import SessionCheck


@dataclass(frozen=True)
class RepairReport:
    """What ``repair`` kept and dropped."""

    source: Path
    destination: Path
    kept: int
    """Sessions copied: the intact ones, from the first."""
    dropped: list[SessionCheck]
    file_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "destination": str(self.destination),
            "kept": self.kept,
            "dropped": [check.to_json() for check in self.dropped],
            "file_bytes": self.file_bytes,
        }


def repair(source: str | os.PathLike[str], destination: str | os.PathLike[str], force: bool = False) -> RepairReport:
    """Write ``source``'s header and intact sessions to ``destination`` (a new file, or an existing
    one other than the source with ``force``) and report what was dropped."""
    src, dst = Path(source), Path(destination)
    if dst.exists():
        if src.exists() and os.path.samefile(src, dst):
            raise UsageError(f"repair writes a new file and never changes {src}; give another destination")
        if not force:
            raise UsageError(f"{dst} exists; give another destination, or --force to replace it")
    check = Archive.check(src)
    end = check.header_bytes + sum(c.bytes for c in check.sessions[: check.intact])
    with open(src, "rb") as handle:
        kept = handle.read(end)
    with writer_lock(dst):
        commit_bytes(dst, kept)
    return RepairReport(src, dst, check.intact, check.sessions[check.intact :], len(kept))
