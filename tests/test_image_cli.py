"""The image commands through the CLI: JSON keys, backward compatibility after each adaptation
mode, and one-line errors (exit code 1, no traceback) on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors import safe_open
from safetensors.torch import save_file
from typer.testing import CliRunner

from nrcodec.cli import app
from nrcodec.image import Codec
from nrcodec.image.checkpoint import Checkpoint, TrainingStopped
from nrcodec.image.train import adapt, parent_settings
from nrcodec.media.images import read_images
from nrcodec.runtime import StepReport

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "images"
TINY = ["--steps", "3", "--crop", "64", "--batch", "2", "--device", "cpu"]


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str | Path) -> dict:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)


def assert_one_line_error(code: int, err: str, pattern: str, exit_code: int = 1) -> None:
    assert code == exit_code
    assert err.strip().count("\n") == 0, err
    assert "Traceback" not in err and pattern in err, err


@pytest.fixture(scope="module")
def codec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("codec") / "base.nic"
    report = run_json("train-image-codec", path, "--images", SAMPLES, *TINY)
    assert report["version"] == 0 and report["bytes"] == path.stat().st_size
    return path


@pytest.fixture(scope="module")
def bunny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bunny")
    shutil.copy(SAMPLES / "bunny.png", path)
    shutil.copy(SAMPLES / "bunny-alpha.png", path)
    return path


@pytest.mark.parametrize("mode", ["cawf", "selective", "naive"])
def test_old_bitstreams_decode_byte_identical_after_adapting(
    mode: str, codec_file: Path, bunny_dir: Path, tmp_path: Path
) -> None:
    image = SAMPLES / "coffee.png"
    enc = run_json("encode-image", image, "-o", tmp_path / "a.nri", "--codec", codec_file)
    assert set(enc) >= {"version", "bytes", "bpp", "width", "height"} and enc["version"] == 0
    assert (enc["width"], enc["height"]) == (128, 96)
    dec = run_json("decode-image", tmp_path / "a.nri", "-o", tmp_path / "a.png", "--codec", codec_file)
    assert dec == {"version": 0, "width": 128, "height": 96}

    adapted = tmp_path / "adapted.nic"
    report = run_json("adapt-domain", codec_file, "--images", bunny_dir, "--mode", mode, *TINY, "-o", adapted)
    assert {"version", "parent", "mode", "added_parameters", "fingerprint"} <= set(report)
    assert (report["version"], report["parent"], report["mode"]) == (1, 0, mode)

    run_json("decode-image", tmp_path / "a.nri", "-o", tmp_path / "b.png", "--codec", adapted)
    assert (tmp_path / "b.png").read_bytes() == (tmp_path / "a.png").read_bytes()
    run_json("encode-image", image, "-o", tmp_path / "b.nri", "--codec", adapted, "--version", "0")
    assert (tmp_path / "b.nri").read_bytes() == (tmp_path / "a.nri").read_bytes()
    newest = run_json("encode-image", image, "-o", tmp_path / "c.nri", "--codec", adapted)
    assert newest["version"] == 1
    assert run_json("decode-image", tmp_path / "c.nri", "-o", tmp_path / "c.png", "--codec", adapted)["version"] == 1


def test_adapt_in_place_appends_a_version(codec_file: Path, bunny_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "inplace.nic"
    shutil.copy(codec_file, target)
    run_json("adapt-domain", target, "--images", bunny_dir, "--mode", "selective", *TINY)
    assert target.read_bytes().startswith(codec_file.read_bytes())
    assert target.stat().st_size > codec_file.stat().st_size


def test_bad_inputs_give_one_line_and_exit_1(codec_file: Path, bunny_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "fake.png").write_text("not an image")
    code, _, err = run("encode-image", tmp_path / "fake.png", "-o", tmp_path / "x.nri", "--codec", codec_file)
    assert_one_line_error(code, err, "not an image")
    code, _, err = run("encode-image", tmp_path / "missing.png", "-o", tmp_path / "x.nri", "--codec", codec_file)
    assert_one_line_error(code, err, "no such file")
    code, _, err = run(
        "encode-image", SAMPLES / "coffee.png", "-o", tmp_path / "x.nri", "--codec", codec_file, "--version", "9"
    )
    assert_one_line_error(code, err, "no version 9")
    code, _, err = run(
        "encode-image", SAMPLES / "coffee.png", "-o", tmp_path / "x.nri", "--codec", SAMPLES / "coffee.png"
    )
    assert_one_line_error(code, err, "not a nrcodec codec file")
    code, _, err = run(
        "encode-image", SAMPLES / "coffee.png", "-o", tmp_path / "x.nri", "--codec", codec_file, "-q", "7"
    )
    assert_one_line_error(code, err, "qualities 1 to 6, not 7")
    code, _, err = run(
        "encode-image", SAMPLES / "coffee.png", "-o", tmp_path / "x.nri", "--codec", codec_file, "-q", "0"
    )
    assert code == 2 and "Traceback" not in err

    good = tmp_path / "good.nri"
    run_json("encode-image", SAMPLES / "chelsea.png", "-o", good, "--codec", codec_file)
    data = good.read_bytes()
    (tmp_path / "short.nri").write_bytes(data[: len(data) // 2])
    code, _, err = run("decode-image", tmp_path / "short.nri", "-o", tmp_path / "o.png", "--codec", codec_file)
    assert_one_line_error(code, err, "file ends")
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    (tmp_path / "flip.nri").write_bytes(bytes(flipped))
    code, _, err = run("decode-image", tmp_path / "flip.nri", "-o", tmp_path / "o.png", "--codec", codec_file)
    assert_one_line_error(code, err, "corrupted")
    code, _, err = run("decode-image", good, "-o", tmp_path / "o.png")
    assert_one_line_error(code, err, "not shipped with nrcodec; give its codec file (pass --codec)")
    assert not (tmp_path / "o.png").exists()

    other = tmp_path / "other.nic"
    run_json("train-image-codec", other, "--images", bunny_dir, *TINY, "--seed", "7")
    code, _, err = run("decode-image", good, "-o", tmp_path / "o.png", "--codec", other)
    assert_one_line_error(code, err, "another codec file")

    adapted = tmp_path / "adapted.nic"
    run_json("adapt-domain", codec_file, "--images", bunny_dir, "--mode", "naive", *TINY, "-o", adapted)
    run_json("encode-image", SAMPLES / "chelsea.png", "-o", tmp_path / "v1.nri", "--codec", adapted)
    code, _, err = run("decode-image", tmp_path / "v1.nri", "-o", tmp_path / "o.png", "--codec", codec_file)
    assert_one_line_error(code, err, "lacks")
    code, _, err = run("adapt-domain", codec_file, "--images", bunny_dir, "--mode", "magic", *TINY)
    assert_one_line_error(code, err, "unknown --mode", exit_code=2)
    code, _, err = run("train-image-codec", tmp_path / "x.nic", "--images", tmp_path / "nowhere", *TINY)
    assert_one_line_error(code, err, "not a directory")


def test_a_stopped_adaptation_resumes_to_the_same_version(codec_file: Path, bunny_dir: Path, tmp_path: Path) -> None:
    """An adaptation cut at step 3 (saved at 2) and finished by adapt-domain --checkpoint writes the
    version an uncut run writes; the checkpoint is gone once the version is in the file."""
    args = ("adapt-domain", codec_file, "--images", bunny_dir, "--mode", "naive", "--steps", "4", *TINY[2:])
    whole = run_json(*args, "-o", tmp_path / "whole.nic")

    checkpoint = tmp_path / "adapt.ckpt"
    codec = Codec.load(codec_file)
    settings = parent_settings(codec, 0, steps=4, crop=64, batch_size=2)

    def stop(report: StepReport) -> None:
        if report.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(TrainingStopped, match="resumes from step 2"):
        adapt(codec, read_images(bunny_dir), "naive", 0, settings, stop, False, checkpoint=Checkpoint(checkpoint, 2))
    nudged = tmp_path / "nudged.ckpt"  # the same run's state with one weight moved: a resume must show it
    with safe_open(str(checkpoint), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
        metadata = handle.metadata()
    first = next(key for key in tensors if key.startswith("model."))
    save_file({**tensors, first: tensors[first] + 0.01}, nudged, metadata)

    resumed = run_json(*args, "-o", tmp_path / "resumed.nic", "--checkpoint", checkpoint, "--checkpoint-every", "2")
    assert resumed["fingerprint"] == whole["fingerprint"]
    assert not checkpoint.exists()
    moved = run_json(*args, "-o", tmp_path / "moved.nic", "--checkpoint", nudged, "--checkpoint-every", "2")
    assert moved["fingerprint"] != whole["fingerprint"]
    code, _, err = run(*args, "-o", tmp_path / "x.nic", "--checkpoint", codec_file)
    assert_one_line_error(code, err, "is also an input", exit_code=2)
