"""Benchmark commands: they measure and write JSON and Markdown, with the device and versions."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import torch
import typer
from rich.table import Table

from nrcodec.bench.anchors import anchor_versions
from nrcodec.bench.speed import (
    SAMPLE_CLIP,
    archive_vs_bound,
    decode_fps,
    entropy_throughput,
    image_at_bench_size,
    image_speed,
    session_speed,
    session_targets,
    step_ratio,
)
from nrcodec.bench.strategies import CAPACITIES, STRATEGY_ROWS, markdown, orderings, run_strategies
from nrcodec.cli.app import DeviceOption, JsonFlag, ThreadsOption, app, compute_on, emit_json, err, out, user_errors
from nrcodec.cli.paths import check_output
from nrcodec.cli.render import device_name, versions
from nrcodec.errors import UsageError
from nrcodec.image import DEFAULT_CODEC, Codec
from nrcodec.image.refine import steps_for
from nrcodec.media.video import read_video
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.model import preset
from nrcodec.video.supernet.strategies import STRATEGIES

bench = typer.Typer(help="Measure speed and rate-distortion; results go to JSON and Markdown.", no_args_is_help=True)
app.add_typer(bench, name="bench")
OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Also write the results as JSON to this file.", show_default="not written"),
]
MarkdownOption = Annotated[
    Path | None,
    typer.Option("--markdown", help="Also write README-ready Markdown here.", show_default="not written"),
]


@dataclass(frozen=True)
class BenchOutputs:
    """Where a bench run's results go: JSON on stdout (``--json``), a JSON file, a Markdown file."""

    as_json: bool
    json_path: Path | None
    markdown_path: Path | None

    def check(self, inputs: list[Path], plot: Path | None = None) -> None:
        """Before measuring: every file asked for (and the plot, if any) can be written and none is an input."""
        for path in (self.json_path, self.markdown_path, plot):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                check_output(path, inputs)

    def write(self, result: dict[str, Any], markdown: str, show: Callable[[], None] | None = None) -> None:
        """Write the files; then JSON on stdout, or the terminal view (``show``, else the Markdown)."""
        if self.json_path is not None:
            self.json_path.write_text(json.dumps(result, indent=2) + "\n")
        if self.markdown_path is not None:
            self.markdown_path.write_text(markdown)
        if self.as_json:
            emit_json(result)
        elif show is not None:
            show()
        else:
            out.print(markdown)


PlotOut = Annotated[
    Path | None,
    typer.Option("--plot", help="Write a PNG RD plot here (needs the plots extra).", show_default="not drawn"),
]


def rd_versions() -> dict[str, str]:
    """Versions a rate-distortion bench reports: nrcodec's, the anchors' encoders', bjontegaard's."""
    import bjontegaard

    return {**versions(), **anchor_versions(), "bjontegaard": bjontegaard.__version__}


ImageEffortsOption = Annotated[
    str,
    typer.Option(
        "--image-efforts",
        help="Encoder efforts to time the image codec at, comma-separated (e.g. 0,1,2; a refining effort "
        "takes minutes on a CPU).",
    ),
]


@bench.command("speed")
def speed(
    presets: Annotated[str, typer.Option("--presets", help="Comma-separated presets to measure.")] = "tiny,small",
    clip: Annotated[
        Path,
        typer.Option(
            help="Clip whose first 8 frames make the archive-overhead session.",
            show_default="the bunny clip shipped with nrcodec",
        ),
    ] = SAMPLE_CLIP,
    image_efforts: ImageEffortsOption = "0",
    device: DeviceOption = "auto",
    threads: ThreadsOption = None,
    as_json: JsonFlag = False,
    json_out: OutOption = None,
    markdown_out: MarkdownOption = None,
) -> None:
    """Training and decode frames per second of a default grow session (CPU, and CUDA when present), the
    PNR supernet's masked vs dense step, and decode frames per second."""
    with user_errors():
        outputs = BenchOutputs(as_json, json_out, markdown_out)
        outputs.check([clip])
        efforts = _efforts(image_efforts)
        dev = compute_on(device, threads)
        rows = []
        for name in [p.strip() for p in presets.split(",") if p.strip()]:
            err.print(f"measuring {name} on {dev} ...")
            row = step_ratio(name, dev)
            row["decode_fps"] = decode_fps(name, dev)
            rows.append(row)
        sample = read_video(clip, 8).frames
        err.print("measuring a default grow session on " + ", ".join(f"{d} {p}" for d, p in session_targets()) + " ...")
        sessions = [session_speed(sample, d, p) for d, p in session_targets()]
        err.print("measuring entropy coding, archive overhead and the image codec ...")
        picture = image_at_bench_size(read_video(clip, 1).frames[0])
        result = {
            "device": str(dev),
            "device_name": device_name(dev),
            "versions": versions(),
            "sessions": sessions,
            "presets": rows,
            "entropy_coding": entropy_throughput(),
            "archive_vs_bound": archive_vs_bound("tiny", sample),
            "image_codec": image_speed(Codec.load(DEFAULT_CODEC), picture, efforts=efforts),
        }
        coding_text = _coding_text(result)

        def show() -> None:
            out.print(
                f"device: {result['device_name']} ({dev}); " + ", ".join(f"{k} {v}" for k, v in versions().items())
            )
            out.print(_speed_table(rows))
            out.print(_sessions_markdown(sessions))
            out.print(coding_text)

        outputs.write(result, _speed_markdown(result, coding_text), show)


