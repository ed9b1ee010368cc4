"""Image codec commands: train-image-codec, adapt-domain, encode-image, decode-image."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from nrcodec.cli.app import DeviceOption, JsonFlag, ThreadsOption, app, compute_on, emit_json, user_errors
from nrcodec.cli.paths import check_output
from nrcodec.cli.render import step_bar
from nrcodec.errors import FormatError, InputError, UsageError
from nrcodec.format.atomic import commit_bytes
from nrcodec.image import (
    ADAPT_MODES,
    DEFAULT_CODEC,
    Codec,
    CodecSettings,
    adapt,
    decode_image,
    encode_image,
)
from nrcodec.image.checkpoint import Checkpoint
from nrcodec.image.codec import Encoded
from nrcodec.image.evaluate import psnr
from nrcodec.image.memory import codec_for
from nrcodec.image.models import DEFAULT_MODEL, MODELS, Architecture, architecture_for, default_ladder
from nrcodec.image.refine import EFFORT_STEPS, steps_for
from nrcodec.image.settings import ADAPT_LR, ADAPT_STEPS
from nrcodec.image.train import Adaptation, parent_settings, train_codec
from nrcodec.media.images import read_image, read_images, write_png

CodecOption = Annotated[
    Path | None,
    typer.Option(
        "--codec", help="Codec file (.nic).", show_default="the shipped codec (decode: the one the bitstream names)"
    ),
]
ForceOption = Annotated[bool, typer.Option("--force", help="Replace an existing codec file.")]
ImagesOption = Annotated[Path, typer.Option("--images", help="Directory of PNG/JPEG/WebP images.")]
StepsOption = Annotated[int, typer.Option("--steps", min=1, help="Training steps.")]
CropOption = Annotated[int, typer.Option("--crop", min=16, help="Training crop size in pixels.")]
BatchOption = Annotated[int, typer.Option("--batch", min=1, help="Crops per training step.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed.")]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", help=f"Image model: {', '.join(sorted(MODELS))}.", show_default=f"{DEFAULT_MODEL} (--init: its)"
    ),
]
InitOption = Annotated[
    Path | None,
    typer.Option(
        "--init",
        help="Start from this codec file's version 0 (its model and ladder) instead of random weights, "
        "e.g. to train a finished codec longer or on larger crops.",
        show_default="random weights",
    ),
]
LambdaOption = Annotated[
    float | None,
    typer.Option(
        "--lambda",
        min=0.0,
        help="One λ: a codec of a single rate (as --lambdas with one value).",
        show_default="--lambdas",
    ),
]
LambdasOption = Annotated[
    str | None,
    typer.Option(
        "--lambdas",
        help="λ of each quality level, lowest first (bpp + λ·MSE on the 0..255 scale); one value for a "
        "single-rate model.",
        show_default="the model's ladder",
    ),
]
EffortOption = Annotated[
    int,
    typer.Option(
        "--effort",
        help="Encoder effort: 1 or 2 refine the latents for the decoder with "
        f"{' or '.join(map(str, EFFORT_STEPS[1:]))} gradient steps (a slower encode, a smaller file at the "
        "same quality, the same decoder).",
    ),
]
CheckpointOption = Annotated[
    Path | None,
    typer.Option(
        "--checkpoint",
        help="Save the run here as it goes, and resume from it if it exists.",
        show_default="no checkpoints",
    ),
]
CheckpointEveryOption = Annotated[int, typer.Option("--checkpoint-every", min=1, help="Steps between saves.")]


def _load_codec(path: Path | None) -> Codec:
    if path is None:
        if not DEFAULT_CODEC.is_file():
            raise InputError("this install has no shipped image codec; pass --codec")
        path = DEFAULT_CODEC
    return Codec.load(path)


def _codec_for(bitstream: Path, data: bytes, path: Path | None) -> Codec:
    """The codec file given, else the shipped codec the bitstream names (``image.memory.codec_for``)."""
    try:
        return codec_for(data, path)
    except FormatError as exc:
        raise type(exc)(f"{bitstream}: {exc}") from None
    except InputError as exc:
        raise InputError(f"{bitstream}: {exc} (pass --codec)" if path is None else str(exc)) from None


def _ladder(model: str, lmbda: float | None, text: str | None) -> tuple[float, ...]:
    """The λ of each level from ``--lambda`` or ``--lambdas``; the model's default ladder without them."""
    if model not in MODELS:
        raise UsageError(f"unknown --model {model!r} (choose {', '.join(sorted(MODELS))})")
    if lmbda is not None and text is not None:
        raise UsageError("give --lambda or --lambdas, not both")
    if lmbda is not None:
        return (lmbda,)
    if text is None:
        return default_ladder(model)
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--lambdas must be numbers separated by commas, not {text!r}") from None
    if any(not v > 0 for v in values):
        raise UsageError("every value of --lambdas must be > 0")
    return values


