"""The codecs shipped in the package: the hyperprior ladder encodes what users get by default, and the
first (factorized) codec still decodes its bitstreams without being named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.image import DEFAULT_CODEC, FACTORIZED_CODEC, Codec, decode_image, encode_image
from nrcodec.media.images import read_image, read_images
from nrcodec.metrics import psnr

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "images"
FIXTURES = ROOT / "tests" / "fixtures" / "image"
runner = CliRunner()


@pytest.fixture(scope="module")
def ladder() -> Codec:
    return Codec.load(DEFAULT_CODEC)


def test_the_shipped_ladder_is_small_and_described(tmp_path: Path) -> None:
    # 2.6 + 37.7 MB: base.nic, and the ladder's versions 0 and 1 (10.2 MB each), version 2's context
    # layers (2.9 MB) and version 3, every layer of version 2 trained on (13.5 MB). Each version stays
    # so that its bitstreams decode; the float16 difference of a trained-on version to its parent
    # compresses to 71% only (lzma), so full versions are stored (notes/image.md)
    assert DEFAULT_CODEC.stat().st_size + FACTORIZED_CODEC.stat().st_size <= 40 * 2**20
    result = runner.invoke(app, ["info", str(DEFAULT_CODEC), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["architecture"] == {
        "model": "hyperprior",
        "params": {"channels": 128, "latents": 192, "levels": 6, "affine": False},
    }
    base, trained_on, context, joint = info["versions"]  # version 1: the same network trained on (notes/image.md)
    assert (trained_on["parent"], trained_on["mode"]) == (0, "naive")
    assert (context["parent"], context["mode"], context["architecture"]["model"]) == (1, "context", "checkerboard")
    assert (joint["parent"], joint["mode"], joint["architecture"]["model"]) == (2, "naive", "checkerboard")
    for version in (base, trained_on, context, joint):
        assert [level["quality"] for level in version["levels"]] == [1, 2, 3, 4, 5, 6]
        lambdas = [level["lambda"] for level in version["levels"]]
        assert lambdas == sorted(lambdas)


def test_every_quality_costs_more_and_looks_better_than_the_one_below(ladder: Codec) -> None:
    photos = read_images(SAMPLES)
    for rgb in photos:
        points = [encode_image(ladder, rgb, quality=q) for q in range(1, 7)]
        sizes = [len(p.data) for p in points]
        quality = [psnr(rgb[None], p.reconstruction[None]) for p in points]
        assert sizes == sorted(set(sizes)), sizes
        assert quality == sorted(set(quality)), quality
        decoded, version = decode_image(ladder, points[3].data)
        assert version == ladder.newest and np.array_equal(decoded, points[3].reconstruction)
    default = [encode_image(ladder, rgb) for rgb in photos]
    assert {e.quality for e in default} == {4}
    assert np.mean([psnr(rgb[None], e.reconstruction[None]) for rgb, e in zip(photos, default)]) > PSNR_FLOOR


PSNR_FLOOR = 30.0
"""Mean RGB PSNR of the default quality on the committed sample crops (measured: see notes/image.md)."""


def test_bitstreams_of_the_first_shipped_ladder_still_decode(tmp_path: Path) -> None:
    """coffee.png at quality 2 as the ladder first shipped coded it (tests/fixtures/image/README.md)."""
    result = runner.invoke(app, ["decode-image", str(FIXTURES / "coffee-ladder-q2.nri"), "-o", str(tmp_path / "c.png")])
    assert result.exit_code == 0, result.output
    assert "(version 0)" in result.stdout
    decoded = read_image(tmp_path / "c.png")
    assert psnr(read_image(SAMPLES / "coffee.png")[None], decoded[None]) == pytest.approx(28.2536, abs=0.01)


def test_decode_finds_the_shipped_codec_a_bitstream_names(tmp_path: Path) -> None:
    old = FIXTURES / "chelsea-v0.nri"
    result = runner.invoke(app, ["decode-image", str(old), "-o", str(tmp_path / "old.png")])
    assert result.exit_code == 0, result.output
    expected, _ = decode_image(Codec.load(FACTORIZED_CODEC), old.read_bytes())
    assert np.array_equal(read_image(tmp_path / "old.png"), expected)
    stream = tmp_path / "new.nri"
    assert runner.invoke(app, ["encode-image", str(SAMPLES / "coffee.png"), "-o", str(stream)]).exit_code == 0
    result = runner.invoke(app, ["decode-image", str(stream), "-o", str(tmp_path / "new.png"), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["version"] == 3  # the newest, the default
