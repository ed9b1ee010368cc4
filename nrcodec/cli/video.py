"""Video commands: add-video, decode, info, eval."""

from __future__ import annotations

import json
import re
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import torch
import typer
from rich.markup import escape
from rich.table import Table

from nrcodec import parallel
from nrcodec.cli.app import (
    DeviceOption,
    JsonFlag,
    ThreadsOption,
    app,
    compute_on,
    emit_json,
    err,
    note,
    out,
    user_errors,
)
from nrcodec.cli.paths import check_output
from nrcodec.cli.render import fmt_optional, human_bytes, step_bar
from nrcodec.errors import InputError, UsageError
from nrcodec.media.video import read_video, write_video
from nrcodec.plots import plot_matrix
from nrcodec.runtime import resolve_precision
from nrcodec.video.archive import Archive, training
from nrcodec.video.evaluate import EvalReport, evaluate
from nrcodec.video.grow.budget import MIN_EPOCHS
from nrcodec.video.grow.parents import PROBE_EPOCHS, parse_choice
from nrcodec.video.grow.settings import DEFAULT_MINUTES, DEFAULT_QUALITY, DEFAULT_WEIGHT_BITS, FLOOR_DB
from nrcodec.video.kinds import DEFAULT_STRATEGY, strategy_names
from nrcodec.video.nerv import EMBEDDINGS
from nrcodec.video.settings import NewArchive, SessionRequest
from nrcodec.video.supernet.config import DEFAULT_PRESET
from nrcodec.video.supernet.model import PRESETS
from nrcodec.video.videos import DEFAULT_SEGMENT, AddedVideo, plan_video

VIDEO_FILES = (".y4m", ".mkv", ".mp4", ".mov")
"""Outputs of ``decode`` that are one file (checked before decoding); the others are folders or patterns."""
PRESET_EPOCHS = ", ".join(f"{name} {p.epochs}" for name, p in PRESETS.items())
PresetOption = Annotated[
    str | None,
    typer.Option(
        "--preset",
        help=f"Supernet canvas, size and training recipe of a new pnr-family archive ({', '.join(PRESETS)}); "
        "a grow session sizes its own network (--quality).",
        show_default=DEFAULT_PRESET,
    ),
]
CapacityOption = Annotated[
    float | None,
    typer.Option(
        help="Fraction of each layer a session selects (new pnr-family archive).", show_default="0.3", min=0.0, max=1.0
    ),
]
StrategyOption = Annotated[
    str | None,
    typer.Option(
        help=f"Continual-learning strategy of a new archive: {', '.join(strategy_names())}. grow gives every "
        "session a network of its own (smallest files); pnr and the others share one masked supernet. "
        "Later sessions use the archive's.",
        show_default=DEFAULT_STRATEGY,
    ),
]
StrategySettingOption = Annotated[
    list[str] | None,
    typer.Option(
        "--strategy-option",
        help="KEY=VALUE setting of a new archive's strategy, repeatable (e.g. strength=1e4 for ewc, "
        "prune=0.05 for anpyc, drop=0.2 for spacenet).",
        show_default="the strategy's defaults",
    ),
]
EmbeddingOption = Annotated[
    str | None,
    typer.Option(help=f"Index embedding of a new archive: {', '.join(EMBEDDINGS)}.", show_default="sinusoidal"),
]


EpochsOption = Annotated[
    int | None,
    typer.Option(
        help="Training epochs.",
        min=1,
        show_default=f"grow: --minutes {DEFAULT_MINUTES:g}; others the preset's: " + PRESET_EPOCHS,
    ),
]
QualityOption = Annotated[
    int | None,
    typer.Option(
        help="Grow: size of the session's network, 1 (smallest file) to 6; each level doubles the weights.",
        min=1,
        max=6,
        show_default=str(DEFAULT_QUALITY),
    ),
]
WeightBitsOption = Annotated[
    int | None,
    typer.Option(
        help="Grow: bits per stored block weight (4..8); the stem's large layer gets 2 fewer (at least 3).",
        min=4,
        max=8,
        show_default=str(DEFAULT_WEIGHT_BITS),
    ),
]
MinutesOption = Annotated[
    float | None,
    typer.Option(
        help="Grow: train for this many minutes instead of a number of epochs; a budget too short for "
        f"{MIN_EPOCHS} passes at the quality asked is refused before any work, with what would fit.",
        min=0.01,
        show_default=f"{DEFAULT_MINUTES:g}, or what the clip needs for {MIN_EPOCHS} passes (said up front), "
        "unless --epochs is given",
    ),
]


