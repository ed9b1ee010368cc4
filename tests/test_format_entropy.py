"""ANS entropy coding under integer frequency tables: round trips, table bytes, clean decode errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nrcodec.errors import FormatError
from nrcodec.format import entropy
from nrcodec.format.entropy import MAX_TABLE, FrequencyTable
from nrcodec.format.varint import pack_uvarints

symbol_lists = st.lists(st.integers(min_value=-300, max_value=300), max_size=300)


@st.composite
def tables_and_symbols(draw: st.DrawFn) -> tuple[FrequencyTable, np.ndarray]:
    """A table of positive counts and symbols drawn from its range."""
    counts = draw(st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=40))
    low = draw(st.integers(min_value=-(2**31), max_value=2**31))
    picks = draw(st.lists(st.integers(min_value=0, max_value=len(counts) - 1), max_size=200))
    return FrequencyTable(low, tuple(counts)), np.asarray(picks, dtype=np.int64) + low


@settings(max_examples=60)
@given(symbol_lists)
def test_round_trip_under_a_fitted_table(symbols: list[int]) -> None:
    values = np.asarray(symbols, dtype=np.int64)
    table = FrequencyTable.fit(values)
    coded = entropy.encode(values, table)
    np.testing.assert_array_equal(entropy.decode(coded, table, len(symbols), "e"), values)


@settings(max_examples=60)
@given(tables_and_symbols())
def test_round_trip_under_any_table(case: tuple[FrequencyTable, np.ndarray]) -> None:
    table, values = case
    coded = entropy.encode(values, table)
    assert len(coded) % 4 == 0
    np.testing.assert_array_equal(entropy.decode(coded, table, values.size, "e"), values)


@given(symbol_lists)
def test_fit_keeps_every_seen_symbol_and_only_those(symbols: list[int]) -> None:
    table = FrequencyTable.fit(np.asarray(symbols))
    if not symbols:
        assert table == FrequencyTable(0, (1,))
        return
    assert (table.low, table.high) == (min(symbols), max(symbols))
    seen = {value - table.low for value in symbols}
    assert {i for i, count in enumerate(table.counts) if count > 0} == seen


@given(st.lists(tables_and_symbols(), min_size=1, max_size=4), st.binary(max_size=4))
def test_tables_round_trip_through_bytes_one_after_another(cases: list, tail: bytes) -> None:
    tables = [table for table, _ in cases]
    data = b"".join(t.to_bytes() for t in tables) + tail
    pos = 0
    for table in tables:
        got, pos = FrequencyTable.from_bytes(data, "e", pos)
        assert got == table
    assert data[pos:] == tail


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pack_uvarints([0, 0]), "frequency table of 0 entries is out of range"),
        (pack_uvarints([0, MAX_TABLE + 1]), f"frequency table of {MAX_TABLE + 1} entries is out of range"),
        (pack_uvarints([0, 3, 0, 0, 0]), "frequency table is empty"),
        (pack_uvarints([0, 3, 1, 2]), "integer table is truncated"),
        (b"", "integer table is truncated"),
    ],
    ids=["no-entries", "too-many-entries", "all-zero", "truncated-counts", "empty"],
)
def test_malformed_tables_are_format_errors(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=f"^e: {message}"):
        FrequencyTable.from_bytes(data, "e")


def test_bits_is_the_ideal_code_length() -> None:
    table = FrequencyTable(5, (1, 1))
    assert table.bits(np.array([5, 6, 6, 5, 5, 6, 5, 6])) == pytest.approx(8.0)
    assert table.bits(np.zeros(0, dtype=np.int64)) == 0.0
    assert FrequencyTable(0, (3, 1)).bits(np.array([1])) == pytest.approx(2.0)


def _coded() -> tuple[FrequencyTable, np.ndarray, bytes]:
    values = np.random.default_rng(0).integers(-20, 20, size=500)
    table = FrequencyTable.fit(values)
    return table, values, entropy.encode(values, table)


def test_decoding_checks_lengths_and_leftovers() -> None:
    table, values, coded = _coded()
    with pytest.raises(FormatError, match="e: coded data where none was expected"):
        entropy.decode(coded, table, 0, "e")
    with pytest.raises(FormatError, match=f"e: coded data has a length of {len(coded) - 1} bytes"):
        entropy.decode(coded[:-1], table, values.size, "e")
    with pytest.raises(FormatError, match=r"e: coded data does not match its model \(bytes left over\)"):
        entropy.decode(coded, table, values.size // 2, "e")
    assert entropy.decode(b"", table, 0, "e").size == 0


@given(st.binary(min_size=4, max_size=64).filter(lambda data: len(data) % 4 == 0), st.integers(1, 100))
def test_garbage_words_decode_to_something_or_a_format_error(data: bytes, count: int) -> None:
    table = FrequencyTable(-3, (5, 1, 7, 2))
    try:
        out = entropy.decode(data, table, count, "e")
    except FormatError:
        return
    assert out.size == count and out.min() >= table.low and out.max() <= table.high


def test_a_one_symbol_table_codes_to_nothing() -> None:
    table = FrequencyTable.fit(np.full(7, -4))
    assert table == FrequencyTable(-4, (4096,))
    assert entropy.encode(np.full(7, -4), table) == b""
    np.testing.assert_array_equal(entropy.decode(b"", table, 7, "e"), np.full(7, -4))
    with pytest.raises(FormatError, match="e: coded data where none was expected"):
        entropy.decode(b"\0\0\0\0", table, 7, "e")


def test_symbols_outside_the_table_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="symbol outside the frequency table"):
        entropy.encode(np.array([0, 4]), FrequencyTable(0, (1, 1, 1)))
