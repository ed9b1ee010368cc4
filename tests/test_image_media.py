"""Still-image I/O: every input kind becomes uint8 RGB, PNG out round-trips, one error for junk."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nrcodec.errors import InputError
from nrcodec.media.images import list_images, read_image, write_png

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "images"


def test_grayscale_and_alpha_become_rgb() -> None:
    gray = read_image(SAMPLES / "camera-gray.png")
    assert gray.dtype == np.uint8 and gray.shape == (80, 80, 3)
    assert np.array_equal(gray[..., 0], np.asarray(Image.open(SAMPLES / "camera-gray.png")))
    rgb = read_image(SAMPLES / "bunny.png")
    alpha = read_image(SAMPLES / "bunny-alpha.png")
    assert alpha.shape == rgb.shape
    assert np.array_equal(alpha[:, -1], rgb[:, -1])  # opaque column unchanged
    assert (alpha[:, 0] == 255).all()  # transparent column composited on white


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP"])
def test_jpeg_and_webp_are_read(fmt: str, tmp_path: Path) -> None:
    source = read_image(SAMPLES / "coffee.png")
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(source).save(path, format=fmt, quality=95)
    decoded = read_image(path)
    assert decoded.shape == source.shape
    assert np.abs(decoded.astype(int) - source.astype(int)).mean() < 6


def test_png_round_trip(tmp_path: Path) -> None:
    source = read_image(SAMPLES / "chelsea.png")
    write_png(tmp_path / "out.png", source)
    assert np.array_equal(read_image(tmp_path / "out.png"), source)


def test_unreadable_files_are_one_input_error(tmp_path: Path) -> None:
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    with pytest.raises(InputError, match=r"junk\.png"):
        read_image(tmp_path / "junk.png")
    data = io.BytesIO()
    Image.fromarray(read_image(SAMPLES / "coffee.png")).save(data, format="PNG")
    (tmp_path / "cut.png").write_bytes(data.getvalue()[:500])
    with pytest.raises(InputError, match=r"cut\.png"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no PNG"):
        list_images(tmp_path / "empty")
