"""The video rate-distortion benches, ``bench video`` (the supernet) and ``bench rd`` (grow's quality
ladder), against x264, x265 and AV1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nrcodec.bench.anchors import video_anchors
from nrcodec.bench.curves import plot_rd
from nrcodec.bench.rd import DEFAULT_LEVEL, LadderRun, anchor_points, ladder_curves, ladder_markdown, ladder_result
from nrcodec.bench.video import BENCH_EPOCHS, DEFAULT_SIZES, parse_sizes, run_video_bench, video_curves, video_markdown
from nrcodec.cli.app import DeviceOption, JsonFlag, ThreadsOption, compute_on, err, user_errors
from nrcodec.cli.bench import BenchOutputs, MarkdownOption, OutOption, PlotOut, bench, load_clips, rd_versions
from nrcodec.cli.render import device_name
from nrcodec.errors import UsageError
from nrcodec.video.grow.settings import DEFAULT_MINUTES, DEFAULT_WEIGHT_BITS, GrowSettings
from nrcodec.video.settings import SessionRequest, SessionSettings
from nrcodec.video.supernet.model import PRESETS, preset
from nrcodec.video.videos import DEFAULT_SEGMENT


@bench.command("video")
def video(
    clips: Annotated[list[Path], typer.Argument(help="Clips to learn in order, one session each.")],
    preset_name: Annotated[str, typer.Option("--preset", help=f"Preset: {', '.join(PRESETS)}.")] = "small",
    sizes: Annotated[
        str, typer.Option(help="nrcodec operating points: capacities, or CAPACITY:WIDTH (width scales channels).")
    ] = DEFAULT_SIZES,
    epochs: Annotated[int, typer.Option(help="Epochs per session.", min=1)] = BENCH_EPOCHS,
    max_frames: Annotated[int, typer.Option(help="Frames per clip.", min=1)] = 32,
    stl: Annotated[
        str, typer.Option(help="STL baseline: 'one' (matched to the middle size), 'all' sizes, or 'none'.")
    ] = "one",
    crf_step: Annotated[int, typer.Option(help="Use every n-th anchor CRF (1 = all six).", min=1)] = 1,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    workdir: Annotated[Path, typer.Option(help="Where the archives are written.")] = Path("out/bench/archives"),
    as_json: JsonFlag = False,
    json_out: OutOption = None,
    markdown_out: MarkdownOption = None,
    plot_out: PlotOut = None,
) -> None:
    """Rate-distortion of nrcodec (PNR at several sizes, STL at equal bytes) against x264, x265 and AV1."""
    with user_errors():
        outputs = BenchOutputs(as_json, json_out, markdown_out)
        outputs.check(clips, plot_out)
        dev = compute_on(device, threads)
        chosen = preset(preset_name)
        loaded = load_clips(clips, max_frames, distinct=True)
        settings = SessionSettings(epochs=epochs, batch_size=chosen.batch_size, lr=chosen.lr)
        result = {
            "device": str(dev),
            "device_name": device_name(dev),
            "versions": rd_versions(),
            **run_video_bench(
                loaded,
                chosen,
                parse_sizes(sizes),
                settings,
                video_anchors(crf_step),
                workdir,
                dev,
                stl,
                lambda text: err.print(text),
            ),
        }
        if plot_out:
            plot_rd(video_curves(result), plot_out, f"nrcodec {chosen.name}, {epochs} epochs vs classic codecs")
        outputs.write(result, video_markdown(result))


@bench.command("rd")
def rd(
    clips: Annotated[list[Path], typer.Argument(help="Clips (120 frames or more for fair figures), in session order.")],
    qualities: Annotated[
        str,
        typer.Option(
            help="Quality levels of the ladder (comma-separated, 1..6); default: what add-video does without "
            "settings (the level and budget its plan picks, long clips split into segments)."
        ),
    ] = "2,3,4,5",
    minutes: Annotated[
        float | None, typer.Option(help="Training minutes per session.", min=0.01, show_default=f"{DEFAULT_MINUTES:g}")
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="Train for epochs instead of minutes (quick runs).", min=1, show_default="off")
    ] = None,
    weight_bits: Annotated[int, typer.Option(help="Bits per stored weight.", min=4, max=8)] = DEFAULT_WEIGHT_BITS,
    max_frames: Annotated[int, typer.Option(help="Frames per clip.", min=1)] = 120,
    segment: Annotated[
        int, typer.Option(help="Frames per segment of a longer clip (0: never split), as add-video's.", min=0)
    ] = DEFAULT_SEGMENT,
    first_sessions: Annotated[
        bool, typer.Option(help="Also learn clips 2.. as the first session of an archive of their own.")
    ] = True,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    workdir: Annotated[
        Path, typer.Option(help="Archives and anchor cache; a rerun resumes from what is there.")
    ] = Path("out/bench/rd"),
    as_json: JsonFlag = False,
    json_out: OutOption = None,
    markdown_out: MarkdownOption = None,
    plot_out: PlotOut = None,
) -> None:
    """The grow strategy's quality ladder against x264 and x265 medium: bytes ratio at equal PSNR and BD-rate."""
    with user_errors():
        outputs = BenchOutputs(as_json, json_out, markdown_out)
        outputs.check(clips, plot_out)
        levels = _parse_qualities(qualities)
        dev = compute_on(device, threads)
        loaded = load_clips(clips, max_frames, distinct=True)
        workdir.mkdir(parents=True, exist_ok=True)
        request = SessionRequest(epochs, minutes=minutes, weight_bits=weight_bits, allow_below_floor=True)
        budget = GrowSettings.from_request(request)
        log = err.print
        anchors = anchor_points(loaded, workdir, log)
        points = LadderRun(workdir, dev, log).run(loaded, levels, budget, first_sessions, segment)
        result = {
            "device": str(dev),
            "device_name": device_name(dev),
            "versions": rd_versions(),
            **ladder_result(points, anchors, budget),
        }
        if plot_out:
            plot_rd(ladder_curves(result), plot_out, "nrcodec grow quality ladder vs x264 / x265 medium")
        outputs.write(result, ladder_markdown(result))


def _parse_qualities(text: str) -> list[int]:
    """Levels 1..6, and ``DEFAULT_LEVEL`` for "default"."""
    words = [q.strip() for q in text.split(",") if q.strip()]
    try:
        levels = [DEFAULT_LEVEL if q == "default" else int(q) for q in words]
    except ValueError:
        raise UsageError(
            f"--qualities {text!r} is not a comma-separated list of levels like 2,3,4 or default"
        ) from None
    for level in levels:
        if level != DEFAULT_LEVEL:
            GrowSettings(quality=level)
    if not levels:
        raise UsageError("--qualities needs at least one level")
    return levels
