"""Unsigned LEB128 varints: round trips, positions, and clean errors on damaged tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nrcodec.errors import FormatError
from nrcodec.format.varint import pack_uvarints, unpack_uvarints

values = st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=40)


@given(values)
def test_round_trip(numbers: list[int]) -> None:
    data = pack_uvarints(numbers)
    assert unpack_uvarints(data, len(numbers), "t") == (numbers, len(data))


@given(values, values, st.binary(max_size=8))
def test_reads_from_a_position_and_says_where_it_stopped(first: list[int], second: list[int], tail: bytes) -> None:
    head = pack_uvarints(first)
    data = head + pack_uvarints(second) + tail
    got, pos = unpack_uvarints(data, len(second), "t", pos=len(head))
    assert got == second
    assert data[pos:] == tail


@pytest.mark.parametrize(("value", "size"), [(0, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (2**63, 10)])
def test_seven_bits_per_byte(value: int, size: int) -> None:
    assert len(pack_uvarints([value])) == size


@given(st.lists(st.integers(min_value=0, max_value=2**40), min_size=1, max_size=10))
def test_every_truncation_is_a_format_error(numbers: list[int]) -> None:
    data = pack_uvarints(numbers)
    for cut in range(len(data)):
        with pytest.raises(FormatError, match="t: integer table is truncated"):
            unpack_uvarints(data[:cut], len(numbers), "t")


def test_endless_continuation_is_an_oversized_value_not_a_hang() -> None:
    with pytest.raises(FormatError, match="oversized value"):
        unpack_uvarints(b"\x80" * 11 + b"\x01", 1, "t")


def test_negative_values_cannot_be_packed() -> None:
    with pytest.raises(ValueError, match="unsigned"):
        pack_uvarints([1, -1])
