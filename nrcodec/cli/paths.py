"""Output checks made before any work starts, so that hours of training never end in "cannot write"."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from nrcodec.errors import InputError, UsageError


def check_output(
    path: Path, inputs: Iterable[Path | str] = (), *, replaces: str | None = None, force: bool = False
) -> None:
    """Fail now if ``path`` cannot be written at the end.

    ``path`` may not be one of ``inputs`` (that would destroy them); its folder must exist and be
    writable; and when ``replaces`` names what an existing file at ``path`` holds (an archive, a
    codec), it is only replaced with ``force``.
    """
    for given in inputs:
        if str(given) != "-" and _same_file(path, Path(given)):
            raise UsageError(f"{path} is also an input; writing it would destroy the input (choose another output)")
    if path.is_dir():
        raise UsageError(f"{path} is a folder; give a file name to write")
    if replaces is not None and path.exists() and not force:
        raise UsageError(f"{path} already holds {replaces}; pass --force to replace it, or choose another name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: folder {folder} does not exist (create it first)")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write {path}: permission denied (choose a writable place)")


def _same_file(a: Path, b: Path) -> bool:
    """True when both name one file (links and relative paths included)."""
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()
