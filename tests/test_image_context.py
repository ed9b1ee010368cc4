"""A checkerboard context as a new version on a hyperprior: it starts as its parent (same latents, same
reconstruction), trains on the parent's frozen latents only, stores its own layers alone, resumes
byte for byte, and leaves every earlier version's bitstreams as they were; the shipped ladder's
version-1 bitstreams still decode after its version 2 was added."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from nrcodec.errors import FormatError
from nrcodec.format.varint import pack_uvarints, unpack_uvarints
from nrcodec.image import DEFAULT_CODEC, Codec, CodecSettings, decode_image, encode_image, train_codec
from nrcodec.image.checkpoint import Checkpoint, TrainingStopped
from nrcodec.image.codec import to_tensor
from nrcodec.image.context import ContextSettings, fit_context, with_context
from nrcodec.image.models import Architecture
from nrcodec.image.models.checkerboard import CONTEXT_LAYERS
from nrcodec.image.models.hyperprior import HyperpriorParams
from nrcodec.image.train import adapt
from nrcodec.media.images import read_image
from nrcodec.runtime import StepReport

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "images"
FIXTURES = ROOT / "tests" / "fixtures" / "image"
SMALL = Architecture("hyperprior", HyperpriorParams(channels=8, latents=12, levels=2))
BASE = CodecSettings(lmbda=0.01, ladder=(0.01, 0.04), steps=6, crop=64, batch_size=2, lr=1e-3)
CONTEXT = ContextSettings(steps=8, batch=2, crop=4, lr=1e-2)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [read_image(SAMPLES / n) for n in ("coffee.png", "chelsea.png")]


@pytest.fixture(scope="module")
def base(photos: list[np.ndarray]) -> bytes:
    return train_codec(photos, BASE, architecture=SMALL).to_bytes()


def _stop_at(step: int) -> Callable[[StepReport], None]:
    def progress(report: StepReport) -> None:
        if report.done == step:
            raise KeyboardInterrupt

    return progress


def test_an_untrained_context_codes_the_parents_latents(base: bytes, photos: list[np.ndarray]) -> None:
    codec = Codec.from_bytes(base)
    parent = codec.model(0)
    model = with_context(codec, 0)
    model.use_tables(codec.version(0).tables())
    model.prepare_for_coding()
    x = to_tensor(photos[0])
    for level in (0, 1):
        theirs, ours = parent.compress(x, level), model.eval().compress(x, level)
        assert torch.equal(theirs.x_hat, ours.x_hat)
        assert ours.estimated_bits == pytest.approx(theirs.estimated_bits, rel=1e-9)
        assert torch.equal(model.decompress(ours.coded, *x.shape[-2:], level), ours.x_hat)


def test_a_context_version_stores_its_layers_and_keeps_older_bitstreams(
    base: bytes, photos: list[np.ndarray], tmp_path: Path
) -> None:
    codec = Codec.from_bytes(base)
    before = [encode_image(codec, rgb, version=0).data for rgb in photos]
    reports: list[StepReport] = []
    codec.append(fit_context(codec, 0, photos, CONTEXT, reports.append))
    codec.save(tmp_path / "c.nic")
    reread = Codec.load(tmp_path / "c.nic")
    assert tmp_path.joinpath("c.nic").read_bytes().startswith(base)
    version = reread.version(1)
    assert (version.parent, version.mode, version.architecture.model) == (0, "context", "checkerboard")
    assert version.kinds and all(name.startswith(CONTEXT_LAYERS) for name in version.kinds)
    assert [r.done for r in reports] == list(range(1, CONTEXT.steps + 1))
    for rgb, old in zip(photos, before):
        assert encode_image(reread, rgb, version=0).data == old
        assert decode_image(reread, old)[1] == 0
        new = encode_image(reread, rgb)
        decoded, used = decode_image(reread, new.data)
        assert used == 1 and np.array_equal(decoded, new.reconstruction)
        coded = reread.model(1).compress(to_tensor(rgb)).coded
        (size,), pos = unpack_uvarints(coded, 1, "hyper-latents")
        passes = 2 * reread.version(1).architecture.params.groups - 1  # type: ignore[attr-defined]
        with pytest.raises(FormatError, match=r"latent passes: \d+ bytes announced"):
            reread.model(1).decompress(coded[: pos + size] + pack_uvarints([len(coded)] * passes), *rgb.shape[:2])


def test_the_context_takes_as_many_channel_groups_as_asked(base: bytes, photos: list[np.ndarray]) -> None:
    codec = Codec.from_bytes(base)
    codec.append(fit_context(codec, 0, photos, ContextSettings(steps=1, batch=1, crop=4, groups=2)))
    assert codec.version(1).architecture.params.groups == 2  # type: ignore[attr-defined]
    coded = encode_image(codec, photos[1])
    assert np.array_equal(decode_image(codec, coded.data)[0], coded.reconstruction)


def test_a_stopped_context_run_resumes_to_the_same_version(
    base: bytes, photos: list[np.ndarray], tmp_path: Path
) -> None:
    whole = fit_context(Codec.from_bytes(base), 0, photos, CONTEXT)
    checkpoint = Checkpoint(tmp_path / "context.ckpt", every=3)
    with pytest.raises(TrainingStopped, match="resumes"):
        fit_context(Codec.from_bytes(base), 0, photos, CONTEXT, _stop_at(5), checkpoint)
    steps: list[int] = []
    resumed = fit_context(Codec.from_bytes(base), 0, photos, CONTEXT, lambda r: steps.append(r.done), checkpoint)
    assert steps == [4, 5, 6, 7, 8]
    assert resumed.tensors_blob == whole.tensors_blob


def test_a_context_version_adapts_like_any_other(base: bytes, photos: list[np.ndarray]) -> None:
    codec = Codec.from_bytes(base)
    codec.append(fit_context(codec, 0, photos, CONTEXT))
    before = encode_image(codec, photos[1], version=1).data
    settings = CodecSettings(lmbda=0.01, ladder=(0.01, 0.04), steps=2, crop=64, batch_size=2, lr=1e-3)
    for mode in ("cawf", "selective"):
        result = adapt(codec, photos[:1], mode, 1, settings, report=False)
        assert codec.version(result.version).architecture.model == "checkerboard"
        rgb = photos[1]
        coded = encode_image(codec, rgb, version=result.version)
        decoded, used = decode_image(codec, coded.data)
        assert used == result.version and np.array_equal(decoded, coded.reconstruction)
    assert encode_image(codec, photos[1], version=1).data == before


@pytest.mark.parametrize(
    ("version", "pixels"),
    [
        (1, "882ecd43bace6f2c7e551e214216b1e9c3eabfc10f95de3512286081a5e16926"),
        (2, "369311e00bca071826340cac5fdca6dfbff2278820e74b47b1d5d23e2376c79b"),
    ],
)
def test_bitstreams_of_earlier_shipped_versions_still_decode(version: int, pixels: str) -> None:
    """Each written before the next version existed (tests/fixtures/image/README.md): the same pixels
    after every later version, and the version still encodes the photo to the same bytes."""
    ladder = Codec.load(DEFAULT_CODEC)
    stream = (FIXTURES / f"coffee-ladder-v{version}-q4.nri").read_bytes()
    decoded, used = decode_image(ladder, stream)
    assert used == version
    assert hashlib.sha256(decoded.tobytes()).hexdigest() == pixels
    assert encode_image(ladder, read_image(SAMPLES / "coffee.png"), version=version, quality=4).data == stream
