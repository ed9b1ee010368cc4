"""The image model registry and the architecture codec files record, and the back-compatibility of
codec files and bitstreams written before there was one (fixtures in tests/fixtures/image). No
training here: everything uses the shipped base codec."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from nrcodec.errors import FormatError
from nrcodec.format.chunks import frame, preamble, read_chunks
from nrcodec.format.image_bitstream import pack_bitstream, read_bitstream
from nrcodec.format.record import pack_record, unpack_record
from nrcodec.image import FACTORIZED_CODEC, Architecture, Codec, decode_image, encode_image, register_model
from nrcodec.image.codec_file import FORMAT_VERSION, MAGIC
from nrcodec.image.models import MODELS, ImageModel
from nrcodec.image.models.factorized import FactorizedParams, FactorizedPrior
from nrcodec.media.images import read_image

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "image"
SAMPLES = ROOT / "samples" / "images"
DECODES = json.loads((FIXTURES / "decodes.json").read_text())
SOURCES = {"chelsea-v0.nri": "chelsea.png", "bunny-v1.nri": "bunny.png"}


@pytest.fixture(scope="module")
def shipped_bytes() -> bytes:
    return FACTORIZED_CODEC.read_bytes()


@pytest.fixture(scope="module")
def legacy(shipped_bytes: bytes) -> Codec:
    """The shipped base codec with the selective version 1 that the code before the registry appended."""
    return Codec.from_bytes(shipped_bytes + (FIXTURES / "selective-v1.chunk").read_bytes())


def _with_version_0_meta(data: bytes, **changes: object) -> bytes:
    """A one-version codec file: version 0 of ``data`` with its chunk JSON changed."""
    chunk = read_chunks(data)[0]
    meta, blobs = unpack_record(chunk.payload, "test")
    meta.update(changes)
    return preamble(MAGIC, FORMAT_VERSION) + frame(chunk.tag, pack_record(meta, blobs))


def test_codec_files_without_an_architecture_read_as_the_factorized_model(legacy: Codec) -> None:
    base, selective = legacy.versions
    assert base.legacy and selective.legacy
    assert base.architecture == Architecture("factorized", FactorizedParams(width=64, affine=False))
    assert selective.architecture == Architecture("factorized", FactorizedParams(width=64, affine=True))
    assert (base.fingerprint, selective.fingerprint) == ("5b930c691529762d", "e775c4aeae7d61ef")
    assert isinstance(legacy.model(1), FactorizedPrior)


@pytest.mark.parametrize("name", sorted(DECODES))
def test_bitstreams_from_before_the_registry_decode_to_the_same_pixels(
    name: str, legacy: Codec, one_thread: None
) -> None:
    data = (FIXTURES / name).read_bytes()
    rgb, version = decode_image(legacy, data)
    expected = DECODES[name]
    assert (version, rgb.shape[1], rgb.shape[0]) == (expected["version"], expected["width"], expected["height"])
    assert hashlib.sha256(rgb.tobytes()).hexdigest() == expected["sha256"]
    again = read_bitstream(encode_image(legacy, read_image(SAMPLES / SOURCES[name]), version).data)
    assert replace(again, offsets=(0, 0, 0)) == read_bitstream(data)  # the same latents; colour offsets are new


def test_version_0_alone_still_decodes_its_bitstreams(shipped_bytes: bytes) -> None:
    rgb, version = decode_image(Codec.from_bytes(shipped_bytes), (FIXTURES / "chelsea-v0.nri").read_bytes())
    assert version == 0 and rgb.shape == (112, 112, 3)


def test_the_architecture_entry_is_read_and_fingerprinted(shipped_bytes: bytes) -> None:
    entry = {"model": "factorized", "params": {"width": 64, "affine": False}}
    data = _with_version_0_meta(shipped_bytes, architecture=entry)
    with pytest.raises(FormatError, match="does not match its fingerprint"):
        Codec.from_bytes(data)  # the layout hashed is now the architecture entry, not width/affine


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"model": "cheng2020", "params": {}}, "unknown image model 'cheng2020'"),
        ({"model": 3}, "architecture entry is malformed"),
        ({"model": "factorized", "params": {"width": "64", "affine": False}}, "hyper-parameter 'width'"),
        ({"model": "factorized", "params": {"width": 64, "affine": 1}}, "hyper-parameter 'affine'"),
        ({"model": "factorized", "params": {"width": 9999, "affine": False}}, "width 9999 is out of range"),
        ({"model": "factorized", "params": {"width": 64, "depth": 2}}, "unknown hyper-parameter 'depth'"),
        ({"model": "factorized", "params": [64]}, "hyper-parameters are malformed"),
    ],
)
def test_bad_architecture_entries_are_format_errors_naming_them(
    shipped_bytes: bytes, entry: object, message: str
) -> None:
    with pytest.raises(FormatError, match=rf"version chunk 0: .*{message}"):
        Codec.from_bytes(_with_version_0_meta(shipped_bytes, architecture=entry))


def test_legacy_width_out_of_range_is_a_format_error(shipped_bytes: bytes) -> None:
    with pytest.raises(FormatError, match="width 600 is out of range"):
        Codec.from_bytes(_with_version_0_meta(shipped_bytes, width=600))


def test_architecture_round_trips_and_builds_its_registered_model() -> None:
    arch = Architecture("factorized", FactorizedParams(width=80, affine=True))
    assert arch.to_json() == {"model": "factorized", "params": {"width": 80, "affine": True}}
    assert Architecture.from_json(arch.to_json(), "test") == arch
    model = arch.build()
    assert isinstance(model, FactorizedPrior) and model.architecture == arch
    assert model.latent_shape(33, 17) == (80, 3, 2)
    assert MODELS["factorized"] is FactorizedPrior


def test_a_name_is_registered_once() -> None:
    with pytest.raises(ValueError, match="registered twice"):

        @register_model("factorized")
        class Again(ImageModel):
            pass


def test_latents_that_do_not_fit_the_model_are_refused_before_decoding(shipped_bytes: bytes) -> None:
    stream = read_bitstream((FIXTURES / "chelsea-v0.nri").read_bytes())
    codec = Codec.from_bytes(shipped_bytes)
    for changed in ({"channels": 80}, {"latent_height": 8}):
        bad = pack_bitstream(stream.__class__(**{**stream.__dict__, **changed}))
        with pytest.raises(FormatError, match=r"latents are \d+x\d+x\d+, version 0 makes 64x7x7"):
            decode_image(codec, bad)


def test_compress_and_decompress_agree(shipped_bytes: bytes) -> None:
    model = Codec.from_bytes(shipped_bytes).model(0)
    x = torch.from_numpy(read_image(SAMPLES / "coffee.png")[:50, :70]).permute(2, 0, 1)[None].float() / 255
    compressed = model.compress(x)
    assert compressed.latent_shape == model.latent_shape(50, 70) == (64, 4, 5)
    assert np.array_equal(model.decompress(compressed.coded, 50, 70).numpy(), compressed.x_hat.numpy())