def _start(
    model: str | None, init: Codec | None, lmbda: float | None, lambdas: str | None
) -> tuple[Architecture, tuple[float, ...]]:
    """The architecture and λ ladder of a new base: the model's defaults, or those of ``init``'s
    version 0 (whose ladder ``--lambda``/``--lambdas`` may replace, at the same number of levels)."""
    if init is None:
        ladder = _ladder(model or DEFAULT_MODEL, lmbda, lambdas)
        return architecture_for(model or DEFAULT_MODEL, len(ladder)), ladder
    base = init.version(0)
    if model is not None and model != base.architecture.model:
        raise UsageError(f"--model {model} differs from the --init codec's model {base.architecture.model}")
    if lmbda is None and lambdas is None:
        return base.architecture, parent_settings(init, 0).lambdas
    ladder = _ladder(base.architecture.model, lmbda, lambdas)
    if len(ladder) != base.architecture.params.level_count:
        raise UsageError(
            f"the --init codec has {base.architecture.params.level_count} quality levels, "
            f"but {len(ladder)} lambdas were given"
        )
    return base.architecture, ladder


@app.command("train-image-codec")
def train_image_codec(
    out: Annotated[Path, typer.Argument(metavar="CODEC", help="Codec file (.nic) to write.")],
    images: ImagesOption,
    model: ModelOption = None,
    init: InitOption = None,
    lmbda: LambdaOption = None,
    lambdas: LambdasOption = None,
    steps: StepsOption = CodecSettings.steps,
    crop: CropOption = CodecSettings.crop,
    batch: BatchOption = CodecSettings.batch_size,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Peak learning rate.")] = CodecSettings.lr,
    seed: SeedOption = CodecSettings.seed,
    checkpoint: CheckpointOption = None,
    checkpoint_every: CheckpointEveryOption = 200,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    force: ForceOption = False,
    json_out: JsonFlag = False,
) -> None:
    """Train a base image codec (version 0) on a directory of images, from scratch or from another codec."""
    with user_errors():
        start_from = Codec.load(init) if init is not None else None
        architecture, ladder = _start(model, start_from, lmbda, lambdas)
        inputs = [init] if init is not None else []
        check_output(out, inputs, replaces="a codec file (every bitstream coded with it needs it)", force=force)
        if checkpoint is not None:
            check_output(checkpoint, [out, *inputs])
        settings = CodecSettings(steps=steps, crop=crop, batch_size=batch, lr=lr, seed=seed).with_lambdas(ladder)
        where = compute_on(device, threads)
        pictures = read_images(images)
        start = time.perf_counter()
        resumable = Checkpoint(checkpoint, checkpoint_every) if checkpoint else None
        with step_bar("training", steps) as progress:
            codec = train_codec(pictures, settings, progress, where, architecture, resumable, start_from)
        codec.save(out)
        _report_training(out, codec, len(pictures), settings, time.perf_counter() - start, str(where), json_out)


def _report_training(
    out: Path, codec: Codec, images: int, settings: CodecSettings, seconds: float, device: str, json_out: bool
) -> None:
    base = codec.versions[0]
    report = {
        "version": 0,
        "fingerprint": base.fingerprint,
        "architecture": base.architecture.to_json(),
        "images": images,
        "steps": settings.steps,
        "lambda": settings.lmbda,
        "lambdas": list(settings.lambdas),
        "train_bpp": base.info["train"]["bpp"],
        "bytes": len(codec.to_bytes()),
        "seconds": round(seconds, 2),
        "device": device,
    }
    if "init" in base.info:
        report["init"] = base.info["init"]
    if json_out:
        emit_json(report)
    else:
        typer.echo(
            f"{out}: version 0 ({base.fingerprint}, {base.architecture}), {report['bytes']} bytes, "
            f"trained {settings.steps} steps on {images} images in {report['seconds']} s"
        )


