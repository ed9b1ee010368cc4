"""Video commands: add-video, decode, info, eval."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from nrcodec.cli.app import app, emit_json, err, user_errors
from nrcodec.cli.render import human_bytes, progress_bar
from nrcodec.errors import InputError
from nrcodec.media.video import read_video, write_video
from nrcodec.plots import plot_matrix
from nrcodec.video.archive import Archive
from nrcodec.video.evaluate import evaluate
from nrcodec.video.library import LibraryConfig, resolve_device
from nrcodec.video.model import EMBEDDINGS, PRESETS, preset, with_embedding
from nrcodec.video.strategies import STRATEGIES
from nrcodec.video.training import EpochReport, TrainSettings

out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda or mps."


def _check_fixed(archive: Archive, option: str, given: object, stored: object) -> None:
    if given is not None and given != stored:
        raise InputError(
            f"{archive.path} was created with {option} {stored}; it cannot change to {given} "
            f"(leave {option} out, or add the video to a new archive)"
        )


@app.command("add-video")
def add_video(
    archive: Annotated[Path, typer.Argument(help="Archive (.nrc) to create or append to.")],
    source: Annotated[str, typer.Argument(metavar="INPUT", help="Any video PyAV reads, or - for y4m on stdin.")],
    preset_name: Annotated[
        str | None,
        typer.Option(
            "--preset", help=f"Canvas and model size for a new archive: {', '.join(PRESETS)} [default: small]."
        ),
    ] = None,
    capacity: Annotated[
        float | None, typer.Option(help="Fraction of each layer a session selects (new archive) [default: 0.3].")
    ] = None,
    epochs: Annotated[int | None, typer.Option(help="Training epochs [default: the preset's].", min=1)] = None,
    strategy: Annotated[
        str | None,
        typer.Option(
            help=f"Continual-learning strategy of a new archive: {', '.join(STRATEGIES)} [default: pnr]. "
            "Later sessions use the archive's.",
        ),
    ] = None,
    strategy_option: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy-option",
            help="KEY=VALUE setting of a new archive's strategy, repeatable (e.g. strength=1e4 for ewc, "
            "prune=0.05 for anpyc, drop=0.2 for spacenet).",
        ),
    ] = None,
    embedding: Annotated[
        str | None,
        typer.Option(help=f"Index embedding of a new archive: {', '.join(EMBEDDINGS)} [default: sinusoidal]."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Session name [default: the file's base name].")] = None,
    max_frames: Annotated[int | None, typer.Option(help="Use only the first N frames.", min=1)] = None,
    device: Annotated[str, typer.Option(help=DEVICE_HELP)] = "auto",
    seed: Annotated[int, typer.Option(help="Random seed (model init is fixed by the archive's seed).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Learn a video as the next session of ARCHIVE, creating the archive if it is missing.

    Earlier sessions are never changed: their bytes stay as they are and they decode exactly as before.
    """
    with user_errors():
        dev = resolve_device(device)
        if archive.exists():
            lib = Archive.open(archive, dev)
            _check_fixed(lib, "--preset", preset_name, lib.config.preset)
            _check_fixed(lib, "--capacity", capacity, lib.config.capacity)
            _check_fixed(lib, "--strategy", strategy, lib.config.strategy)
            if strategy_option:
                raise InputError(f"{archive} exists; --strategy-option applies to new archives only")
            _check_fixed(lib, "--embedding", embedding, lib.config.architecture.embedding)
        else:
            chosen = preset(preset_name or "small")
            lib = Archive.create(
                archive,
                LibraryConfig(
                    chosen.name,
                    with_embedding(chosen.architecture, embedding or "sinusoidal"),
                    capacity=0.3 if capacity is None else capacity,
                    strategy=strategy or "pnr",
                    strategy_options=_options(strategy_option or []),
                    seed=seed,
                ),
                dev,
            )
        clip = read_video(source, max_frames)
        for notice in clip.notices:
            err.print(f"note: {notice}")
        chosen = preset(lib.config.preset)
        settings = TrainSettings(epochs or chosen.epochs, chosen.batch_size, chosen.lr, seed=seed)
        session = len(lib.library.records) + 1
        label = name or clip.name
        h, w = clip.frames.shape[1:3]
        err.print(f"session {session} '{label}': {clip.frames.shape[0]} frames {w}x{h} @ {clip.fps:g} fps on {dev}")
        with progress_bar(f"session {session}", settings.epochs) as bar:

            def report(r: EpochReport) -> None:
                bar.update(bar.task_ids[0], completed=r.epoch, status=f"loss {r.loss:.4f} PSNR {r.psnr:.2f} dB")

            added = lib.add(clip.frames, label, clip.fps, settings, report, {"source": Path(source).name})
        result = added.result
        for notice in result.notices:
            err.print(f"note: {notice}")
        summary = {
            "session": result.session,
            "name": label,
            "frames": int(clip.frames.shape[0]),
            "width": int(w),
            "height": int(h),
            "psnr": result.psnr,
            "ms_ssim": result.ms_ssim,
            "bytes": added.bytes,
            "bpp": added.bytes * 8 / (w * h * clip.frames.shape[0]),
            "seconds": round(result.seconds, 2),
            "device": str(dev),
            "new_weights": result.record.meta["new_weights"],
            "reused_weights": result.record.meta["reused_weights"],
            "file_bytes": lib.file_bytes,
        }
        if as_json:
            emit_json(summary)
            return
        ssim = "n/a (frames too small)" if result.ms_ssim is None else f"{result.ms_ssim:.4f}"
        out.print(
            f"added session {result.session} '{label}' to {archive}: {summary['frames']} frames, "
            f"PSNR {result.psnr:.2f} dB, MS-SSIM {ssim}, +{human_bytes(added.bytes)} "
            f"({summary['bpp']:.3f} bpp), {result.seconds:.1f} s on {dev}"
        )