def _efforts(text: str) -> tuple[int, ...]:
    """The encoder efforts of ``--image-efforts``, each checked as encode-image checks ``--effort``."""
    try:
        efforts = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--image-efforts must be integers separated by commas, not {text!r}") from None
    for effort in efforts:
        steps_for(effort)
    return efforts


def _coding_text(result: dict[str, Any]) -> str:
    """Entropy-coding speed, how close a real session chunk comes to its ideal code length and the
    image codec's speed, in words."""
    coding, archive, image = result["entropy_coding"], result["archive_vs_bound"], result["image_codec"]
    return (
        f"ANS coding of int8 weights: {coding['encode_symbols_per_s'] / 1e6:.1f} M symbols/s encode, "
        f"{coding['decode_symbols_per_s'] / 1e6:.1f} M symbols/s decode, {coding['coded_vs_bound']:.4f}× the "
        f"entropy bound.\nA tiny session chunk: {archive['chunk_bytes']:,} bytes = {archive['ratio']:.4f}× the "
        "ideal code length of its masks and weights under their stored models.\n"
        f"Image codec ({image['architecture']}, quality {image['quality']}) on a "
        f"{image['size'][0]}x{image['size'][1]} picture, {image['threads']} threads: encode {image['encode_s']:.3f} s, "
        f"decode {image['decode_s']:.3f} s ({image['bpp']:.3f} bpp)."
        + "".join(
            f"\nEffort {r['effort']} ({r['steps']} refinement steps): encode {r['encode_s']:.1f} s, decode "
            f"{r['decode_s']:.3f} s, {r['bpp']:.3f} bpp at {r['psnr']:.2f} dB (effort 0: {image['psnr']:.2f} dB)."
            for r in image["refined"]
        )
    )


def _speed_markdown(result: dict[str, Any], coding_text: str) -> str:
    """The speed figures as a README-ready Markdown table, headed by the device and versions."""
    header = "| preset | batch | masked step (ms) | dense step (ms) | ratio | decode fps |\n|---|---|---|---|---|---|\n"
    lines = "".join(
        f"| {r['preset']} | {r['batch']} | {r['masked_step_s'] * 1e3:.1f} | {r['dense_step_s'] * 1e3:.1f} "
        f"| {r['ratio']:.3f} | {r['decode_fps']:.1f} |\n"
        for r in result["presets"]
    )
    return (
        f"Device: {result['device_name']} ({result['device']}); {json.dumps(result['versions'])}\n\n"
        + _sessions_markdown(result["sessions"])
        + "\n"
        + header
        + lines
        + "\n"
        + coding_text
        + "\n"
    )


def _sessions_markdown(rows: list[dict[str, Any]]) -> str:
    """A default grow session's training and decode speed per device and precision."""
    head = "| grow session | precision | weights | training frames/s | decode fps |\n|---|---|---|---|---|\n"
    return head + "".join(
        f"| {r['device']}, {r['size'][0]}x{r['size'][1]} | {r['precision']} | {r['weights']:,} | "
        f"{r['train_fps']:.1f} | {r['decode_fps']:.1f} |\n"
        for r in rows
    )


