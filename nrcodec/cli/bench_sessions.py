"""``bench sessions``: the cost of a growing archive (add time, decode time, quality at session N)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from nrcodec.bench.sessions import ScaleRun, ScaleSettings, scale_markdown, scale_result
from nrcodec.bench.speed import SAMPLE_CLIP
from nrcodec.cli.app import DeviceOption, JsonFlag, ThreadsOption, compute_on, err, user_errors
from nrcodec.cli.bench import BenchOutputs, MarkdownOption, OutOption, bench
from nrcodec.cli.render import device_name, versions
from nrcodec.errors import UsageError
from nrcodec.media.video import read_video
from nrcodec.video.kinds import DEFAULT_STRATEGY, strategy_names


@bench.command("sessions")
def sessions(
    clip: Annotated[
        Path, typer.Argument(help="Clip added as every session.", show_default="the bunny clip shipped with nrcodec")
    ] = SAMPLE_CLIP,
    count: Annotated[int, typer.Option("--sessions", help="Sessions to add.", min=2)] = 30,
    frames: Annotated[int, typer.Option(help="Frames of the clip per session.", min=1)] = 4,
    epochs: Annotated[int, typer.Option(help="Epochs per session.", min=1)] = 3,
    strategy: Annotated[
        str, typer.Option(help=f"Strategy ({', '.join(strategy_names())}); masked ones use the tiny preset.")
    ] = DEFAULT_STRATEGY,
    quality: Annotated[int, typer.Option(help="Grow: quality level of every session.", min=1, max=6)] = 1,
    repeats: Annotated[int, typer.Option(help="Timings per measured point (median).", min=1)] = 3,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    as_json: JsonFlag = False,
    json_out: OutOption = None,
    markdown_out: MarkdownOption = None,
) -> None:
    """Add one clip N times to a new archive: add #N vs add #2, decoding session 1 at N sessions vs at 1,
    and session N's PSNR vs session 2's."""
    with user_errors():
        outputs = BenchOutputs(as_json, json_out, markdown_out)
        outputs.check([clip])
        if strategy not in strategy_names():
            raise UsageError(f"unknown strategy {strategy!r}; use {', '.join(strategy_names())}")
        dev = compute_on(device, threads)
        loaded = read_video(clip, frames)
        settings = ScaleSettings(strategy, count, epochs, quality, repeats)
        with tempfile.TemporaryDirectory(prefix="nrcodec-sessions-") as scratch:
            run = ScaleRun(Path(scratch) / "archive.nrc", loaded.frames, settings, dev)
            run.run(lambda k: err.print(f"session {k}/{count} ..."))
        result = {"device": str(dev), "device_name": device_name(dev), "versions": versions(), **scale_result(run)}
        outputs.write(result, scale_markdown(result))
