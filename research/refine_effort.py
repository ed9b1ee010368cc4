"""What encoder-side refinement (``encode-image --effort``) buys on held-out photos (issue 30, notes/image.md).

    OMP_NUM_THREADS=1 python research/refine_effort.py HELDOUT_DIR OUT.json [--size 256] [--qualities 2,4,6]
        [--images lxqt-beam,lxqt-butterfly,lxqt-fog,lomiri-picosdeeuropa,lomiri-bridge]

HELDOUT_DIR holds the held-out photos of data/prepare_image_corpus.py (OUT_DIR/heldout). Each image is
cut to its centre ``--size`` square (a full photo costs about 1.5 s a refinement step on one thread),
coded by the shipped codec's newest version at each quality and effort, decoded with the unchanged
decoder (checked to give the encoder's reconstruction), and measured with real bytes: bpp, RGB PSNR,
the real cost bpp + λ·MSE at the level's λ, encode and decode seconds. Printed: the mean table per
effort and quality, and the BD-rate of each effort against effort 0 on the mean curves and per image.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from nrcodec.bench.curves import bd_rate, mean_defined
from nrcodec.image import DEFAULT_CODEC, Codec, decode_image, encode_image
from nrcodec.image.codec import level_lambda
from nrcodec.image.evaluate import psnr
from nrcodec.image.refine import EFFORT_STEPS
from nrcodec.media.images import read_image

IMAGES = "lxqt-beam,lxqt-butterfly,lxqt-fog,lomiri-picosdeeuropa,lomiri-bridge"


def centre(rgb: np.ndarray, size: int) -> np.ndarray:
    top, left = (rgb.shape[0] - size) // 2, (rgb.shape[1] - size) // 2
    return np.ascontiguousarray(rgb[top : top + size, left : left + size])


def point(codec: Codec, rgb: np.ndarray, quality: int, effort: int) -> dict[str, Any]:
    """One coded image, measured as a user gets it (real bytes, the decoder's pixels)."""
    start = time.perf_counter()
    encoded = encode_image(codec, rgb, quality=quality, effort=effort)
    encode_s = time.perf_counter() - start
    start = time.perf_counter()
    decoded, _ = decode_image(codec, encoded.data)
    decode_s = time.perf_counter() - start
    assert np.array_equal(decoded, encoded.reconstruction)
    mse = float(np.mean((decoded.astype(np.float64) - rgb) ** 2))
    lmbda = level_lambda(codec, codec.newest, quality - 1)
    return {
        "quality": quality,
        "effort": effort,
        "bytes": len(encoded.data),
        "bpp": encoded.bpp,
        "psnr": psnr(rgb, decoded),
        "cost": encoded.bpp + lmbda * mse,
        "encode_s": encode_s,
        "decode_s": decode_s,
    }


def summary(rows: list[dict[str, Any]]) -> None:
    """The mean table and the BD-rates of each effort against effort 0."""
    names = sorted({r["image"] for r in rows})
    qualities = sorted({r["quality"] for r in rows})
    pick = {(r["image"], r["quality"], r["effort"]): r for r in rows}
    for effort in range(len(EFFORT_STEPS)):
        for q in qualities:
            these = [pick[n, q, effort] for n in names]
            gain = np.mean([p["cost"] / pick[p["image"], q, 0]["cost"] - 1 for p in these])
            figures = {k: np.mean([p[k] for p in these]) for k in ("bpp", "psnr", "encode_s", "decode_s")}
            print(effort, q, {k: round(float(v), 4) for k, v in figures.items()}, f"cost {100 * gain:+.1f}%")

    def curve(effort: int, images: list[str]) -> list[tuple[float, float]]:
        return [
            tuple(float(np.mean([pick[n, q, effort][k] for n in images])) for k in ("bpp", "psnr"))  # type: ignore[misc]
            for q in qualities
        ]

    for effort in range(1, len(EFFORT_STEPS)):
        mean_curve = bd_rate(curve(0, names), curve(effort, names))
        per_image = [bd_rate(curve(0, [n]), curve(effort, [n]))[0] for n in names]
        print(f"effort {effort}: BD-rate {mean_curve[0]:+.2f}% ({mean_curve[1]}), per image", per_image)
        print(f"  mean of per-image BD-rates {mean_defined(per_image):+.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("heldout", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--qualities", default="2,4,6")
    parser.add_argument("--images", default=IMAGES)
    args = parser.parse_args()
    codec = Codec.load(DEFAULT_CODEC)
    rows = []
    for name in args.images.split(","):
        rgb = centre(read_image(args.heldout / f"{name}.png"), args.size)
        for quality in (int(q) for q in args.qualities.split(",")):
            for effort in range(len(EFFORT_STEPS)):
                rows.append({"image": name, **point(codec, rgb, quality, effort)})
                print(json.dumps(rows[-1]), flush=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    summary(rows)


if __name__ == "__main__":
    main()
