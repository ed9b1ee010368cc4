"""Learn a sequence of clips into one library with a given strategy and measure what the PNR paper
reports: per-session PSNR / MS-SSIM at add time and after the last session, average, BWT, bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from nrcodec.bench.video import mask_bytes
from nrcodec.metrics import average_and_bwt, ms_ssim_video, psnr
from nrcodec.video.records import bits_per_pixel
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.library import SupernetLibrary


def run_sequence(
    clips: list[tuple[str, np.ndarray, float]],
    config: SupernetConfig,
    settings: SessionSettings,
    on_session: Callable[[int, str], None] | None = None,
) -> dict[str, Any]:
    """Add ``clips`` (name, frames, fps) in order, then re-measure every session at the end."""
    library = SupernetLibrary(config)
    rows: list[dict[str, Any]] = []
    total_bytes = 0
    for name, frames, fps in clips:
        if on_session is not None:
            on_session(len(rows) + 1, name)
        result = library.add_session(frames, name, fps, settings)
        chunk = len(result.chunk)
        total_bytes += chunk
        rows.append(
            {
                "session": result.info.session,
                "name": name,
                "psnr_at_add": result.info.psnr,
                "ms_ssim_at_add": result.info.ms_ssim,
                "bytes": chunk,
                "bpp": bits_per_pixel(chunk, result.info.width, result.info.height, result.info.frames),
                "seconds": round(result.seconds, 2),
                "new_weights": result.info.new_weights,
                "reused_weights": result.info.reused_weights,
            }
        )
    for row, (_, frames, _) in zip(rows, clips):
        decoded = library.decode(row["session"])
        row["psnr_now"] = round(psnr(frames, decoded), 4)
        quality = ms_ssim_video(frames, decoded)
        row["ms_ssim_now"] = None if quality is None else round(quality, 6)
    avg, bwt = average_and_bwt([r["psnr_at_add"] for r in rows], [r["psnr_now"] for r in rows])
    return {
        "strategy": config.strategy,
        "capacity": config.capacity,
        "sessions": rows,
        "avg_psnr": round(avg, 4),
        "bwt_psnr": round(bwt, 4),
        "bytes": total_bytes,
        "mask_bytes": round(sum(mask_bytes(library.records))),
        "seconds": round(sum(r["seconds"] for r in rows), 2),
    }
