"""Shared rendering helpers for the commands: progress bars and number formatting."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from nrcodec import __version__
from nrcodec.cli.app import err
from nrcodec.runtime import Progress as StepProgress
from nrcodec.runtime import StepReport, duration

PLAIN_EVERY_S = 60.0
"""Off a terminal (a log file, a pipe) the bar is silent and a plain progress line goes to stderr at
most this often, so a long run under nohup or CI still says how far it is."""


@contextmanager
def progress_bar(description: str, total: int) -> Iterator[Progress]:
    """A stderr progress bar with ETA and a free-form status field (loss, PSNR); silent when stderr is
    not a terminal, so that logs and pipes get the result lines only."""
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
        disable=not err.is_terminal,
    )
    with bar:
        bar.add_task(description, total=total, status="")
        yield bar


@contextmanager
def step_bar(description: str, total: int) -> Iterator[StepProgress]:
    """A progress bar fed by a training loop's ``StepReport``s (loss, PSNR and bpp when known); off a
    terminal, a plain line every ``PLAIN_EVERY_S`` seconds instead, its times the loop's own (a
    probe before the loop, as ``--parent auto`` runs, is not counted in them)."""
    with progress_bar(description, total) as bar:
        last = time.monotonic()

        def report(r: StepReport) -> None:
            nonlocal last
            status = f"loss {r.loss:.4f} PSNR {r.psnr:.2f} dB" + ("" if r.bpp is None else f" {r.bpp:.3f} bpp")
            bar.update(bar.task_ids[0], completed=r.done, status=status)
            now = time.monotonic()
            if not err.is_terminal and r.done and now - last >= PLAIN_EVERY_S:
                last = now
                spent = r.elapsed / 60
                left = spent * (total - r.done) / r.done
                line = f"{description}: {r.done}/{total}, {status}, {duration(spent)} in, about {duration(left)} left"
                err.print(line, markup=False, highlight=False)

        yield report


def device_name(device: torch.device) -> str:
    """The accelerator's name, or the CPU and its thread count, for benchmark reports."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} ({torch.get_num_threads()} threads)"


def versions() -> dict[str, str]:
    """Versions that change results, printed with every measurement."""
    return {"nrcodec": __version__, "torch": torch.__version__, "python": platform.python_version()}


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def fmt_optional(value: float | None, digits: int = 4) -> str:
    """A figure that may be missing (MS-SSIM of frames too small for it) as text."""
    return "n/a" if value is None else f"{value:.{digits}f}"
