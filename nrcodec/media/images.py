"""Still images with Pillow: any PNG, JPEG or WebP in, uint8 (h, w, 3) RGB numpy arrays; PNG out.

Grayscale, palette and 16-bit images are converted to 8-bit RGB; transparency is composited on
white, since the codec has no alpha channel. No torch here.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from nrcodec.errors import InputError
from nrcodec.format.atomic import commit_bytes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
MAX_PIXELS = 1 << 28


def to_rgb(image: Image.Image) -> np.ndarray:
    """Convert any Pillow image to uint8 RGB, compositing transparency on white."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = Image.fromarray((np.asarray(image, dtype=np.float64) / 257.0).round().clip(0, 255).astype(np.uint8))
    if "transparency" in image.info or image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.array(image.convert("RGB"), dtype=np.uint8)


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read one image file; anything unreadable is one InputError naming the file."""
    name = str(path)
    try:
        with Image.open(path) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InputError(f"{name}: {width}x{height} is too large an image")
            image.load()
            return to_rgb(image)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a directory, not an image") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image Pillow can read (PNG, JPEG, WebP)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise InputError(f"{name}: cannot read the image ({exc})") from None


def list_images(directory: str | os.PathLike[str]) -> list[Path]:
    """Image files directly in ``directory``, sorted by name."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory")
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{root}: holds no PNG, JPEG or WebP images")
    return files


def read_images(directory: str | os.PathLike[str]) -> list[np.ndarray]:
    return [read_image(p) for p in list_images(directory)]


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


def write_png(path: str | os.PathLike[str], rgb: np.ndarray) -> None:
    """Write an RGB image as PNG, atomically."""
    try:
        commit_bytes(path, png_bytes(rgb))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
