"""One bad byte costs one session, not the archive: the sessions before it open and decode exactly,
``check`` says which sessions are damaged, and ``repair`` keeps the intact ones in a new file.

Uses the version-1 fixture archives (three sessions each, hashes of their decoded frames in
``fixtures/v1/decodes.json``), so nothing is trained here.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nrcodec.errors import FormatError, UsageError
from nrcodec.format import nrc
from nrcodec.format.chunks import frame
from nrcodec.video.archive import Archive, NewArchive
from nrcodec.video.damage import Status
from nrcodec.video.repair import repair

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "v1"
DECODES = json.loads((FIXTURES / "decodes.json").read_text())


pytestmark = pytest.mark.usefixtures("one_thread")
"""The fixture hashes were taken on one thread."""


def _recorded(name: str, first: int, stop: int) -> list[list[str]]:
    """Sessions ``first + 1 .. stop`` of fixture ``name`` as decoded on each CPU recorded."""
    return [hashes[first:stop] for hashes in DECODES[name]]


def _hash(archive: Archive, session: int) -> str:
    return hashlib.sha256(archive.library.decode(session).tobytes()).hexdigest()


def _damaged(tmp_path: Path, name: str, session: int, where: float = 0.5) -> Path:
    """A copy of fixture ``name`` with one byte flipped inside session ``session``'s payload."""
    archive = Archive.open(FIXTURES / name)
    chunk = archive.checks[session - 1]
    data = bytearray((FIXTURES / name).read_bytes())
    data[chunk.offset + 8 + int((chunk.bytes - 12) * where)] ^= 0x10
    path = tmp_path / f"damaged-{name}"
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_last_session_leaves_the_others_decoding_exactly(tmp_path: Path) -> None:
    path = _damaged(tmp_path, "pnr-krnet.nrc", 3)
    archive = Archive.open(path)
    assert [c.status for c in archive.checks] == [Status.OK, Status.OK, Status.DAMAGED]
    assert "CRC32 mismatch" in (archive.checks[2].reason or "")
    assert [_hash(archive, s) for s in (1, 2)] in _recorded("pnr-krnet.nrc", 0, 2)
    assert "session 3" in archive.notices[0] and "nrcodec repair" in archive.notices[0]
    info = archive.describe().to_json()
    assert [s["session"] for s in info["sessions"]] == [1, 2]
    assert [(d["session"], d["status"]) for d in info["damaged_sessions"]] == [(3, "damaged")]
    with pytest.raises(FormatError, match=rf"session 3 of {path} is damaged .*nrcodec repair"):
        Archive.open(path, sessions=3)
    assert [_hash(Archive.open(path, sessions=2), 2)] in _recorded("pnr-krnet.nrc", 1, 2)


def test_sessions_after_a_damaged_one_are_unreachable(tmp_path: Path) -> None:
    path = _damaged(tmp_path, "spacenet-sinusoidal.nrc", 2)
    report = Archive.check(path)
    assert [c.status for c in report.sessions] == [Status.OK, Status.DAMAGED, Status.UNREACHABLE]
    assert report.intact == 1 and not report.ok and not report.torn_tail
    assert report.to_json()["sessions"][2]["reason"] == "needs session 2, which cannot be read"
    assert [_hash(Archive.open(path, sessions=1), 1)] in _recorded("spacenet-sinusoidal.nrc", 0, 1)
    with pytest.raises(FormatError, match=r"session 3 of .* needs session 2, which is damaged"):
        Archive.open(path, sessions=3)


def test_decoding_session_k_reads_only_the_header_and_sessions_up_to_k(tmp_path: Path) -> None:
    """Session 3 replaced by a chunk with a valid CRC but contents no decoder accepts: opening for
    session 2 never decodes it; opening everything finds it damaged."""
    source = Archive.open(FIXTURES / "pnr-krnet.nrc")
    data = (FIXTURES / "pnr-krnet.nrc").read_bytes()[: source.checks[2].offset]
    path = tmp_path / "bad-contents.nrc"
    path.write_bytes(data + frame(nrc.SESSION_TAG, b"\x02\x00\x00\x00{}"))
    for_two = Archive.open(path, sessions=2)
    assert [c.status for c in for_two.checks] == [Status.OK, Status.OK, Status.UNREAD]
    assert [_hash(for_two, 2)] in _recorded("pnr-krnet.nrc", 1, 2)
    assert [c.status for c in Archive.check(path).sessions] == [Status.OK, Status.OK, Status.DAMAGED]


def test_a_strategy_that_shares_weights_needs_every_session(tmp_path: Path) -> None:
    """ewc decodes every session with the latest weights: a damaged session 3 makes session 1's
    frames unknowable, so decoding it is refused; a torn tail is the archive before that add."""
    path = _damaged(tmp_path, "ewc-sinusoidal.nrc", 3)
    with pytest.raises(FormatError, match=r"decodes every session with the weights of all of them.*nrcodec repair"):
        Archive.open(path, sessions=1)
    assert len(Archive.open(path).library.records) == 2
    data = (FIXTURES / "ewc-sinusoidal.nrc").read_bytes()
    cut = tmp_path / "cut-ewc.nrc"
    cut.write_bytes(data[:-100])
    archive = Archive.open(cut, sessions=1)
    assert len(archive.library.records) == 2 and archive.checks[2].status == Status.TORN


def test_repair_copies_the_intact_sessions_into_a_new_file(tmp_path: Path) -> None:
    path = _damaged(tmp_path, "pnr-krnet.nrc", 3)
    before = path.read_bytes()
    fixed = tmp_path / "fixed.nrc"
    report = repair(path, fixed)
    assert report.kept == 2 and [c.session for c in report.dropped] == [3]
    assert path.read_bytes() == before
    assert (
        fixed.read_bytes() == before[: Archive.open(path).checks[2].offset]
        and report.file_bytes == fixed.stat().st_size
    )
    repaired = Archive.check(fixed)
    assert repaired.ok and len(repaired.sessions) == 2
    assert [_hash(Archive.open(fixed), s) for s in (1, 2)] in _recorded("pnr-krnet.nrc", 0, 2)

    with pytest.raises(UsageError, match="exists; give another destination, or --force"):
        repair(path, fixed)
    assert repair(path, fixed, force=True).kept == 2
    with pytest.raises(UsageError, match="never changes"):
        repair(path, path, force=True)
    assert path.read_bytes() == before


def test_nothing_is_added_after_a_damaged_session(tmp_path: Path) -> None:
    path = _damaged(tmp_path, "pnr-krnet.nrc", 2)
    before = path.read_bytes()
    with (
        pytest.raises(FormatError, match=r"session 2 of .* is damaged .*cannot be added after it.*nrcodec repair"),
        Archive.writing(path, NewArchive(), "cpu"),
    ):
        pass
    assert path.read_bytes() == before


def test_a_damaged_header_is_fatal_and_names_the_file(tmp_path: Path) -> None:
    data = bytearray((FIXTURES / "pnr-krnet.nrc").read_bytes())
    data[20] ^= 1
    path = tmp_path / "head.nrc"
    path.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=rf"{path}: archive header is damaged .*no session can be read"):
        Archive.check(path)


def test_the_fixture_copy_is_untouched_by_reading(tmp_path: Path) -> None:
    """Readers never write: not the archive, not a lock file."""
    copy = tmp_path / "copy.nrc"
    shutil.copyfile(FIXTURES / "pnr-krnet.nrc", copy)
    Archive.check(copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.nrc"]
    assert np.array_equal(np.frombuffer(copy.read_bytes(), np.uint8), np.fromfile(FIXTURES / "pnr-krnet.nrc", np.uint8))
