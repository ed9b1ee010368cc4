"""Quality of every session now against its source, next to its quality at add time (PNR's tables)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nrcodec.errors import InputError
from nrcodec.metrics import average_and_bwt, ms_ssim_video, psnr
from nrcodec.video.archive import Archive


def evaluate(archive: Archive, sources: dict[int, np.ndarray], matrix: bool = False) -> dict[str, Any]:
    """Decode each session given a source and compare; returns the ``eval --json`` object.

    ``matrix`` adds the transfer matrix of the PNR paper: cell (i, j) is the PSNR of video j as
    session i's subnetwork (mask, head, biases) produces it from video j's frame IDs. The diagonal is
    the normal decode; the lower triangle shows forgetting, the upper one how alike the videos are.
    """
    records = archive.library.records
    rows = []
    trimmed: dict[int, np.ndarray] = {}
    for session in sorted(sources):
        if not 1 <= session <= len(records):
            raise InputError(f"--source names session {session}, but the archive has {len(records)} sessions")
        record = records[session - 1]
        source = sources[session]
        w, h = record.meta["placement"]["source"]
        if source.shape[1:3] != (h, w):
            raise InputError(
                f"source for session {session} is {source.shape[2]}x{source.shape[1]}, "
                f"but session {session} was {w}x{h}; give the file it was added from"
            )
        if source.shape[0] < record.frames:
            raise InputError(
                f"source for session {session} has {source.shape[0]} frames, the session has {record.frames}"
            )
        trimmed[session] = source = source[: record.frames]
        decoded = archive.library.decode(session)
        rows.append(
            {
                "session": session,
                "name": record.name,
                "psnr_at_add": record.meta.get("psnr"),
                "psnr_now": round(psnr(source, decoded), 4),
                "ms_ssim_at_add": record.meta.get("ms_ssim"),
                "ms_ssim_now": _round(ms_ssim_video(source, decoded)),
            }
        )
    avg_psnr, bwt_psnr = average_and_bwt([r["psnr_at_add"] for r in rows], [r["psnr_now"] for r in rows])
    with_ssim = [r for r in rows if r["ms_ssim_now"] is not None and r["ms_ssim_at_add"] is not None]
    avg_ssim, bwt_ssim = average_and_bwt(
        [r["ms_ssim_at_add"] for r in with_ssim], [r["ms_ssim_now"] for r in with_ssim]
    )
    report: dict[str, Any] = {
        "sessions": rows,
        "avg_psnr": round(avg_psnr, 4),
        "bwt_psnr": round(bwt_psnr, 4),
        "avg_ms_ssim": round(avg_ssim, 6) if with_ssim else None,
        "bwt_ms_ssim": round(bwt_ssim, 6) if with_ssim else None,
    }
    if matrix:
        videos = sorted(trimmed)
        subnetworks = list(range(1, len(records) + 1))
        grid = [
            [round(psnr(trimmed[j], archive.library.decode(j, subnetwork=i)), 4) for j in videos] for i in subnetworks
        ]
        report["matrix"] = {"subnetworks": subnetworks, "videos": videos, "psnr": grid}
    return report


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
