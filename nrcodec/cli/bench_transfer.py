"""``bench transfer``: a later session with a parent against the same clip learned alone (issue 28)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nrcodec.bench.curves import plot_rd
from nrcodec.bench.transfer import (
    TransferRun,
    TransferSettings,
    check_pair,
    plot_points,
    transfer_markdown,
    transfer_result,
)
from nrcodec.cli.app import DeviceOption, JsonFlag, ThreadsOption, compute_on, err, user_errors
from nrcodec.cli.bench import BenchOutputs, MarkdownOption, OutOption, PlotOut, bench
from nrcodec.cli.render import device_name, versions
from nrcodec.media.video import read_video


@bench.command("transfer")
def transfer(
    parent: Annotated[Path, typer.Argument(help="The earlier clip (session 1).")],
    child: Annotated[Path, typer.Argument(help="The later clip, added alone and with the parent.")],
    workdir: Annotated[
        Path, typer.Option(help="Folder for the archives: kept, so a rerun measures only what is missing.")
    ] = Path("out/bench/transfer"),
    max_frames: Annotated[int, typer.Option(help="Frames of each clip.", min=1, max=120)] = 120,
    epochs: Annotated[
        int | None, typer.Option(help="Passes per session.", min=1, show_default="add-video's time budget")
    ] = None,
    minutes: Annotated[
        float | None, typer.Option(help="Minutes per session.", min=0.01, show_default="add-video's default")
    ] = None,
    child_quality: Annotated[
        int | None,
        typer.Option(
            help="Also add the child with its parent at this quality level.", min=1, max=6, show_default="no such row"
        ),
    ] = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    as_json: JsonFlag = False,
    json_out: OutOption = None,
    markdown_out: MarkdownOption = None,
    plot_out: PlotOut = None,
) -> None:
    """Add PARENT to a new grow archive, then CHILD to copies of it: alone (--parent none), with its
    parent (--parent auto) and, with --child-quality, with its parent at that level; the child's bytes,
    PSNR and time in each, against alone."""
    with user_errors():
        outputs = BenchOutputs(as_json, json_out, markdown_out)
        outputs.check([parent, child], plot_out)
        dev = compute_on(device, threads)
        first, second = read_video(parent, max_frames), read_video(child, max_frames)
        check_pair(first.frames, second.frames)
        settings = TransferSettings(epochs, minutes, child_quality)
        run = TransferRun(first.frames, second.frames, workdir, settings, dev)
        rows = run.run(lambda text: err.print(text))
        result = {
            "device": str(dev),
            "device_name": device_name(dev),
            "versions": versions(),
            "parent_clip": str(parent),
            "child_clip": str(child),
            "settings": {"epochs": epochs, "minutes": minutes, "child_quality": child_quality, "frames": max_frames},
            **transfer_result(rows),
        }
        if plot_out is not None:
            plot_rd(plot_points(result), plot_out, "child: alone and with its parent", ("bytes", "RGB PSNR (dB)"))
            result["plot"] = str(plot_out)
        outputs.write(result, transfer_markdown(result))
