"""Resumable image-codec training: a run stopped and resumed from its checkpoint is the run that was
never stopped, byte for byte; a checkpoint of another run is refused; a run can start from a finished
codec (``--init``); bad ladders and starts are usage errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.errors import FormatError, InputError
from nrcodec.image import Codec, CodecSettings, train_codec
from nrcodec.image.checkpoint import Checkpoint, TrainingStopped
from nrcodec.image.models import Architecture
from nrcodec.image.models.hyperprior import HyperpriorParams
from nrcodec.media.images import read_image
from nrcodec.runtime import StepReport

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "images"
SMALL = Architecture("hyperprior", HyperpriorParams(channels=8, latents=12, levels=2))
SETTINGS = CodecSettings(lmbda=0.01, ladder=(0.01, 0.04), steps=8, crop=64, batch_size=2, lr=1e-3)


@pytest.fixture(scope="module")
def photos() -> list[np.ndarray]:
    return [read_image(SAMPLES / n) for n in ("coffee.png", "chelsea.png")]


@pytest.fixture(scope="module")
def uninterrupted(photos: list[np.ndarray]) -> bytes:
    return train_codec(photos, SETTINGS, architecture=SMALL).to_bytes()


def _stop_at(step: int) -> Callable[[StepReport], None]:
    def progress(report: StepReport) -> None:
        if report.done == step:
            raise KeyboardInterrupt

    return progress


def test_a_stopped_run_resumes_to_the_same_codec(
    photos: list[np.ndarray], uninterrupted: bytes, tmp_path: Path
) -> None:
    checkpoint = Checkpoint(tmp_path / "run.ckpt", every=3)
    with pytest.raises(TrainingStopped, match="resumes from step 3"):
        train_codec(photos, SETTINGS, _stop_at(5), architecture=SMALL, checkpoint=checkpoint)
    steps: list[int] = []
    resumed = train_codec(photos, SETTINGS, lambda r: steps.append(r.done), architecture=SMALL, checkpoint=checkpoint)
    assert steps == [4, 5, 6, 7, 8]
    assert resumed.to_bytes() == uninterrupted
    again: list[int] = []
    finished = train_codec(photos, SETTINGS, lambda r: again.append(r.done), architecture=SMALL, checkpoint=checkpoint)
    assert again == [] and finished.to_bytes() == uninterrupted


def test_a_checkpoint_of_another_run_is_refused(photos: list[np.ndarray], tmp_path: Path) -> None:
    checkpoint = Checkpoint(tmp_path / "run.ckpt", every=2)
    short = CodecSettings(lmbda=0.01, ladder=(0.01, 0.04), steps=2, crop=64, batch_size=2)
    train_codec(photos, short, architecture=SMALL, checkpoint=checkpoint)
    other = CodecSettings(lmbda=0.01, ladder=(0.01, 0.08), steps=2, crop=64, batch_size=2)
    with pytest.raises(InputError, match="other settings"):
        train_codec(photos, other, architecture=SMALL, checkpoint=checkpoint)
    with pytest.raises(InputError, match="other settings"):
        train_codec(photos[:1], short, architecture=SMALL, checkpoint=checkpoint)


def test_a_damaged_checkpoint_is_one_clear_error(photos: list[np.ndarray], tmp_path: Path) -> None:
    path = tmp_path / "run.ckpt"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    with pytest.raises(FormatError, match=r"run\.ckpt: not an nrcodec image training checkpoint"):
        train_codec(photos, SETTINGS, architecture=SMALL, checkpoint=Checkpoint(path))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lambdas", "0.01,x"], "--lambdas must be numbers"),
        (["--lambdas", "0.01,-1"], "every value of --lambdas must be > 0"),
        (["--model", "factorized", "--lambdas", "0.01,0.02"], "codes at 1 quality level(s), not 2"),
        (["--model", "nope"], "unknown --model 'nope'"),
    ],
)
def test_bad_training_options_are_usage_errors(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["train-image-codec", str(tmp_path / "c.nic"), "--images", str(SAMPLES), "--steps", "1", *args]
    )
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr


def test_a_run_from_a_finished_codec_starts_at_its_weights(
    photos: list[np.ndarray], uninterrupted: bytes, tmp_path: Path
) -> None:
    finished = Codec.from_bytes(uninterrupted)
    start = dict(SETTINGS.__dict__, steps=0)
    unchanged = train_codec(photos, CodecSettings(**start), init=finished)
    base, again = finished.state(0), unchanged.state(0)
    transforms = [name for name in base if not name.startswith("entropy.")]
    assert transforms and all(torch.equal(base[name], again[name]) for name in transforms)
    assert unchanged.versions[0].info["init"] == finished.fingerprint
    assert unchanged.versions[0].architecture == finished.versions[0].architecture
    checkpoint = Checkpoint(tmp_path / "run.ckpt", every=2)
    longer = train_codec(photos, SETTINGS, init=finished, checkpoint=checkpoint)
    assert longer.fingerprint != finished.fingerprint
    with pytest.raises(InputError, match="other settings"):
        train_codec(photos, SETTINGS, architecture=SMALL, checkpoint=checkpoint)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "factorized"], "--model factorized differs from the --init codec's model hyperprior"),
        (["--lambdas", "0.01,0.02,0.03"], "the --init codec has 2 quality levels, but 3 lambdas were given"),
    ],
)
def test_bad_starts_from_a_codec_are_usage_errors(
    args: list[str], message: str, uninterrupted: bytes, tmp_path: Path
) -> None:
    init = tmp_path / "init.nic"
    init.write_bytes(uninterrupted)
    result = CliRunner().invoke(
        app,
        ["train-image-codec", str(tmp_path / "c.nic"), "--images", str(SAMPLES), "--init", str(init), *args],
    )
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr and result.stderr.strip().count("\n") == 0, result.stderr


def test_training_over_its_own_start_is_refused(uninterrupted: bytes, tmp_path: Path) -> None:
    init = tmp_path / "init.nic"
    init.write_bytes(uninterrupted)
    args = ["train-image-codec", str(init), "--images", str(SAMPLES), "--init", str(init), "--force"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and "is also an input" in result.stderr, result.stderr
    assert init.read_bytes() == uninterrupted