@app.command("adapt-domain")
def adapt_domain(
    codec_path: Annotated[Path, typer.Argument(metavar="CODEC", help="Codec file (.nic) to adapt.")],
    images: ImagesOption,
    mode: Annotated[str, typer.Option("--mode", help=f"Adaptation: {', '.join(ADAPT_MODES)}.")] = "cawf",
    parent: Annotated[int, typer.Option("--parent", min=0, help="Version to adapt from.")] = 0,
    steps: StepsOption = ADAPT_STEPS,
    crop: CropOption = CodecSettings.crop,
    batch: BatchOption = CodecSettings.batch_size,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Peak learning rate.")] = ADAPT_LR,
    seed: SeedOption = CodecSettings.seed,
    checkpoint: CheckpointOption = None,
    checkpoint_every: CheckpointEveryOption = 200,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of in place.", show_default="in place")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing codec file given with -o.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Add a version adapted to a directory of images (in place, atomically, unless -o).

    With --checkpoint, an interrupted adaptation resumes from its last save when the same command
    runs again; the checkpoint is removed once the version is written."""
    with user_errors():
        if mode not in ADAPT_MODES:
            raise UsageError(f"unknown --mode {mode!r} (choose {', '.join(ADAPT_MODES)})")
        if output is None:
            check_output(codec_path)
        else:
            check_output(output, [codec_path], replaces="a codec file", force=force)
        if checkpoint is not None:
            check_output(checkpoint, [codec_path, *([output] if output else [])])
        where = compute_on(device, threads)
        codec = Codec.load(codec_path)
        settings = parent_settings(codec, parent, steps=steps, crop=crop, batch_size=batch, lr=lr, seed=seed)
        pictures = read_images(images)
        with step_bar(f"adapting ({mode})", steps) as progress:
            resumable = Checkpoint(checkpoint, checkpoint_every) if checkpoint else None
            result = adapt(codec, pictures, mode, parent, settings, progress, device=where, checkpoint=resumable)
        codec.save(output or codec_path)
        if checkpoint is not None:
            checkpoint.unlink(missing_ok=True)  # the adaptation is in the file; a rerun adds another
        _report_adaptation(result, len(pictures), json_out)


def _report_adaptation(result: Adaptation, images: int, json_out: bool) -> None:
    """The new version and what it changed on the training images: JSON, or one line."""
    report = {
        "version": result.version,
        "parent": result.parent,
        "mode": result.mode,
        "added_parameters": result.added_parameters,
        "fingerprint": result.fingerprint,
        "before": result.before,
        "after": result.after,
    }
    if json_out:
        emit_json(report)
        return
    b, a = result.before, result.after
    typer.echo(
        f"version {result.version} ({result.mode} from version {result.parent}): "
        f"{result.added_parameters} parameters added; on the {images} images "
        f"{b['bpp']:.4f} bpp {b['psnr']:.2f} dB -> {a['bpp']:.4f} bpp {a['psnr']:.2f} dB"
    )


@app.command("encode-image")
def encode_image_command(
    image: Annotated[Path, typer.Argument(metavar="IMAGE", help="PNG, JPEG or WebP image.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Bitstream (.nri) to write.")],
    codec_path: CodecOption = None,
    version: Annotated[
        int | None, typer.Option("--version", min=0, help="Codec version to code with.", show_default="newest")
    ] = None,
    quality: Annotated[
        int | None,
        typer.Option(
            "-q",
            "--quality",
            min=1,
            help="Quality level: 1 = smallest file; `nrcodec info CODEC` lists the levels.",
            show_default="4 of 6",
        ),
    ] = None,
    effort: EffortOption = 0,
    threads: ThreadsOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Compress one image into a bitstream."""
    with user_errors():
        steps_for(effort)
        check_output(output, [image])
        compute_on("cpu", threads)
        codec = _load_codec(codec_path)
        rgb = read_image(image)
        start = time.perf_counter()
        encoded = encode_image(codec, rgb, version, quality, effort)
        seconds = time.perf_counter() - start
        try:
            commit_bytes(output, encoded.data)
        except OSError as exc:
            raise InputError(f"cannot write {output}: {exc.strerror or exc}") from None
        _report_encoding(output, rgb, encoded, seconds, json_out)


def _report_encoding(output: Path, rgb: np.ndarray, encoded: Encoded, seconds: float, json_out: bool) -> None:
    report = {
        "version": encoded.version,
        "quality": encoded.quality or None,
        "bytes": len(encoded.data),
        "bpp": encoded.bpp,
        "width": encoded.width,
        "height": encoded.height,
        "psnr": psnr(rgb, encoded.reconstruction),
        "estimated_bytes": encoded.estimated_bits / 8,
        "header_bytes": encoded.header_bytes,
        "effort": encoded.effort,
        "seconds": round(seconds, 3),
    }
    if json_out:
        emit_json(report)
    else:
        typer.echo(
            f"{output}: {report['bytes']} bytes, {report['bpp']:.4f} bpp, "
            f"{report['psnr']:.2f} dB (version {encoded.version}"
            + (f", quality {encoded.quality}" if encoded.quality else "")
            + (f", effort {encoded.effort}" if encoded.effort else "")
            + f") in {seconds:.2f} s"
        )


@app.command("decode-image")
def decode_image_command(
    bitstream: Annotated[Path, typer.Argument(metavar="BITSTREAM", help="Bitstream (.nri) to decode.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="PNG to write.")],
    codec_path: CodecOption = None,
    threads: ThreadsOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Decompress a bitstream into a PNG, with the version it names."""
    with user_errors():
        check_output(output, [bitstream, *([codec_path] if codec_path else [])])
        compute_on("cpu", threads)
        try:
            data = bitstream.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {bitstream}: {exc.strerror or exc}") from None
        codec = _codec_for(bitstream, data, codec_path)
        try:
            rgb, version = decode_image(codec, data)
        except FormatError as exc:
            raise type(exc)(f"{bitstream}: {exc}") from None
        write_png(output, rgb)
        report = {"version": version, "width": rgb.shape[1], "height": rgb.shape[0]}
        if json_out:
            emit_json(report)
        else:
            typer.echo(f"{output}: {rgb.shape[1]}x{rgb.shape[0]} (version {version})")
