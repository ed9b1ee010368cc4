"""A candidate codec file on the held-out photos, before it is shipped: real bitstreams at every
quality level of its newest version, BD-rate of the mean curve against the points of
docs/bench-image.json (the shipped codec's versions and the JPEG / WebP / JPEG 2000 / AVIF anchors,
measured on the same photos).

Usage: python release/eval_candidate.py CANDIDATE.nic ROWS.json [HELDOUT_DIR]
(HELDOUT_DIR defaults to /work/corpus/heldout, the held-out split of data/prepare_image_corpus.py;
ROWS.json gets one row per photo and quality.) A candidate that passes is appended to the shipped
codec file with release/append_version.py.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nrcodec.bench.curves import bd_rate
from nrcodec.bench.image import mean_curves
from nrcodec.image.codec import Codec, encode_image
from nrcodec.media.images import read_image
from nrcodec.metrics import psnr

BENCH = Path(__file__).resolve().parent.parent / "docs" / "bench-image.json"
QUALITIES = range(1, 7)
ANCHORS = ("nrcodec v0", "JPEG", "WebP", "JPEG 2000", "AVIF")


def measure(codec: Codec, heldout: Path) -> list[dict]:
    """One row (photo, quality, bpp, RGB PSNR) per held-out photo and quality level."""
    rows = []
    for path in sorted(heldout.glob("*.png")):
        rgb = read_image(path)
        for q in QUALITIES:
            e = encode_image(codec, rgb, quality=q)
            rows.append(dict(item=path.stem, q=q, bpp=e.bpp, psnr=psnr(rgb[None], e.reconstruction[None])))
    return rows


def mean_curve(rows: list[dict]) -> list[tuple[float, float]]:
    """(mean bpp, mean PSNR) per quality level."""
    return [
        (
            float(np.mean([r["bpp"] for r in rows if r["q"] == q])),
            float(np.mean([r["psnr"] for r in rows if r["q"] == q])),
        )
        for q in QUALITIES
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("codec", type=Path, help="the candidate codec file")
    parser.add_argument("rows", type=Path, help="JSON file for the per-photo rows")
    parser.add_argument("heldout", type=Path, nargs="?", default=Path("/work/corpus/heldout"))
    args = parser.parse_args()
    torch.set_num_threads(2)
    codec = Codec.load(args.codec)
    start = time.time()
    rows = measure(codec, args.heldout)
    args.rows.write_text(json.dumps(rows))
    test = mean_curve(rows)
    print("candidate:", [(round(b, 3), round(p, 2)) for b, p in test], f"{time.time() - start:.0f} s")
    anchors = mean_curves(json.loads(BENCH.read_text())["points"], "psnr")
    for name in ANCHORS:
        value, note = bd_rate(anchors[name], test)
        print(f"BD-rate of the candidate vs {name}: {value:+.1f}% {note}")


if __name__ == "__main__":
    main()
