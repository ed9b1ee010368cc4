"""Rate-distortion curves: BD-rate (Bjøntegaard, via the ``bjontegaard`` package), Markdown and a PNG plot.

BD-rate is the average bitrate difference of a test codec against an anchor at equal PSNR, over the
PSNR range both curves cover; negative means the test codec needs fewer bits. It is only defined where
the curves overlap, so a pair that does not overlap gets None with the reason, never a made-up number.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nrcodec.errors import InputError
from nrcodec.plots import pyplot, save

if TYPE_CHECKING:
    from nrcodec.bench.anchors import RDPoint

BD_METHOD = "akima"
"""Piecewise-cubic Akima interpolation, the package's recommended replacement for the original cubic fit."""


def pareto(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """(bpp, psnr) points sorted by rate, keeping only those better than every cheaper point.

    BD-rate needs PSNR to rise with rate; a dominated point (more bits, no better) is not a choice
    anyone would make, so it is left out rather than bending the interpolation.
    """
    front: list[tuple[float, float]] = []
    for rate, dist in sorted(points):
        if rate > 0 and math.isfinite(dist) and (not front or dist > front[-1][1]):
            front.append((rate, dist))
    return front


def bd_rate(anchor: Sequence[tuple[float, float]], test: Sequence[tuple[float, float]]) -> tuple[float | None, str]:
    """BD-rate in percent of ``test`` against ``anchor``, both lists of (bpp, psnr), and a note.

    Returns (None, reason) when it is undefined: fewer than two useful points or no PSNR overlap.
    """
    try:
        import bjontegaard
    except ImportError:
        raise InputError("BD-rate needs the bjontegaard package: pip install 'nrcodec[bench]'") from None
    a, t = pareto(anchor), pareto(test)
    if len(a) < 2 or len(t) < 2:
        return None, "fewer than two rate-increasing points"
    low = max(a[0][1], t[0][1])
    high = min(a[-1][1], t[-1][1])
    if high <= low:
        return None, f"no PSNR overlap (anchor {a[0][1]:.1f}-{a[-1][1]:.1f} dB, test {t[0][1]:.1f}-{t[-1][1]:.1f} dB)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = bjontegaard.bd_rate(
            [r for r, _ in a],
            [d for _, d in a],
            [r for r, _ in t],
            [d for _, d in t],
            method=BD_METHOD,
            require_matching_points=False,
            min_overlap=0,
        )
    return float(value), f"over {low:.2f}-{high:.2f} dB"


def mean_defined(values: Sequence[float | None]) -> float | None:
    """Mean of the defined values, or None when none is."""
    defined = [v for v in values if v is not None]
    return float(np.mean(defined)) if defined else None


def fmt(value: float | None, spec: str = ".1f", suffix: str = "") -> str:
    """A number for a Markdown cell; n/a where undefined."""
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plot_rd(
    curves: dict[str, dict[str, list[tuple[float, float]]]],
    path: Path,
    title: str,
    axes_labels: tuple[str, str] = ("bits per pixel", "RGB PSNR (dB)"),
) -> None:
    """One panel per item (clip or image): PSNR against bpp for every codec, written as a PNG.

    ``curves`` maps item -> codec -> [(bpp, psnr)]; a codec keeps its colour in every panel, and
    every panel has its legend. matplotlib comes from the ``plots`` extra.
    """
    plt = pyplot()
    items = list(curves)
    codecs = list(dict.fromkeys(codec for item in items for codec in curves[item]))
    colours = {codec: f"C{i % 10}" for i, codec in enumerate(codecs)}
    fig, axes = plt.subplots(1, len(items), figsize=(5 * len(items), 4), squeeze=False)
    for ax, item in zip(axes[0], items):
        for codec, points in curves[item].items():
            ordered = sorted(points)
            style = "o-" if codec.startswith(("nrcodec", "STL")) else ".--"
            xs, ys = [r for r, _ in ordered], [d for _, d in ordered]
            ax.plot(xs, ys, style, color=colours[codec], label=codec, markersize=4)
        ax.set_xscale("log")
        ax.set_xlabel(axes_labels[0])
        ax.set_ylabel(axes_labels[1])
        ax.set_title(item)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save(fig, path)


def psnr_at_bpp(points: list[tuple[float, float]], bpp: float) -> float | None:
    """An anchor's PSNR at ``bpp``, interpolated linearly in log-rate on its Pareto front; None outside it."""
    front = pareto(points)
    if len(front) < 2 or not front[0][0] <= bpp <= front[-1][0]:
        return None
    return float(np.interp(math.log(bpp), [math.log(r) for r, _ in front], [d for _, d in front]))


def _curve(points: list[RDPoint], name: str, item: str) -> list[tuple[float, float]]:
    """Points of curve ``name`` on ``item``: codec ``name`` itself or its operating points ``name ...``."""
    return [(p.bpp, p.psnr) for p in points if p.item == item and (p.codec == name or p.codec.startswith(name + " "))]


def bd_rates(points: list[RDPoint], tests: list[str], anchors: list[str], items: list[str]) -> list[dict[str, Any]]:
    """BD-rate of each test curve against each anchor, per item and averaged over items where defined."""
    rows = []
    for test in tests:
        for anchor in anchors:
            per_item = {}
            for item in items:
                value, note = bd_rate(_curve(points, anchor, item), _curve(points, test, item))
                per_item[item] = {"bd_rate": value, "note": note}
            rows.append(
                {
                    "test": test,
                    "anchor": anchor,
                    "items": per_item,
                    "mean": mean_defined([v["bd_rate"] for v in per_item.values()]),
                }
            )
    return rows
