"""The .nrc archive: honest bytes, tight overhead, and one clean error for any damage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nrcodec.errors import FormatError
from nrcodec.format import nrc, nrc_v1
from nrcodec.video.archive import Archive
from nrcodec.video.damage import Status
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.model import PRESETS

SETTINGS = SessionSettings(epochs=2, batch_size=4, lr=3e-3)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, clips: dict[str, np.ndarray]) -> tuple[Archive, list]:
    path = tmp_path_factory.mktemp("archive") / "lib.nrc"
    lib = Archive.create(path, SupernetConfig(preset="tiny", architecture=PRESETS["tiny"].architecture))
    added = [lib.add(clips[name][:8], name, 25.0, SETTINGS) for name in ("bunny", "closeup")]
    return lib, added


def test_session_bytes_add_up_to_the_file(archive: tuple[Archive, list]) -> None:
    lib, added = archive
    desc = Archive.open(lib.path).describe().to_json()
    assert desc["file_bytes"] == lib.path.stat().st_size
    assert desc["header_bytes"] + sum(s["bytes"] for s in desc["sessions"]) == desc["file_bytes"]
    assert [s["bytes"] for s in desc["sessions"]] == [a.bytes for a in added]
    first = desc["sessions"][0]
    assert first["bpp"] == pytest.approx(first["bytes"] * 8 / (320 * 180 * 8))


def test_overhead_over_the_entropy_bound_is_small(archive: tuple[Archive, list]) -> None:
    """A chunk's bytes against the ideal code length of its masks and weights under their stored models."""
    lib, added = archive
    frozen = {n: np.zeros(f.size, dtype=bool) for n, f in lib.library.state.frozen().items()}
    for record, a in zip(lib.library.records, added):
        size = nrc_v1.CodedSize()
        assert len(nrc.session_chunk(nrc_v1.encode_session(record, frozen, size))) == a.bytes
        assert a.bytes <= 1.02 * size.bits / 8 + 1024, (a.bytes, size.bits / 8)
        frozen = {n: frozen[n] | record.layers[n].mask for n in frozen}


def test_reopened_archive_decodes_what_was_trained(archive: tuple[Archive, list]) -> None:
    lib, _ = archive
    reopened = Archive.open(lib.path)
    for session in (1, 2):
        assert np.array_equal(reopened.library.decode(session), lib.library.decode(session))


def _positions(size: int, count: int = 40) -> list[int]:
    rng = np.random.default_rng(0)
    return sorted({0, 3, 6, 10, size - 1, *rng.integers(0, size, count).tolist()})


def test_a_cut_or_flipped_byte_in_the_header_is_a_format_error_naming_the_file(
    archive: tuple[Archive, list], tmp_path: Path
) -> None:
    lib = archive[0]
    data = lib.path.read_bytes()
    damaged = tmp_path / "head.nrc"
    for cut in _positions(lib.header_bytes):
        damaged.write_bytes(data[:cut])
        with pytest.raises(FormatError, match=str(damaged)):
            Archive.open(damaged)
    for pos in _positions(lib.header_bytes):
        flipped = bytearray(data)
        flipped[pos] ^= 0x5A
        damaged.write_bytes(bytes(flipped))
        with pytest.raises(FormatError, match=str(damaged)):
            Archive.open(damaged)


def test_a_cut_inside_the_last_session_leaves_the_sessions_before_it(
    archive: tuple[Archive, list], tmp_path: Path
) -> None:
    """A file that ends inside a chunk opens as the archive before that chunk, with a notice."""
    lib = archive[0]
    data = lib.path.read_bytes()
    first_end = lib.header_bytes + lib.session_bytes[0]
    reference = lib.library.decode(1)
    damaged = tmp_path / "cut.nrc"
    for cut in [first_end, *(first_end + d for d in _positions(lib.session_bytes[1] - 1)[1:])]:
        damaged.write_bytes(data[:cut])
        reopened = Archive.open(damaged)
        assert len(reopened.library.records) == 1
        torn = cut > first_end
        assert [c.status for c in reopened.checks] == ([Status.OK, Status.TORN] if torn else [Status.OK])
        assert bool(reopened.notices) == torn and Archive.check(damaged).torn_tail == torn
    assert "ends inside session 2" in reopened.notices[0] and "nrcodec repair" in reopened.notices[0]
    assert np.array_equal(reopened.library.decode(1), reference)


def test_every_flipped_byte_of_a_session_damages_that_session_only(
    archive: tuple[Archive, list], tmp_path: Path
) -> None:
    lib = archive[0]
    data = lib.path.read_bytes()
    first_end = lib.header_bytes + lib.session_bytes[0]
    damaged = tmp_path / "flip.nrc"
    for pos in _positions(len(data) - lib.header_bytes):
        flipped = bytearray(data)
        flipped[lib.header_bytes + pos] ^= 0x5A
        damaged.write_bytes(bytes(flipped))
        reopened = Archive.open(damaged)
        broken = 1 if lib.header_bytes + pos < first_end else 2
        assert len(reopened.library.records) == broken - 1
        assert reopened.checks[broken - 1].status in (Status.DAMAGED, Status.TORN)
        assert reopened.notices and f"session {broken}" in reopened.notices[0]


def test_a_huge_announced_length_is_refused_before_allocating() -> None:
    data = nrc.header_chunk({"config": {}}, 1) + b"SESS" + (2**31 - 1).to_bytes(4, "little") + b"\0" * 16
    (chunk,) = nrc.parse(data).chunks
    assert chunk.torn and chunk.payload is None and "announces" in (chunk.problem or "")


def test_another_kind_of_file_is_named_as_such(tmp_path: Path) -> None:
    other = tmp_path / "clip.nrc"
    other.write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    with pytest.raises(FormatError, match="not a nrcodec archive"):
        Archive.open(other)
