"""Records (JSON metadata + named blobs): round trips, and one FormatError for every malformed record."""

from __future__ import annotations

import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nrcodec.errors import FormatError
from nrcodec.format.record import blob, need, pack_record, unpack_record

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=10
)
metas = st.dictionaries(st.text().filter(lambda key: key != "blobs"), json_values, max_size=6)
blob_maps = st.dictionaries(st.text(max_size=8), st.binary(max_size=64), max_size=5)


def raw(meta: object, body: bytes = b"") -> bytes:
    """A record with arbitrary JSON ``meta`` (blob list included by the caller) and ``body``."""
    text = json.dumps(meta).encode()
    return struct.pack("<I", len(text)) + text + body


@given(metas, blob_maps)
def test_round_trip(meta: dict, blobs: dict[str, bytes]) -> None:
    got_meta, got_blobs = unpack_record(pack_record(meta, blobs), "r")
    assert got_meta == meta
    assert got_blobs == blobs
    assert list(got_blobs) == list(blobs)


def test_without_blobs() -> None:
    assert unpack_record(pack_record({"a": 1}), "r") == ({"a": 1}, {})


def test_blobs_is_a_reserved_key() -> None:
    with pytest.raises(ValueError, match="'blobs' is reserved"):
        pack_record({"blobs": 1})


@settings(max_examples=40)
@given(metas, blob_maps)
def test_every_truncation_is_a_format_error(meta: dict, blobs: dict[str, bytes]) -> None:
    data = pack_record(meta, blobs)
    for cut in range(len(data)):
        with pytest.raises(FormatError, match=r"^r: "):
            unpack_record(data[:cut], "r")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x01\x00", "record too short"),
        (struct.pack("<I", 100) + b"{}", "metadata length 100 exceeds the record"),
        (struct.pack("<I", 2) + b"\xff\xfe", r"metadata is not valid JSON \(UnicodeDecodeError\)"),
        (struct.pack("<I", 3) + b"{x}", r"metadata is not valid JSON \(JSONDecodeError\)"),
        (struct.pack("<I", 100_000) + b"[" * 100_000, r"metadata is not valid JSON \(RecursionError\)"),
        (raw([1, 2]), "metadata has no blob list"),
        (raw({"a": 1}), "metadata has no blob list"),
        (raw({"blobs": {"name": "a"}}), "metadata has no blob list"),
        (raw({"blobs": [1]}), "malformed blob entry"),
        (raw({"blobs": [{"name": 1, "size": 0}]}), "malformed blob entry"),
        (raw({"blobs": [{"name": "a", "size": -1}]}), "malformed blob entry"),
        (raw({"blobs": [{"name": "a", "size": 1.0}]}, b"x"), "malformed blob entry"),
        (raw({"blobs": [{"name": "a", "size": True}]}, b"x"), "malformed blob entry"),
        (raw({"blobs": [{"name": "a", "size": 1}, {"name": "a", "size": 1}]}, b"xy"), "blob 'a' is listed twice"),
        (raw({"blobs": [{"name": "a", "size": 5}]}, b"xy"), "blob 'a' of 5 bytes exceeds the record"),
        (raw({"blobs": [{"name": "a", "size": 1}]}, b"xy"), "1 unexpected trailing bytes"),
    ],
    ids=[
        "too-short",
        "json-past-end",
        "not-utf8",
        "not-json",
        "json-too-deep",
        "json-not-object",
        "no-blob-list",
        "blob-list-not-list",
        "entry-not-object",
        "name-not-text",
        "negative-size",
        "float-size",
        "bool-size",
        "duplicate-name",
        "blob-past-end",
        "trailing-bytes",
    ],
)
def test_malformed_records_are_format_errors(payload: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=f"^r: {message}"):
        unpack_record(payload, "r")


def test_need_checks_presence_and_type() -> None:
    meta = {"n": 3, "flag": True, "name": "x", "rate": 1.5}
    assert need(meta, "n", int, "r") == 3
    assert need(meta, "rate", (int, float), "r") == 1.5
    for key, kind in (("missing", int), ("name", int), ("flag", int), ("n", str)):
        with pytest.raises(FormatError, match=f"r: field '{key}' is missing or malformed"):
            need(meta, key, kind, "r")


def test_blob_checks_presence_and_size() -> None:
    blobs = {"w": b"abcd"}
    assert blob(blobs, "w", "r") == b"abcd"
    assert blob(blobs, "w", "r", size=4) == b"abcd"
    with pytest.raises(FormatError, match="r: blob 'm' is missing"):
        blob(blobs, "m", "r")
    with pytest.raises(FormatError, match="r: blob 'w' has 4 bytes, expected 5"):
        blob(blobs, "w", "r", size=5)