def _speed_table(rows: list[dict[str, Any]]) -> Table:
    """The per-preset speed figures for the terminal."""
    table = Table("preset", "batch", "masked step", "dense step", "ratio", "decode fps")
    for r in rows:
        table.add_row(
            r["preset"],
            str(r["batch"]),
            f"{r['masked_step_s'] * 1e3:.1f} ms",
            f"{r['dense_step_s'] * 1e3:.1f} ms",
            f"{r['ratio']:.3f}",
            f"{r['decode_fps']:.1f}",
        )
    return table


@bench.command("strategies")
def strategies(
    clips: Annotated[list[Path], typer.Argument(help="Clips to learn in order, one session each.")],
    preset_name: Annotated[str, typer.Option("--preset", help="Preset of every library.")] = "tiny",
    names: Annotated[str, typer.Option("--strategies", help="Comma-separated strategies.")] = ",".join(STRATEGY_ROWS),
    capacity: Annotated[float, typer.Option(help="Capacity c of every library but the pnr sweep.")] = 0.3,
    capacities: Annotated[str, typer.Option(help="Capacities of the pnr sweep (comma-separated).")] = ",".join(
        f"{c:g}" for c in CAPACITIES
    ),
    baselines: Annotated[bool, typer.Option(help="Run the stl and mtl baselines.")] = True,
    krnet: Annotated[bool, typer.Option(help="Also run pnr with KRNet's ID embedding.")] = True,
    epochs: Annotated[int | None, typer.Option(help="Epochs per session.", min=1, show_default="the preset's")] = None,
    max_frames: Annotated[int, typer.Option(help="Frames per clip.", min=1)] = 32,
    threads: ThreadsOption = None,
    as_json: JsonFlag = False,
    json_out: OutOption = None,
    markdown_out: MarkdownOption = None,
) -> None:
    """The PNR paper's comparison: every strategy on the same clip sequence, plus stl and mtl (CPU)."""
    with user_errors():
        outputs = BenchOutputs(as_json, json_out, markdown_out)
        outputs.check(clips)
        compute_on("cpu", threads)
        chosen = preset(preset_name)
        chosen_names = tuple(n.strip() for n in names.split(",") if n.strip())
        for name in chosen_names:
            if name not in STRATEGIES:
                raise UsageError(
                    f"bench strategies compares the strategies of one supernet ({', '.join(sorted(STRATEGIES))}); "
                    f"{name} is not one of them (grow: see bench rd)"
                )
        sweep = _parse_capacities(capacities)
        loaded = load_clips(clips, max_frames)
        settings = SessionSettings(epochs=epochs or chosen.epochs, batch_size=chosen.batch_size, lr=chosen.lr)
        start = time.perf_counter()
        runs = run_strategies(
            loaded, chosen, settings, capacity, chosen_names, sweep, baselines, krnet, lambda m: err.print(m)
        )
        checks = orderings(runs, capacity)
        result = {
            "device": "cpu",
            "device_name": device_name(torch.device("cpu")),
            "versions": versions(),
            "preset": chosen.name,
            "epochs": settings.epochs,
            "frames": max_frames,
            "capacity": capacity,
            "runs": runs,
            "orderings": checks,
            "seconds": round(time.perf_counter() - start, 1),
        }
        text = (
            f"Preset {chosen.name}, {settings.epochs} epochs, {max_frames} frames per clip, capacity {capacity} "
            f"(pnr also {capacities}); {result['device_name']}; "
            f"{json.dumps(result['versions'])}; {result['seconds'] / 60:.1f} min in all\n\n"
            + markdown(runs, checks, [c[0] for c in loaded])
        )
        outputs.write(result, text)


def _parse_capacities(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(c) for c in text.split(",") if c.strip())
    except ValueError:
        raise UsageError(f"--capacities {text!r} is not a comma-separated list of numbers") from None


def load_clips(paths: list[Path], max_frames: int, distinct: bool = False) -> list[tuple[str, np.ndarray, float]]:
    """(name, frames, fps) of the first ``max_frames`` frames of every clip, in order; ``distinct``:
    a UsageError if two clips share a base name (results are keyed by it)."""
    loaded = []
    for path in paths:
        clip = read_video(path, max_frames)
        loaded.append((clip.name, clip.frames, clip.fps))
    if distinct and len({name for name, _, _ in loaded}) != len(loaded):
        raise UsageError("clips need distinct base names; rename one")
    return loaded