def _options(items: list[str]) -> dict[str, object]:
    """KEY=VALUE pairs; a value is read as JSON (numbers, true/false), else kept as text."""
    options: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"--strategy-option {item!r} is not of the form KEY=VALUE (e.g. strength=1e4)")
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
        raise InputError(f"--frames {text!r} is not a range like 0:16, 8: or :10")
    start = int(match[1]) if match[1] else 0
    stop = int(match[2]) if match[2] else None
    return start, stop


@app.command()
def decode(
    archive: Annotated[Path, typer.Argument(help="Archive (.nrc).")],
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
    frames: Annotated[str | None, typer.Option("--frames", help="Frame range A:B (end exclusive).")] = None,
    device: Annotated[str, typer.Option(help=DEVICE_HELP)] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Decode one session back to frames at the video's own size and frame rate."""
    with user_errors():
        if as_json and output == "-":
            raise InputError("--json and -o - both want stdout; write the frames to a file instead")
        lib = Archive.open(archive, resolve_device(device))
        start, stop = _frame_range(frames)
        decoded = lib.library.decode(session, start, stop)
        record = lib.library.records[session - 1]
        fps = float(record.meta.get("fps") or 25.0)
        written = write_video(decoded, fps, output)
        summary = {
            "session": session,
            "name": record.name,
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
            err.print(f"decoded session {session} '{record.name}' → {output}: {written}")


@app.command()
def info(
    archive: Annotated[Path, typer.Argument(help="Archive (.nrc).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Settings, sessions, bytes and capacity of an archive."""
    with user_errors():
        desc = Archive.open(archive, "cpu").describe()
        if as_json:
            emit_json(desc)
            return
        w, h = desc["canvas"]
        opts = ", ".join(f"{k}={v}" for k, v in desc["strategy_options"].items())
        strategy = f"{desc['strategy']} ({opts})" if opts else desc["strategy"]
        out.print(
            f"[bold]{archive}[/]: {human_bytes(desc['file_bytes'])}, format {desc['format_version']}, preset "
            f"{desc['preset']} ({w}x{h} canvas), strategy {strategy}, embedding {desc['embedding']}, "
            f"capacity {desc['capacity']}, forget-free: {'yes' if desc['forget_free'] else 'no'}, "
            f"header {desc['header_bytes']} B"
        )
        table = Table("session", "name", "frames", "size", "fps", "bytes", "bpp", "PSNR", "new", "reused")
        for s in desc["sessions"]:
            table.add_row(
                str(s["session"]),
                s["name"],
                str(s["frames"]),
                f"{s['width']}x{s['height']}",
                f"{s['fps']:g}",
                human_bytes(s["bytes"]),
                f"{s['bpp']:.3f}",
                f"{s['psnr']:.2f}",
                f"{s['new_weights']:,}",
                f"{s['reused_weights']:,}",
            )
        out.print(table)
        layers = Table("layer", "weights", "frozen", "used")
        for n, layer in desc["layers"].items():
            layers.add_row(n, f"{layer['weights']:,}", f"{layer['frozen']:,}", f"{layer['used']:.1%}")
        layers.add_row("total", f"{desc['weights']:,}", "", f"{desc['capacity_used']:.1%}")
        out.print(layers)
        if not desc["forget_free"]:
            out.print(
                f"{desc['strategy']} shares every weight between sessions: each session may rewrite them, and "
                "every session decodes with the latest weights (run eval to see the forgetting)"
            )
            return
        out.print(f"capacity left: {desc['capacity_left']:.1%} of the supernet's weights are free")
        if "reserved_neurons" in desc:
            reserved = ", ".join(f"{n} {v['reserved']}/{v['neurons']}" for n, v in desc["reserved_neurons"].items())
            out.print(
                f"neurons reserved: {reserved}; space left for new connections: {desc['space_left']:.1%} of units"
            )


def _parse_sources(items: list[str]) -> dict[int, str]:
    sources: dict[int, str] = {}
    for item in items:
        match = re.fullmatch(r"(\d+)=(.+)", item)
        if not match:
            raise InputError(f"--source {item!r} is not of the form N=PATH (e.g. 1=clip.mp4)")
        sources[int(match[1])] = match[2]
    return sources


@app.command("eval")
def eval_command(
    archive: Annotated[Path, typer.Argument(help="Archive (.nrc).")],
    source: Annotated[list[str], typer.Option("--source", help="N=PATH: the video session N was added from.")],
    matrix: Annotated[
        bool, typer.Option("--matrix", help="Also the transfer matrix: session i's subnetwork decoding video j.")
    ] = False,
    heatmap: Annotated[
        Path | None,
        typer.Option(help="PNG heatmap of the transfer matrix (needs the plots extra) [default: ARCHIVE.matrix.png]."),
    ] = None,
    device: Annotated[str, typer.Option(help=DEVICE_HELP)] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")] = False,
) -> None:
    """Quality of each session now vs at add time, the average and backward transfer (BWT)."""
    with user_errors():
        lib = Archive.open(archive, resolve_device(device))
        paths = _parse_sources(source)
        frames = {}
        for n, path in paths.items():
            count = lib.library.records[n - 1].frames if 1 <= n <= len(lib.library.records) else None
            frames[n] = read_video(path, count).frames
        report = evaluate(lib, frames, matrix or heatmap is not None)
        if "matrix" in report:
            png = heatmap or archive.with_suffix(".matrix.png")
            try:
                plot_matrix(report["matrix"], png, f"{archive.name}: transfer matrix (PSNR, dB)")
                report["heatmap"] = str(png)
            except InputError:
                if heatmap is not None:
                    raise
                err.print("note: install the plots extra (pip install 'nrcodec[plots]') for the PNG heatmap")
        if as_json:
            emit_json(report)
            return
        table = Table("session", "name", "PSNR at add", "PSNR now", "MS-SSIM at add", "MS-SSIM now")
        for r in report["sessions"]:
            table.add_row(
                str(r["session"]),
                r["name"],
                f"{r['psnr_at_add']:.2f}",
                f"{r['psnr_now']:.2f}",
                _fmt(r["ms_ssim_at_add"]),
                _fmt(r["ms_ssim_now"]),
            )
        out.print(table)
        out.print(
            f"average PSNR {report['avg_psnr']:.2f} dB, BWT {report['bwt_psnr']:+.2f} dB; "
            f"average MS-SSIM {_fmt(report['avg_ms_ssim'])}, BWT {_fmt(report['bwt_ms_ssim'])}"
        )
        if "matrix" in report:
            grid = report["matrix"]
            table = Table("subnetwork \\ video", *(str(j) for j in grid["videos"]))
            for i, row in zip(grid["subnetworks"], grid["psnr"]):
                table.add_row(str(i), *(f"{v:.2f}" for v in row))
            out.print(table)
            if "heatmap" in report:
                out.print(f"heatmap: {report['heatmap']}")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
