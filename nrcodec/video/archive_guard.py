"""What readers and writers of a damaged or torn archive are told, and what a writer refuses.

Readers go on with the sessions that can be read and get a notice. A writer refuses to append
after a damaged session (the new session would be unreachable) and truncates a torn tail only
where the lock file's journal says an add was interrupted; everything else is for ``repair``,
which copies the intact sessions into a new file.
"""

from __future__ import annotations

from pathlib import Path

from nrcodec.errors import ArchiveFullError, FormatError, InputError
from nrcodec.format.lock import PendingAppend
from nrcodec.video.damage import SessionCheck, Status
from nrcodec.video.records import CapacityReport
from nrcodec.video.videos import Video


def repair_hint(path: Path) -> str:
    return f"run `nrcodec repair {path} {path.with_name(f'{path.stem}-repaired{path.suffix}')}`"


def _first_problem(checks: list[SessionCheck]) -> SessionCheck | None:
    return next((c for c in checks if c.status in (Status.DAMAGED, Status.TORN)), None)


def _interrupted(check: SessionCheck, pending: PendingAppend | None) -> bool:
    """A torn chunk that the journal says was being appended at its place."""
    return check.status == Status.TORN and pending is not None and pending.offset == check.offset


def _before(j: int) -> str:
    """The sessions before session ``j``, in words."""
    return {1: "no session before it", 2: "session 1"}.get(j, f"sessions 1-{j - 1}")


def damage_notices(path: Path, checks: list[SessionCheck], pending: PendingAppend | None) -> list[str]:
    """What a reader is told about sessions it cannot read."""
    problem = _first_problem(checks)
    if problem is None:
        return []
    j = problem.session
    if problem.status == Status.TORN:
        if _interrupted(problem, pending):
            return [
                f"the last add to {path} was interrupted (or is still being written); its partial session {j} "
                f"({problem.bytes} bytes) is ignored"
            ]
        return [
            f"{path} ends inside session {j}'s chunk ({problem.bytes} bytes; was the file cut short?); "
            f"session {j} is ignored; {repair_hint(path)} for a clean copy"
        ]
    later = sum(1 for c in checks if c.session > j)
    return [
        f"session {j} of {path} is damaged ({problem.reason}); {_before(j)} can be read, {later} later "
        f"session(s) need session {j}; {repair_hint(path)} to keep what can be read in a new file"
    ]


def unreadable(path: Path, checks: list[SessionCheck], session: int, forget_free: bool) -> str | None:
    """Why session ``session`` cannot be decoded, or None (a missing session is the decoder's to name)."""
    problem = next((c for c in checks if c.status == Status.DAMAGED), None)
    if problem is None:
        return None
    j = problem.session
    if not forget_free:
        return (
            f"session {j} of {path} is damaged ({problem.reason}), and this archive's strategy decodes every "
            f"session with the weights of all of them; {repair_hint(path)} to get the archive as it was "
            f"before session {j} was added"
        )
    if session < j or session > len(checks):
        return None
    which = f"session {session} of {path}" + (
        " is damaged" if session == j else f" needs session {j}, which is damaged"
    )
    return f"{which} ({problem.reason}); {_before(j)} can be read: {repair_hint(path)} to keep it in a new file"


def unreadable_video(path: Path, checks: list[SessionCheck], video: Video | None, forget_free: bool) -> str | None:
    """Why a video (a session, or a long clip's segments) cannot be decoded, or None; ``video`` is None
    when it is not among the readable ones (then the first damaged session is what it needs)."""
    damaged = [c.session for c in checks if c.status == Status.DAMAGED]
    if not damaged:
        return None
    needs = video.sessions[-1] if video is not None and video.complete else damaged[0]
    return unreadable(path, checks, needs, forget_free)


def appendable(path: Path, checks: list[SessionCheck], pending: PendingAppend | None) -> list[str]:
    """Refuse to append to a damaged archive; a torn tail left by an interrupted add is fine (the
    append overwrites it), one that nothing explains is not."""
    problem = _first_problem(checks)
    if problem is None:
        return []
    j = problem.session
    if problem.status == Status.DAMAGED:
        raise FormatError(
            f"session {j} of {path} is damaged ({problem.reason}); a new session cannot be added after it: "
            f"{repair_hint(path)}, then add to the repaired file"
        )
    if not _interrupted(problem, pending):
        raise FormatError(
            f"{path} ends inside session {j}'s chunk, and no interrupted add explains it (was the file cut "
            f"short?); nothing was written: {repair_hint(path)}, then add to the repaired file"
        )
    return [f"the last add to {path} was interrupted; its partial session ({problem.bytes} bytes) is replaced"]


def unchanged(path: Path, size: int | None) -> None:
    """The file is as it was read (``size`` bytes, or absent when None): no other writer committed
    while this session trained."""
    now = path.stat().st_size if path.exists() else None
    if now != size:
        raise InputError(
            f"{path} was changed by another process while this session trained; nothing was written: add the "
            "video again (writers that use Archive.writing wait for each other)"
        )


FULL = 0.999
"""A supernet with less than 0.1% of its weights free is full: a new session could learn almost
nothing of its own (it would only reuse frozen weights)."""


def has_room(path: Path, sessions: int, capacity: CapacityReport) -> None:
    """Refuse, before any training, to add a session to a full supernet (a grow archive never fills)."""
    if capacity.weights and capacity.used >= FULL:
        raise ArchiveFullError(
            f"{path} is full: its {sessions} session{'s' * (sessions != 1)} froze {capacity.used:.2%} of the "
            "supernet's weights, so a new session would learn nothing of its own; add the video to a new "
            "archive (a grow archive, the default, never fills up)"
        )