PrecisionOption = Annotated[
    str,
    typer.Option(
        help="Arithmetic of the training forward pass: fp32, bf16 (autocast), or auto = bf16 on CUDA, fp32 on "
        "CPU. The decode is the same either way: it runs the stored integer weights.",
    ),
]
SegmentOption = Annotated[
    int,
    typer.Option(
        "--segment",
        help="Grow: a clip longer than this many frames is learned as consecutive segments of at most this "
        "many (as even as they can be), a session each, shown and decoded as one video; 0: never split.",
        min=0,
    ),
]
BelowFloorFlag = Annotated[
    bool,
    typer.Option(
        "--allow-below-floor",
        help=f"Grow: store a time-budgeted session even below {FLOOR_DB:g} dB (by default it is refused and "
        "nothing is written).",
    ),
]
ParentOption = Annotated[
    str | None,
    typer.Option(
        "--parent",
        help="Grow: the video whose network this one's training starts from (its blocks and head; the new "
        "session still stores its whole network and decodes alone). none: a fresh network; auto: the most "
        f"recent one of a size that fits, kept only if a {PROBE_EPOCHS}-pass probe of both starts says it "
        "helps (it pays with short budgets such as --epochs 30, not with the default one); N: video N.",
        show_default="none",
    ),
]
CompileFlag = Annotated[
    bool,
    typer.Option("--compile", help="Compile the training forward pass with torch.compile (pays off on long runs)."),
]


