"""Whole-frame vs patch training of one grow session at an equal time budget (notes/scale.md).

    OMP_NUM_THREADS=1 python research/patch_probe.py whole /tmp/skv/bikes.mp4 --minutes 3 --frames 24 --quality 3
    OMP_NUM_THREADS=1 python research/patch_probe.py patch /tmp/skv/bikes.mp4 --minutes 3 --frames 24 --quality 3

Trains the clip's first frames as session 1 of an in-memory grow library (``GrowLibrary.add_session``)
and prints one JSON line: PSNR of the stored session, its chunk's bytes, epochs run. ``whole`` turns
patches off (``patches.PATCH_FROM``); ``patch`` is the default for frames of four patches or more.
"""

from __future__ import annotations

import argparse
import json

import torch

import nrcodec
from nrcodec.video import patches
from nrcodec.video.grow.library import GrowLibrary
from nrcodec.video.grow.settings import GrowSettings
from nrcodec.video.records import LibraryConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("whole", "patch"))
    parser.add_argument("clip")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--quality", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.mode == "whole":
        patches.PATCH_FROM = 10**9
    frames = nrcodec.read_video(args.clip, max_frames=args.frames).frames
    result = GrowLibrary(LibraryConfig()).add_session(
        frames, "probe", 25.0, GrowSettings(minutes=args.minutes, quality=args.quality)
    )
    row = {"mode": args.mode, "psnr": result.info.psnr, "bytes": len(result.chunk)}
    print(json.dumps({**row, "epochs": result.info.training.get("epochs_run"), "seconds": result.seconds}))


if __name__ == "__main__":
    main()
