"""``bench image``: the image codec's rate-distortion against JPEG, WebP, JPEG 2000 and AVIF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import torch
import typer

from nrcodec.bench.anchors import image_anchors
from nrcodec.bench.curves import plot_rd
from nrcodec.bench.image import image_curves, image_markdown, run_image_bench
from nrcodec.cli.app import JsonFlag, ThreadsOption, compute_on, err, user_errors
from nrcodec.cli.bench import BenchOutputs, MarkdownOption, OutOption, PlotOut, bench, rd_versions
from nrcodec.cli.render import device_name
from nrcodec.errors import UsageError
from nrcodec.image import DEFAULT_CODEC, Codec
from nrcodec.media.images import read_image


@bench.command("image")
def image(
    images: Annotated[list[Path], typer.Argument(help="Images to code (PNG, JPEG, ...).")],
    codec_files: Annotated[
        list[Path] | None,
        typer.Option(
            "--codec",
            help="Codec file (.nic); repeat to compare several. Every version at every quality level is measured.",
            show_default="the shipped codec",
        ),
    ] = None,
    threads: ThreadsOption = None,
    as_json: JsonFlag = False,
    json_out: OutOption = None,
    markdown_out: MarkdownOption = None,
    plot_out: PlotOut = None,
) -> None:
    """Rate-distortion of every codec version and quality level against JPEG, WebP, JPEG 2000 and AVIF
    (Pillow): mean RD curves over the images, BD-rate on PSNR and MS-SSIM; CPU."""
    with user_errors():
        outputs = BenchOutputs(as_json, json_out, markdown_out)
        outputs.check(images, plot_out)
        compute_on("cpu", threads)
        codecs = [(p.name, Codec.load(p)) for p in codec_files or [DEFAULT_CODEC]]
        loaded = [(p.stem, read_image(p)) for p in images]
        if len({name for name, _ in loaded}) != len(loaded):
            raise UsageError("images need distinct base names; rename one")
        result = {
            "device": "cpu",
            "device_name": device_name(torch.device("cpu")),
            "versions": rd_versions(),
            **run_image_bench(loaded, codecs, image_anchors(), lambda text: err.print(text)),
        }
        if plot_out:
            plot_rd(
                image_curves(result), plot_out, "nrcodec image codec vs Pillow codecs", ("mean bits per pixel", "dB")
            )
        outputs.write(result, image_markdown(result))