@app.command("add-video")
def add_video(
    archive: Annotated[Path, typer.Argument(metavar="ARCHIVE", help="Archive (.nrc) to create or append to.")],
    source: Annotated[str, typer.Argument(metavar="INPUT", help="Any video PyAV reads, or - for y4m on stdin.")],
    preset_name: PresetOption = None,
    capacity: CapacityOption = None,
    epochs: EpochsOption = None,
    quality: QualityOption = None,
    weight_bits: WeightBitsOption = None,
    minutes: MinutesOption = None,
    strategy: StrategyOption = None,
    strategy_option: StrategySettingOption = None,
    embedding: EmbeddingOption = None,
    name: Annotated[str | None, typer.Option(help="Session name.", show_default="the file's base name")] = None,
    max_frames: Annotated[
        int | None, typer.Option(help="Use only the first N frames.", min=1, show_default="all")
    ] = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    seed: Annotated[int, typer.Option(help="Random seed (model init is fixed by the archive's seed).")] = 0,
    precision: PrecisionOption = "auto",
    compile_model: CompileFlag = False,
    allow_below_floor: BelowFloorFlag = False,
    segment: SegmentOption = DEFAULT_SEGMENT,
    parent: ParentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Learn a video as the next session of ARCHIVE, creating the archive if it is missing.

    Earlier sessions are never changed: their bytes stay as they are and they decode exactly as before.
    Under torchrun (torchrun --nproc-per-node N -m nrcodec add-video ...) N processes train the session
    together, each on its share of every batch; rank 0 writes the archive and prints the report.
    """
    with user_errors():
        request = NewArchive(preset_name, capacity, strategy, parse_options(strategy_option or []), embedding, seed)
        world, dev = parallel.join(compute_on(device, threads))
        try:
            if world.main:
                check_output(archive, [source])
            precision = resolve_precision(precision, dev)
            choice = None if parent is None else parse_choice(parent)
            training_request = SessionRequest(
                epochs, seed, quality, weight_bits, minutes, precision, compile_model, allow_below_floor, choice
            )
            wanted = ClipRequest(source, name, max_frames, training_request, segment)
            added = _train(archive, request, wanted, dev, world)
        finally:
            parallel.leave()
        if added is None:
            return
        for notice in added.notices:
            note(notice)
        if as_json:
            emit_json(added.to_json())
            return
        _print_added(archive, added)


@dataclass(frozen=True)
class ClipRequest:
    """What add-video asks of the new session: its clip and name, and how to train it."""

    source: str
    name: str | None
    max_frames: int | None
    training: SessionRequest
    segment: int = DEFAULT_SEGMENT


def _train(
    path: Path, request: NewArchive, wanted: ClipRequest, dev: torch.device, world: parallel.World
) -> AddedVideo | None:
    """Read the clip and train it as the next session of ``path``, a segment at a time if it is long;
    only rank 0 of a torchrun run (or the only process) prints and writes (the others return None)."""

    def say(text: str) -> None:
        if world.main:
            note(text)

    with training(path, request, dev, on_wait=say) as lib:
        for notice in lib.notices:
            say(notice)
        clip = read_video(wanted.source, wanted.max_frames)
        for notice in clip.notices:
            say(notice)
        planned = plan_video(lib.library, clip.frames, lib.settings(wanted.training), wanted.segment)
        label, stored_name = wanted.name or clip.name, Path(wanted.source).name
        number = len(lib.videos()) + 1
        if world.main:
            frames, h, w = clip.frames.shape[:3]
            on = f"{dev} x{world.size} processes" if world.size > 1 else str(dev)
            err.print(f"session {number} {escape(repr(label))}: {frames} frames {w}x{h} @ {clip.fps:g} fps on {on}")
            if planned.text:
                err.print(escape(planned.text))
        reports = []
        for index, (start, stop) in enumerate(planned.parts, start=1):
            title = f"segment {index}/{len(planned.parts)}" if len(planned.parts) > 1 else f"session {number}"
            settings = planned.plan.settings
            with step_bar(title, settings.progress_total) if world.main else nullcontext() as report:
                part = clip.frames[start:stop]
                reports.append(lib.add(part, label, clip.fps, settings, report, stored_name, planned.meta(index)))
        return AddedVideo(lib.videos()[-1], reports) if world.main else None


def _print_added(archive: Path, added: AddedVideo) -> None:
    v = added.to_json()
    ssim = "n/a (frames too small)" if v["ms_ssim"] is None else f"{v['ms_ssim']:.4f}"
    parts = f" in {len(added.reports)} segments" if len(added.reports) > 1 else ""
    out.print(
        escape(
            f"added session {v['session']} '{v['name']}' to {archive}: {v['frames']} frames{parts}, "
            f"PSNR {v['psnr']:.2f} dB, MS-SSIM {ssim}, +{human_bytes(v['bytes'])} "
            f"({v['bpp']:.3f} bpp), {added.seconds:.1f} s on {v['device']}"
            + ("" if v["parent"] is None else f", trained from session {v['parent']}'s network")
        )
    )


def parse_options(items: list[str]) -> dict[str, object]:
    """KEY=VALUE pairs; a value is read as JSON (numbers, true/false), else kept as text."""
    options: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--strategy-option {item!r} is not of the form KEY=VALUE (e.g. strength=1e4)")
        try:
            options[key] = json.loads(value)
        except ValueError:
            options[key] = value
    return options


def _frame_range(text: str | None) -> tuple[int, int | None]:
    if text is None:
        return 0, None
    match = re.fullmatch(r"(\d*):(\d*)", text)
    if not match:
        raise UsageError(f"--frames {text!r} is not a range like 0:16, 8: or :10")
    start = int(match[1]) if match[1] else 0
    stop = int(match[2]) if match[2] else None
    return start, stop


@app.command()
def decode(
    archive: Annotated[Path, typer.Argument(metavar="ARCHIVE", help="Archive (.nrc).")],
    session: Annotated[int, typer.Option("--session", "-s", help="Session number (from 1).", min=1)],
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="- (y4m 4:4:4 on stdout), .y4m (4:4:4), a directory or a %04d.png pattern (lossless PNG), "
            ".mkv (FFV1 RGB, lossless), .mp4/.mov (H.264 crf 12, visually lossless).",
        ),
    ],
    frames: Annotated[
        str | None, typer.Option("--frames", help="Frame range A:B (end exclusive).", show_default="all")
    ] = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Decode one session back to frames at the video's own size and frame rate."""
    with user_errors():
        if as_json and output == "-":
            raise UsageError("--json and -o - both want stdout; write the frames to a file instead")
        start, stop = _frame_range(frames)
        if Path(output).suffix in VIDEO_FILES:
            check_output(Path(output), [archive])
        lib = Archive.open(archive, compute_on(device, threads))
        for notice in lib.notices:
            note(notice)
        decoded = lib.decode(session, start, stop)
        first = lib.video(session).first
        fps = first.fps
        written = write_video(decoded, fps, output)
        summary = {
            "session": session,
            "name": first.name,
            "frames": int(decoded.shape[0]),
            "width": int(decoded.shape[2]),
            "height": int(decoded.shape[1]),
            "fps": fps,
            "output": output,
            "written": written,
        }
        if as_json:
            emit_json(summary)
        else:
            err.print(escape(f"decoded session {session} '{first.name}' → {output}: {written}"))


def _parse_sources(items: list[str]) -> dict[int, str]:
    sources: dict[int, str] = {}
    for item in items:
        match = re.fullmatch(r"(\d+)=(.+)", item)
        if not match:
            raise UsageError(f"--source {item!r} is not of the form N=PATH (e.g. 1=clip.mp4)")
        sources[int(match[1])] = match[2]
    return sources


@app.command("eval")
def eval_command(
    archive: Annotated[Path, typer.Argument(metavar="ARCHIVE", help="Archive (.nrc).")],
    source: Annotated[list[str], typer.Option("--source", help="N=PATH: the video session N was added from.")],
    matrix: Annotated[
        bool, typer.Option("--matrix", help="Also the transfer matrix: session i's subnetwork decoding video j.")
    ] = False,
    heatmap: Annotated[
        Path | None,
        typer.Option(
            help="PNG heatmap of the transfer matrix (needs the plots extra).", show_default="ARCHIVE.matrix.png"
        ),
    ] = None,
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Quality of each session now vs at add time, the average and backward transfer (BWT)."""
    with user_errors():
        paths = _parse_sources(source)
        png = heatmap or archive.with_suffix(".matrix.png")
        if matrix or heatmap is not None:
            check_output(png, [archive, *paths.values()])
        lib = Archive.open(archive, compute_on(device, threads))
        for notice in lib.notices:
            note(notice)
        videos = lib.videos()
        frames = {
            n: read_video(path, videos[n - 1].frames if 1 <= n <= len(videos) else None).frames
            for n, path in paths.items()
        }
        report = evaluate(lib, frames, matrix or heatmap is not None)
        if report.matrix is not None:
            _heatmap(report, png, heatmap is not None, archive.name)
        if as_json:
            emit_json(report.to_json())
            return
        _print_eval(report)


def _heatmap(report: EvalReport, png: Path, asked: bool, title: str) -> None:
    """Draw the transfer matrix; without matplotlib say how to get it, unless the PNG was asked for."""
    try:
        plot_matrix(report.matrix.to_json(), png, f"{title}: transfer matrix (PSNR, dB)")
        report.heatmap = str(png)
    except InputError:
        if asked:
            raise
        err.print(escape("note: install the plots extra (pip install 'nrcodec[plots]') for the PNG heatmap"))


def _print_eval(report: EvalReport) -> None:
    table = Table("session", "name", "PSNR at add", "PSNR now", "MS-SSIM at add", "MS-SSIM now")
    for r in report.sessions:
        table.add_row(
            str(r.session),
            escape(r.name),
            fmt_optional(r.psnr_at_add, 2),
            fmt_optional(r.psnr_now, 2),
            fmt_optional(r.ms_ssim_at_add),
            fmt_optional(r.ms_ssim_now),
        )
    out.print(table)
    summary = report.to_json()
    out.print(
        f"average PSNR {summary['avg_psnr']:.2f} dB, BWT {summary['bwt_psnr']:+.2f} dB; "
        f"average MS-SSIM {fmt_optional(summary['avg_ms_ssim'])}, BWT {fmt_optional(summary['bwt_ms_ssim'])}"
    )
    if report.matrix is not None:
        grid = report.matrix
        table = Table("subnetwork \\ video", *(str(j) for j in grid.videos))
        for i, row in zip(grid.subnetworks, grid.psnr):
            table.add_row(str(i), *(f"{v:.2f}" for v in row))
        out.print(table)
        if report.heatmap is not None:
            out.print(f"heatmap: {escape(report.heatmap)}")
