"""Bytes-level parts of the image codec: latent coding with escapes, bitstream header, tables."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nrcodec.errors import ChecksumError, FormatError, TruncatedError
from nrcodec.format.chunks import frame, preamble
from nrcodec.format.entropy import FrequencyTable
from nrcodec.format.image_bitstream import ImageBitstream, pack_bitstream, read_bitstream
from nrcodec.format.latent_coding import MAX_ESCAPE_BITS, decode_channels, encode_channels
from nrcodec.format.varint import pack_uvarints, zigzag
from nrcodec.nn import gaussian_conditional as gaussian
from nrcodec.nn.entropy_bottleneck import SYMBOL_LIMIT, TABLE_PRECISION, EntropyBottleneck, quantize


def _tables() -> list[FrequencyTable]:
    return [FrequencyTable(-2, (10, 40, 100, 40, 10, 1)), FrequencyTable(0, (50, 30, 20, 2))]


def test_latents_round_trip_with_escapes_far_outside_the_tables() -> None:
    rng = np.random.default_rng(0)
    symbols = rng.integers(-2, 3, size=(2, 500))
    far = (1 << (MAX_ESCAPE_BITS - 1)) - 1
    symbols[0, :6] = [3, -3, 17, -1000, far, -far]
    symbols[1, :4] = [-1, 3, 1 << 20, 2]
    data = encode_channels(symbols, _tables())
    assert np.array_equal(decode_channels(data, _tables(), 500, "test"), symbols)


def test_escapes_cost_little_when_rare() -> None:
    symbols = np.random.default_rng(1).integers(0, 3, size=(2, 4000))
    plain = len(encode_channels(symbols, _tables()))
    symbols[0, 7] = 50
    assert len(encode_channels(symbols, _tables())) - plain <= 8


def test_quantized_latents_are_always_codable() -> None:
    latents = torch.tensor([1e12, -1e12, 0.4, -2.6])
    symbols = quantize(latents).to(torch.int64).numpy()[None]
    assert symbols.tolist() == [[SYMBOL_LIMIT, -SYMBOL_LIMIT, 0, -3]]
    data = encode_channels(symbols, [FrequencyTable(0, (3, 1))])
    assert np.array_equal(decode_channels(data, [FrequencyTable(0, (3, 1))], 4, "t"), symbols)


@pytest.mark.parametrize("data", [b"", b"abc", b"\x00\x00\x00\x00", b"\x01\x00\x00\x00" * 3])
def test_malformed_latents_are_format_errors(data: bytes) -> None:
    with pytest.raises(FormatError, match="coded latents"):
        decode_channels(data, _tables(), 100, "coded latents")


def test_entropy_bottleneck_tables_are_integer_and_match_the_model() -> None:
    torch.manual_seed(0)
    model = EntropyBottleneck(4)
    with torch.no_grad():
        model.quantiles.copy_(torch.tensor([-4.0, 0.0, 4.0]).repeat(4, 1, 1))
    tables = model.integer_tables()
    assert len(tables) == 4
    for channel, table in enumerate(tables):
        assert sum(table.counts) == 1 << TABLE_PRECISION
        assert min(table.counts) >= 1
        assert table.low <= -4 and table.high - 1 >= 4
        values = torch.arange(table.low, table.high, dtype=torch.float32)
        probe = torch.zeros(1, 4, len(values))
        probe[0, channel] = values
        pmf = model.likelihood(probe[..., None])[0, channel, :, 0].detach().numpy()
        stored = np.array(table.counts[:-1]) / (1 << TABLE_PRECISION)
        assert np.abs(stored - pmf).max() < 1e-3


def _stream(**changes: object) -> ImageBitstream:
    fields = dict(
        codec_fingerprint="00" * 8,
        version_fingerprint="11" * 8,
        version=2,
        quality=0,
        width=33,
        height=17,
        channels=80,
        latent_height=2,
        latent_width=3,
        coded=b"\x01\x02\x03\x04",
    )
    fields.update(changes)
    return ImageBitstream(**fields)  # type: ignore[arg-type]


def test_bitstream_header_round_trip() -> None:
    assert read_bitstream(pack_bitstream(_stream())) == _stream()
    assert pack_bitstream(_stream())[4:6] == b"\x01\x00"  # a codec of a single rate: format 1, as before
    ladder = _stream(quality=5)
    assert pack_bitstream(ladder)[4:6] == b"\x02\x00"
    assert read_bitstream(pack_bitstream(ladder)) == ladder


def test_colour_offsets_take_format_3_only_when_there_are_some() -> None:
    for quality in (0, 5):
        shifted = _stream(quality=quality, offsets=(-7, 0, 1020))
        data = pack_bitstream(shifted)
        assert data[4:6] == b"\x03\x00" and shifted.format_version == 3
        assert read_bitstream(data) == shifted
    assert pack_bitstream(_stream(quality=5, offsets=(0, 0, 0))) == pack_bitstream(_stream(quality=5))


def test_a_colour_offset_out_of_range_is_a_format_error() -> None:
    fields = [2, 5, 33, 17, 80, 2, 3, zigzag(1), zigzag(1024), zigzag(0)]  # 1024 quarter levels: > 255
    data = preamble(b"NRII", 3) + frame(b"IMGL", b"\x00" * 8 + b"\x11" * 8 + pack_uvarints(fields) + b"\x01")
    with pytest.raises(FormatError, match="colour offset of 1024 quarter levels is out of range"):
        read_bitstream(data)
    with pytest.raises(ValueError, match="colour offsets"):
        pack_bitstream(_stream(offsets=(0, -1021, 0)))


def test_a_quality_out_of_range_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="quality 65 is out of range"):
        read_bitstream(pack_bitstream(_stream(quality=65)))


def test_gaussian_tables_are_integer_and_match_the_discretised_gaussian() -> None:
    tables = gaussian.integer_tables()
    assert len(tables) == len(gaussian.SCALES)
    for scale, table in zip(gaussian.SCALES, tables, strict=True):
        assert sum(table.counts) == 1 << gaussian.TABLE_PRECISION and min(table.counts) >= 1
        assert table.low == -math.ceil(gaussian.TAIL * scale)
        values = torch.arange(table.low, table.high, dtype=torch.float64)
        pmf = gaussian.likelihood(values, torch.zeros_like(values), torch.full_like(values, scale)).numpy()
        stored = np.array(table.counts[:-1]) / (1 << gaussian.TABLE_PRECISION)
        assert np.abs(stored - pmf).max() < 1e-3


def test_each_latent_is_coded_under_the_smallest_rung_at_or_above_its_scale() -> None:
    ladder = torch.tensor(gaussian.SCALES, dtype=torch.float64)
    scales = torch.cat([ladder, ladder * 1.001, ladder * 0.999, torch.tensor([0.01, 1e6], dtype=torch.float64)])
    index = gaussian.rungs(scales)
    top = len(ladder) - 1
    assert index[: len(ladder)].tolist() == list(range(len(ladder)))
    assert index[len(ladder) : 2 * len(ladder)].tolist() == [min(i + 1, top) for i in range(len(ladder))]
    assert index[2 * len(ladder) : 3 * len(ladder)].tolist() == list(range(len(ladder)))
    assert index[-2:].tolist() == [0, top]


def test_gaussian_coding_round_trips_with_escapes() -> None:
    generator = torch.Generator().manual_seed(0)
    scales = torch.exp(torch.rand(4, 9, 11, generator=generator, dtype=torch.float64) * 6 - 2)
    symbols = torch.round(torch.randn(4, 9, 11, generator=generator, dtype=torch.float64) * scales)
    symbols[0, 0, 0], symbols[1, 2, 3] = 10_000, -77_777  # far outside their tables: escapes
    tables = gaussian.integer_tables()
    data = gaussian.encode(symbols, scales, tables)
    assert torch.equal(gaussian.decode(data, scales, tables, "test"), symbols)
    with pytest.raises(FormatError, match="test"):
        gaussian.decode(data[:-4], scales, tables, "test")


def test_bitstream_defects_name_what_is_wrong() -> None:
    data = pack_bitstream(_stream())
    with pytest.raises(TruncatedError, match=r"truncated|announces"):
        read_bitstream(data[:-3])
    corrupt = bytearray(data)
    corrupt[20] ^= 0xFF
    with pytest.raises(ChecksumError, match="CRC32"):
        read_bitstream(bytes(corrupt))
    with pytest.raises(FormatError, match="signature"):
        read_bitstream(b"PNG!" + data[4:])
    with pytest.raises(FormatError, match="latent shape"):
        read_bitstream(pack_bitstream(_stream(latent_height=18)))
    with pytest.raises(FormatError, match="image size"):
        read_bitstream(pack_bitstream(_stream(width=0, latent_width=0)))
    with pytest.raises(FormatError, match="latent channels"):
        read_bitstream(pack_bitstream(_stream(channels=100_000)))
