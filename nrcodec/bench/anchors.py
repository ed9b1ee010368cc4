"""Classic-codec anchors: the rate-distortion points people would get without nrcodec.

Video: libx264 (presets medium and veryslow), libx265 and the AV1 encoder PyAV offers, at several CRF
values, on the very frames nrcodec learns (RGB at the source size, converted to 4:2:0 BT.601 like any
player expects, decoded back to RGB). Images: Pillow's JPEG, WebP, JPEG 2000 and AVIF at several
qualities. Every bpp comes from the real coded bytes (video: the sum of the packets, without a
container, which favours the anchors slightly), every PSNR from RGB at the source size.

libx264 and libx265 run with their CPU-specific assembly and default threading, as users run them; on
some machines that makes their bytes differ slightly from run to run, which is fine for a benchmark.
"""

from __future__ import annotations

import io
import os
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.video.reformatter import Interpolation
from PIL import Image, features

from nrcodec.errors import InputError
from nrcodec.media.video import ffmpeg_available_encoders
from nrcodec.metrics import ms_ssim_image, psnr

_EXACT = Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.BITEXACT
_DECODERS = {"h264": ("h264",), "hevc": ("hevc",), "av1": ("libdav1d", "av1")}


@dataclass(frozen=True)
class VideoAnchor:
    """One classic video codec configuration swept over ``crfs``."""

    name: str
    codec: str
    encoder: str
    crfs: tuple[int, ...]
    options: dict[str, str] = field(default_factory=dict)
    pix_fmt: str = "yuv420p"
    """What the encoder codes: 4:2:0 as players expect, or yuv444p (full chroma, as nrcodec's RGB)."""


@dataclass
class RDPoint:
    """One measured rate-distortion point of one codec on one clip or image."""

    codec: str
    item: str
    setting: str
    bytes: int
    bpp: float
    psnr: float
    encode_s: float
    decode_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


def video_anchors(crf_scale: int = 1) -> list[VideoAnchor]:
    """The anchors this PyAV build can encode; CRFs span visually lossless down to very blocky.

    ``crf_scale`` > 1 keeps every n-th CRF (fewer points, for quick runs and tests).
    """
    found = ffmpeg_available_encoders()
    anchors = []
    x26x = (18, 24, 30, 36, 42, 48)
    if found["h264"]:
        anchors.append(VideoAnchor("x264-medium", "h264", found["h264"], x26x, {"preset": "medium"}))
        anchors.append(VideoAnchor("x264-veryslow", "h264", found["h264"], x26x, {"preset": "veryslow"}))
    if found["hevc"]:
        anchors.append(
            VideoAnchor(
                "x265-medium", "hevc", found["hevc"], x26x, {"preset": "medium", "x265-params": "log-level=error"}
            )
        )
    if found["av1"] == "libsvtav1":
        anchors.append(VideoAnchor("av1-svt-p8", "av1", "libsvtav1", (24, 32, 40, 48, 56, 63), {"preset": "8"}))
    elif found["av1"]:
        anchors.append(
            VideoAnchor("av1-aom", "av1", found["av1"], (24, 32, 40, 48, 56, 63), {"cpu-used": "6", "row-mt": "1"})
        )
    return [VideoAnchor(a.name, a.codec, a.encoder, a.crfs[::crf_scale], a.options) for a in anchors]


def _pad_even(frames: np.ndarray) -> np.ndarray:
    """4:2:0 needs even sides; replicate the last row/column, cropped off again after decoding."""
    _, h, w, _ = frames.shape
    return np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _decoder(codec: str) -> av.CodecContext:
    for name in _DECODERS[codec]:
        try:
            return av.CodecContext.create(name, "r")
        except (av.codec.codec.UnknownCodecError, av.FFmpegError):
            continue
    raise InputError(f"this PyAV build cannot decode {codec}; the anchor cannot be measured")


