"""Encoder-side refinement (``encode-image --effort``): effort 0 writes the bytes it always wrote, a
refined bitstream decodes with the unchanged decoder to the model's reconstruction of the refined
latents, refinement lowers the real rate-distortion cost, and a bad effort is one usage error.

Refinement runs on small crops of coffee.png (a held-out photo) with a few steps: the efforts'
step counts are patched down, the algorithm is the one that ships."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import nrcodec.image
from nrcodec.cli import app
from nrcodec.errors import UsageError
from nrcodec.image import DEFAULT_CODEC, FACTORIZED_CODEC, Codec, decode_image, encode_image, refine
from nrcodec.image.codec import level_lambda, to_tensor
from nrcodec.media.images import read_image

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "images"
EFFORT_0 = {
    ("hyperprior", "coffee", 1, 2): "38f31754aefe390f73e2f6478473681ed9304fc6ae8901ad6db4e187780b2adf",
    ("hyperprior", "chelsea", 1, 5): "15f36e787a9cb9da31f8283258f08f155f46194fb771c26aff5d60c9493014db",
    ("factorized", "chelsea", 0, None): "e31d14339103a2347f4957c57335c2c07fa1b73d2ec70290e83f2a142e172d9f",
}
"""SHA-256 of the shipped codecs' bitstreams (codec, image, version, quality) as the code before
refinement wrote them (commit ea1dd16, one and two threads alike)."""
CODECS = {"hyperprior": DEFAULT_CODEC, "factorized": FACTORIZED_CODEC}


@pytest.fixture(scope="module")
def codecs() -> dict[str, Codec]:
    return {name: Codec.load(path) for name, path in CODECS.items()}


@pytest.fixture
def few_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Efforts 1 and 2 as 12 and 24 steps, so that a test refines in a second."""
    monkeypatch.setattr(refine, "EFFORT_STEPS", (0, 12, 24))


def crop(name: str, size: int = 64) -> np.ndarray:
    return np.ascontiguousarray(read_image(SAMPLES / f"{name}.png")[:size, :size])


def test_effort_0_writes_the_bytes_it_always_wrote(codecs: dict[str, Codec], one_thread: None) -> None:
    for (model, image, version, quality), digest in EFFORT_0.items():
        rgb = read_image(SAMPLES / f"{image}.png")
        data = encode_image(codecs[model], rgb, version=version, quality=quality, effort=0).data
        assert hashlib.sha256(data).hexdigest() == digest, (model, image, quality)
        assert nrcodec.image.encode(rgb, quality, codecs[model], version) == data


@pytest.mark.parametrize("model", sorted(CODECS))
def test_a_refined_bitstream_decodes_to_the_models_reconstruction_of_the_refined_latents(
    model: str, codecs: dict[str, Codec], few_steps: None
) -> None:
    codec, rgb = codecs[model], crop("coffee", 48)
    quality = 2 if model == "hyperprior" else None
    encoded = encode_image(codec, rgb, quality=quality, effort=1)
    assert encode_image(codec, rgb, quality=quality, effort=1).data == encoded.data  # seeded
    assert encoded.data != encode_image(codec, rgb, quality=quality).data

    vid, level = codec.newest, max(0, encoded.quality - 1)
    net, x = codec.model(vid), to_tensor(rgb)
    with torch.no_grad():
        start = net.analyse(x, level)
    latents = refine.refine_latents(net, x, start, level, level_lambda(codec, vid, level), 12)
    expected = net.code(latents, 48, 48, level)
    stream = nrcodec.image.codec.check_bitstream(codec, encoded.data)
    assert stream.coded == expected.coded
    assert torch.equal(net.decompress(stream.coded, 48, 48, level), expected.x_hat)
    decoded, _ = decode_image(codec, encoded.data)
    assert np.array_equal(decoded, encoded.reconstruction)


def test_refinement_lowers_the_real_rate_distortion_cost(codecs: dict[str, Codec], few_steps: None) -> None:
    codec, rgb = codecs["hyperprior"], crop("coffee", 64)
    lmbda = level_lambda(codec, codec.newest, 3)
    costs = []
    for effort in (0, 1, 2):
        encoded = encode_image(codec, rgb, quality=4, effort=effort)
        mse = float(np.mean((decode_image(codec, encoded.data)[0].astype(np.float64) - rgb) ** 2))
        costs.append(encoded.bpp + lmbda * mse)
    assert costs[1] < costs[0] and costs[2] < costs[0], costs


def test_bad_efforts_are_one_usage_error(tmp_path: Path) -> None:
    for effort in ("3", "-1", "x"):
        result = CliRunner().invoke(
            app, ["encode-image", str(SAMPLES / "coffee.png"), "-o", str(tmp_path / "a.nri"), "--effort", effort]
        )
        assert result.exit_code == 2, result.output
        lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Usage:")]
        assert len(lines) == 1 and lines[0].startswith("error:") and "effort" in lines[0], result.stderr
        assert not (tmp_path / "a.nri").exists()
    for effort in (3, -1, True, 1.0):
        with pytest.raises(UsageError, match="effort must be an integer from 0 to 2"):
            nrcodec.image.encode(crop("coffee", 16), effort=effort)  # type: ignore[arg-type]


def test_encode_image_reports_its_effort_and_seconds(tmp_path: Path, few_steps: None) -> None:
    out = tmp_path / "c.nri"
    result = CliRunner().invoke(
        app, ["encode-image", str(SAMPLES / "coffee.png"), "-o", str(out), "--effort", "1", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["effort"] == 1 and report["seconds"] > 0 and report["bytes"] == out.stat().st_size
