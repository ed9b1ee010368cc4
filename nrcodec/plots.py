"""PNG figures (matplotlib, from the ``plots`` extra): loaded on demand, drawn off-screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nrcodec.errors import InputError


def pyplot() -> Any:
    """matplotlib.pyplot with the Agg backend, or a clear error naming the extra to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError("plots need matplotlib: pip install 'nrcodec[plots]'") from None
    return plt


def save(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    pyplot().close(fig)


def plot_matrix(grid: dict[str, Any], path: Path, title: str) -> None:
    """Heatmap of a transfer matrix: rows are subnetworks, columns videos, cells PSNR in dB."""
    plt = pyplot()
    values = grid["psnr"]
    fig, ax = plt.subplots(figsize=(1.2 * len(grid["videos"]) + 2.5, 1.0 * len(values) + 1.5))
    image = ax.imshow(values, cmap="viridis")
    ax.set_xticks(range(len(grid["videos"])), [f"{j}" for j in grid["videos"]])
    ax.set_yticks(range(len(grid["subnetworks"])), [f"{i}" for i in grid["subnetworks"]])
    ax.set_xlabel("video (session)")
    ax.set_ylabel("subnetwork of session")
    low, high = min(min(row) for row in values), max(max(row) for row in values)
    middle = (low + high) / 2
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            color = "black" if value > middle else "white"
            ax.text(c, r, f"{value:.1f}", ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(image, ax=ax, label="PSNR (dB)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    save(fig, path)