def encode_video(frames: np.ndarray, fps: float, anchor: VideoAnchor, crf: int, item: str) -> RDPoint:
    """Encode (T, H, W, 3) uint8 RGB frames at one CRF, decode them back and measure."""
    source_h, source_w = frames.shape[1:3]
    padded = _pad_even(frames)
    height, width = padded.shape[1:3]
    yuv = [
        av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=anchor.pix_fmt, interpolation=_EXACT)
        for rgb in padded
    ]
    rate = Fraction(fps).limit_denominator(1001)
    encoder = av.CodecContext.create(anchor.encoder, "w")
    encoder.width, encoder.height, encoder.pix_fmt = width, height, anchor.pix_fmt
    # The encoder (libavcodec, through PyAV) reads these; vulture cannot see that.
    encoder.time_base = 1 / rate  # noqa: V101
    encoder.framerate = rate  # noqa: V101
    encoder.options = {**anchor.options, "crf": str(crf)}
    start = time.perf_counter()
    packets = []
    for pts, frame in enumerate(yuv):
        frame.pts = pts
        packets.extend(encoder.encode(frame))
    packets.extend(encoder.encode(None))
    encode_s = time.perf_counter() - start
    nbytes = sum(packet.size for packet in packets)
    decoder = _decoder(anchor.codec)
    start = time.perf_counter()
    decoded = [f for packet in [*packets, None] for f in decoder.decode(packet)]
    rgb = np.stack([f.reformat(format="rgb24", interpolation=_EXACT).to_ndarray() for f in decoded])
    decode_s = time.perf_counter() - start
    if rgb.shape[0] != frames.shape[0]:
        raise InputError(f"{anchor.name} crf {crf}: decoded {rgb.shape[0]} of {frames.shape[0]} frames")
    rgb = rgb[:, :source_h, :source_w]
    return RDPoint(
        codec=anchor.name,
        item=item,
        setting=f"crf {crf}",
        bytes=nbytes,
        bpp=nbytes * 8 / frames[..., 0].size,
        psnr=psnr(frames, rgb),
        encode_s=encode_s,
        decode_s=decode_s,
        extra={"encoder": anchor.encoder, "options": anchor.options, "decode_fps": frames.shape[0] / decode_s},
    )


def quiet_encoders() -> None:
    """SVT-AV1 prints its banner on stderr unless told otherwise; the bench's stderr is for progress."""
    os.environ.setdefault("SVT_LOG", "1")


def video_points(frames: np.ndarray, fps: float, item: str, anchors: list[VideoAnchor]) -> list[RDPoint]:
    """Every anchor at every CRF on one clip."""
    quiet_encoders()
    return [encode_video(frames, fps, anchor, crf, item) for anchor in anchors for crf in anchor.crfs]


# ---------------------------------------------------------------------------------------------- images
@dataclass(frozen=True)
class ImageAnchor:
    """One Pillow image format swept over ``settings`` (quality, or compression ratio for JPEG 2000)."""

    name: str
    pillow_format: str
    settings: tuple[int, ...]

    def save_options(self, setting: int) -> dict[str, Any]:
        """Pillow's defaults, but JPEG with optimised Huffman tables (what jpegoptim or mozjpeg give,
        a few percent smaller at no cost in quality)."""
        if self.pillow_format == "JPEG2000":
            return {"quality_mode": "rates", "quality_layers": [setting], "irreversible": True}
        if self.pillow_format == "JPEG":
            return {"quality": setting, "optimize": True}
        return {"quality": setting}

    def describe(self, setting: int) -> str:
        return f"ratio {setting}" if self.pillow_format == "JPEG2000" else f"quality {setting}"


def image_anchors() -> list[ImageAnchor]:
    """The Pillow codecs this install supports (JPEG, WebP, JPEG 2000, AVIF)."""
    candidates = [
        ("jpg", ImageAnchor("JPEG", "JPEG", (10, 20, 35, 50, 70, 85, 95))),
        ("webp", ImageAnchor("WebP", "WEBP", (5, 20, 35, 50, 70, 85, 95))),
        ("jpg_2000", ImageAnchor("JPEG 2000", "JPEG2000", (200, 100, 60, 40, 24, 12, 6))),
        ("avif", ImageAnchor("AVIF", "AVIF", (10, 25, 40, 55, 70, 85, 95))),
    ]
    return [anchor for feature, anchor in candidates if features.check(feature)]


def encode_image(rgb: np.ndarray, anchor: ImageAnchor, setting: int, item: str) -> RDPoint:
    """Encode one (H, W, 3) uint8 image with Pillow, decode it back and measure."""
    buffer = io.BytesIO()
    image = Image.fromarray(rgb)
    start = time.perf_counter()
    image.save(buffer, format=anchor.pillow_format, **anchor.save_options(setting))
    encode_s = time.perf_counter() - start
    data = buffer.getvalue()
    start = time.perf_counter()
    with Image.open(io.BytesIO(data)) as coded:
        decoded = np.asarray(coded.convert("RGB"))
    decode_s = time.perf_counter() - start
    return RDPoint(
        codec=anchor.name,
        item=item,
        setting=anchor.describe(setting),
        bytes=len(data),
        bpp=len(data) * 8 / rgb[..., 0].size,
        psnr=psnr(rgb[None], decoded[None]),
        encode_s=encode_s,
        decode_s=decode_s,
        extra={"ms_ssim": ms_ssim_image(rgb, decoded)},
    )


def image_points(rgb: np.ndarray, item: str, anchors: list[ImageAnchor]) -> list[RDPoint]:
    """Every Pillow anchor at every setting on one image."""
    return [encode_image(rgb, anchor, setting, item) for anchor in anchors for setting in anchor.settings]


def anchor_versions() -> dict[str, str]:
    """Versions of what encodes the anchors, printed with every measurement."""
    import PIL

    return {"av": av.__version__, "ffmpeg": str(av.ffmpeg_version_info), "pillow": PIL.__version__}
