"""The learned image codec end to end through the Python API, on real sample images.

A tiny base codec (few steps, small crops) is trained once per module; properties that must hold
for any trained weights are asserted: round trips, rate estimate vs real bytes, CAwF freezing
and backward compatibility after adapting in each mode.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nrcodec.errors import ChecksumError, FormatError, InputError, TruncatedError
from nrcodec.format.chunks import read_chunks
from nrcodec.format.record import unpack_record
from nrcodec.image import Codec, TrainSettings, adapt, decode_image, encode_image, train_codec
from nrcodec.image.codec_file import read_codec_file
from nrcodec.image.models import default_architecture
from nrcodec.image.versions import CAWF_GROWTH
from nrcodec.media.images import png_bytes, read_image

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "images"
TINY = TrainSettings(lmbda=0.01, steps=12, crop=48, batch_size=2, lr=1e-3)
RATE_SLACK = 0.02
"""Bitstream bytes beyond the header stay within 2% of the model's estimated rate."""


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [read_image(SAMPLES / n) for n in ("coffee.png", "chelsea.png", "camera-gray.png")]


@pytest.fixture(scope="module")
def bunny() -> np.ndarray:
    return read_image(SAMPLES / "bunny.png")


def parameter_count(codec: Codec, vid: int) -> int:
    return sum(t.numel() for t in codec.state(vid).values())


@pytest.fixture(scope="module")
def base_bytes(photos: list[np.ndarray]) -> bytes:
    return train_codec(photos, TINY).to_bytes()


def test_round_trip_equals_the_models_quantized_reconstruction(base_bytes: bytes, photos: list[np.ndarray]) -> None:
    codec = Codec.from_bytes(base_bytes)
    for rgb in photos:
        odd = rgb[:-3, :-5]  # sizes that are not multiples of 16
        encoded = encode_image(codec, odd)
        decoded, version = decode_image(Codec.from_bytes(base_bytes), encoded.data)
        assert version == 0
        assert decoded.shape == odd.shape
        assert np.array_equal(decoded, encoded.reconstruction)
        coded = len(encoded.data) - encoded.header_bytes
        assert abs(coded - encoded.estimated_bits / 8) <= RATE_SLACK * encoded.estimated_bits / 8 + 4


def test_codec_file_records_the_architecture(base_bytes: bytes) -> None:
    meta, _ = unpack_record(read_chunks(base_bytes)[0].payload, "test")
    assert meta["architecture"] == {"model": "factorized", "params": {"width": 64, "affine": False}}
    assert "width" not in meta and "affine" not in meta
    (base,) = read_codec_file(base_bytes)
    assert not base.legacy and base.architecture == default_architecture()


def test_codec_file_tables_are_integers_and_fingerprints_check(base_bytes: bytes) -> None:
    (base,) = read_codec_file(base_bytes)
    tables = base.tables()
    assert len(tables) == 64 and all(isinstance(c, int) for t in tables for c in t.counts)
    tampered = bytearray(base_bytes)
    tampered[-10] ^= 1
    with pytest.raises(ChecksumError, match="CRC32"):
        Codec.from_bytes(bytes(tampered))
    with pytest.raises(TruncatedError, match=r"truncated|announces"):
        Codec.from_bytes(base_bytes[: len(base_bytes) // 2])


@pytest.mark.parametrize("mode", ["cawf", "selective", "naive"])
def test_adapting_keeps_version_0_bit_exact(
    mode: str, base_bytes: bytes, photos: list[np.ndarray], bunny: np.ndarray
) -> None:
    codec = Codec.from_bytes(base_bytes)
    old = [encode_image(codec, rgb, 0) for rgb in photos]
    old_png = [png_bytes(decode_image(codec, e.data)[0]) for e in old]
    result = adapt(codec, [bunny], mode, 0, TrainSettings(lmbda=0.01, steps=4, crop=48, batch_size=2, lr=1e-3))
    assert result.version == 1
    data = codec.to_bytes()
    assert data[: len(base_bytes)] == base_bytes
    reloaded = Codec.from_bytes(data)
    for rgb, encoded, png in zip(photos, old, old_png, strict=True):
        assert png_bytes(decode_image(reloaded, encoded.data)[0]) == png
        assert encode_image(reloaded, rgb, 0).data == encoded.data
    new = encode_image(reloaded, bunny)
    assert new.version == 1
    decoded, version = decode_image(reloaded, new.data)
    assert version == 1 and np.array_equal(decoded, new.reconstruction)
    with pytest.raises(FormatError, match="lacks"):
        decode_image(Codec.from_bytes(base_bytes), new.data)


def test_cawf_embeds_the_parent_unchanged_and_adds_custom_filters(base_bytes: bytes, bunny: np.ndarray) -> None:
    codec = Codec.from_bytes(base_bytes)
    result = adapt(codec, [bunny], "cawf", 0, TrainSettings(lmbda=0.01, steps=4, crop=48, batch_size=2, lr=1e-2))
    base, grown = codec.state(0), codec.state(result.version)
    assert codec.version(1).architecture.params.to_json() == {"width": 64 + CAWF_GROWTH, "affine": False}
    changed_custom = False
    for name, tensor in base.items():
        if name.startswith("entropy."):
            continue
        block = grown[name][tuple(slice(0, n) for n in tensor.shape)]
        assert torch.equal(block, tensor), name
        changed_custom |= grown[name].numel() > tensor.numel()
    assert changed_custom
    total = parameter_count(codec, 0)
    assert 0.4 * total < result.added_parameters < 0.7 * total  # paper: about +55%


def test_selective_trains_about_five_percent(base_bytes: bytes, bunny: np.ndarray) -> None:
    codec = Codec.from_bytes(base_bytes)
    result = adapt(codec, [bunny], "selective", 0, TrainSettings(lmbda=0.01, steps=3, crop=48, batch_size=2))
    assert result.added_parameters < 0.08 * parameter_count(codec, 0)
    base, tuned = codec.state(0), codec.state(1)
    for name in ("enc.0.weight", "dec.3.weight", "enc.2.bias"):
        assert torch.equal(base[name], tuned[name])
    assert "enc_alpha.0" in tuned and "enc_alpha.0" not in base


def test_wrong_codec_and_unknown_version_are_clear_errors(base_bytes: bytes, photos: list[np.ndarray]) -> None:
    codec = Codec.from_bytes(base_bytes)
    other = train_codec(photos[:1], TrainSettings(steps=2, crop=32, batch_size=1, seed=1))
    encoded = encode_image(other, photos[0])
    with pytest.raises(FormatError, match="another codec file"):
        decode_image(codec, encoded.data)
    with pytest.raises(InputError, match="no version 3"):
        encode_image(codec, photos[0], 3)
