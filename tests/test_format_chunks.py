"""Chunk framing: round trips, and every truncation or flipped bit is one FormatError, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nrcodec.errors import ChecksumError, FormatError, TruncatedError
from nrcodec.format.chunks import CHUNK_HEAD, CHUNK_OVERHEAD, PREAMBLE, frame, preamble, read_chunks, read_preamble

MAGIC = b"TEST"
VERSIONS = (1, 2)
tags = st.binary(min_size=4, max_size=4)


def sample_file() -> tuple[bytes, list[int]]:
    """A preamble and three chunks (one empty), and the offsets where each chunk ends."""
    data = preamble(MAGIC, 2)
    ends = []
    for tag, payload in ((b"HEAD", b'{"a":1}'), (b"NONE", b""), (b"DATA", bytes(range(40)))):
        data += frame(tag, payload)
        ends.append(len(data))
    return data, ends


@given(st.lists(st.tuples(tags, st.binary(max_size=64)), max_size=5))
def test_round_trip(chunks: list[tuple[bytes, bytes]]) -> None:
    data = preamble(MAGIC, 1) + b"".join(frame(tag, payload) for tag, payload in chunks)
    assert read_preamble(data, MAGIC, "test file", VERSIONS) == 1
    parsed = read_chunks(data)
    assert [(c.tag, c.payload) for c in parsed] == chunks
    offset = PREAMBLE.size
    for chunk, (_, payload) in zip(parsed, chunks, strict=True):
        assert chunk.offset == offset
        assert chunk.size == CHUNK_OVERHEAD + len(payload)
        offset += chunk.size


def test_chunk_names_its_tag() -> None:
    (chunk,) = read_chunks(frame(b"SESS", b"x"), start=0)
    assert chunk.name == "SESS"


def test_every_truncation_inside_a_chunk_is_a_truncated_error() -> None:
    data, ends = sample_file()
    for cut in range(PREAMBLE.size):
        with pytest.raises(TruncatedError, match=f"the file is only {cut} bytes long"):
            read_preamble(data[:cut], MAGIC, "test file", VERSIONS)
    for cut in range(PREAMBLE.size, len(data)):
        if cut == PREAMBLE.size or cut in ends:
            continue
        with pytest.raises(TruncatedError, match=r"chunk \d .*at byte \d+ .*(is truncated|the file ends)"):
            read_chunks(data[:cut])


def test_a_cut_between_chunks_leaves_the_whole_chunks_before_it() -> None:
    """Framing alone cannot see a file cut exactly between chunks; the readers count chunks for that."""
    data, ends = sample_file()
    assert read_chunks(data[: PREAMBLE.size]) == []
    for count, end in enumerate(ends, start=1):
        assert [c.tag for c in read_chunks(data[:end])] == [b"HEAD", b"NONE", b"DATA"][:count]


def test_every_flipped_bit_is_a_format_error() -> None:
    data, _ = sample_file()
    for bit in range(PREAMBLE.size * 8, len(data) * 8):
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(FormatError, match=r"chunk \d"):
            read_chunks(bytes(damaged))


def test_a_flipped_bit_in_tag_payload_or_crc_is_a_checksum_error() -> None:
    payload = bytes(range(16))
    framed = frame(b"DATA", payload)
    length_field = range(4, CHUNK_HEAD.size)
    for index in (i for i in range(len(framed)) if i not in length_field):
        for bit in range(8):
            damaged = bytearray(framed)
            damaged[index] ^= 1 << bit
            with pytest.raises(ChecksumError, match=r"chunk 0 \('.*'\) at byte 0 is corrupted \(CRC32 mismatch\)"):
                read_chunks(bytes(damaged), start=0)


def test_a_length_beyond_the_file_is_refused_before_anything_is_allocated() -> None:
    data = CHUNK_HEAD.pack(b"HUGE", 2**32 - 1) + b"\0" * 8
    with pytest.raises(TruncatedError, match=r"announces 4294967295 bytes but the file ends 8 bytes later"):
        read_chunks(data, start=0)


def test_preamble_checks_magic_and_version() -> None:
    with pytest.raises(FormatError, match="not a test file: it does not start with the test file signature"):
        read_preamble(preamble(b"OTHR", 1), MAGIC, "test file", VERSIONS)
    with pytest.raises(FormatError, match=r"test file format version 7 is not supported .*\(supported: 1, 2\)"):
        read_preamble(preamble(MAGIC, 7), MAGIC, "test file", VERSIONS)


def test_frame_refuses_bad_tags() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        frame(b"LONGER", b"")
