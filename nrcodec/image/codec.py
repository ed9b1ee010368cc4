"""A loaded codec file and the encode/decode of single images with one of its versions.

The codec file says which registered model each version is (:mod:`nrcodec.image.models`); the
model compresses and decompresses, this module frames the result as a bitstream and checks that a
bitstream belongs to this codec file before any of it is decoded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nrcodec.errors import FormatError, InputError
from nrcodec.format.atomic import commit_bytes
from nrcodec.format.image_bitstream import ImageBitstream, header_bytes, pack_bitstream, read_bitstream
from nrcodec.image import refine
from nrcodec.image.codec_file import Version, read_codec_file, resolve_state, version_chunk, write_codec_file
from nrcodec.image.colour_offset import apply_offsets, fit_offsets
from nrcodec.image.models import ImageModel
from nrcodec.image.settings import CodecSettings


class Codec:
    """The versions of one image codec; their models (with their tables) are built on first use and cached."""

    def __init__(self, versions: list[Version], data: bytes) -> None:
        self.versions = versions
        self._data = data
        self._states: dict[int, dict[str, torch.Tensor]] = {}
        self._models: dict[int, ImageModel] = {}

    @classmethod
    def from_bytes(cls, data: bytes) -> Codec:
        return cls(read_codec_file(data), bytes(data))

    @classmethod
    def create(cls, base: Version) -> Codec:
        """A codec file holding only ``base`` (version 0), fingerprinted here."""
        base.id = 0
        base.fingerprint = base.compute_fingerprint("")
        return cls([base], write_codec_file([base]))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Codec:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read codec file {str(path)!r}: {exc.strerror or exc}") from None
        try:
            return cls.from_bytes(data)
        except FormatError as exc:
            raise type(exc)(f"{path}: {exc}") from None

    def to_bytes(self) -> bytes:
        return self._data

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically: a crash leaves the old file or the new one."""
        try:
            commit_bytes(path, self._data)
        except OSError as exc:
            raise InputError(f"cannot write codec file {str(path)!r}: {exc.strerror or exc}") from None

    def append(self, version: Version) -> Version:
        """Add an adaptation as the next version; earlier bytes are left untouched."""
        version.id = len(self.versions)
        parent = self.versions[version.parent] if version.parent is not None else None
        version.fingerprint = version.compute_fingerprint(parent.fingerprint if parent else "")
        self.versions.append(version)
        self._data += version_chunk(version)
        return version

    @property
    def fingerprint(self) -> str:
        return self.versions[0].fingerprint

    @property
    def newest(self) -> int:
        return len(self.versions) - 1

    def version(self, vid: int) -> Version:
        if not 0 <= vid < len(self.versions):
            raise InputError(f"the codec file has no version {vid} (it has versions 0 to {self.newest})")
        return self.versions[vid]

    def state(self, vid: int) -> dict[str, torch.Tensor]:
        if vid not in self._states:
            version = self.version(vid)
            parent = self.state(version.parent) if version.parent is not None else None
            self._states[vid] = resolve_state(version, parent)
        return self._states[vid]

    def model(self, vid: int) -> ImageModel:
        """Version ``vid``'s model, in eval mode, coding with the integer tables the file stores."""
        if vid not in self._models:
            version = self.version(vid)
            model = version.architecture.build()
            model.load_state_dict(self.state(vid), strict=False)
            model.use_tables(version.tables())
            model.prepare_for_coding()
            self._models[vid] = model.eval().requires_grad_(False)
        return self._models[vid]


@dataclass(frozen=True)
class Encoded:
    data: bytes
    version: int
    quality: int
    """1..levels for a codec with quality levels, 0 for a codec of a single rate."""
    width: int
    height: int
    estimated_bits: float
    header_bytes: int
    reconstruction: np.ndarray
    effort: int = 0
    """The encoder effort it was coded at (:mod:`nrcodec.image.refine`); the decoder does not need to know it."""

    @property
    def bpp(self) -> float:
        return 8 * len(self.data) / (self.width * self.height)


def _check_image(rgb: np.ndarray) -> None:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InputError("images must be uint8 RGB arrays of shape (height, width, 3)")
    if min(rgb.shape[:2]) < 1:
        raise InputError("the image is empty")


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 (h, w, 3) array -> float (1, 3, h, w) in [0, 1]."""
    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """float (1, 3, h, w) -> uint8 (h, w, 3) numpy array."""
    return torch.round(x.clamp(0, 1) * 255.0)[0].permute(1, 2, 0).to(torch.uint8).numpy()


def default_quality(levels: int) -> int:
    """The quality a codec with ``levels`` levels codes at by default: two thirds up its ladder
    (4 of 6: about 0.5 bpp on photographs), 0 for a codec of a single rate."""
    return 0 if levels == 1 else max(1, round(2 * levels / 3))


def _quality(codec: Codec, vid: int, quality: int | None) -> int:
    """The quality to code at (see :class:`Encoded`), checked against the version's ladder."""
    levels = codec.model(vid).levels
    if quality is None:
        return default_quality(levels)
    if levels == 1:
        if quality not in (0, 1):
            raise InputError(f"version {vid} codes at a single rate; it has no quality {quality}")
        return 0
    if not 1 <= quality <= levels:
        raise InputError(f"version {vid} has qualities 1 to {levels}, not {quality}")
    return quality


def level_lambda(codec: Codec, vid: int, level: int) -> float:
    """The λ version ``vid`` trained quality level ``level`` (0-based) at, as its codec file records it."""
    lambdas = CodecSettings.adapting(codec.version(vid).info).lambdas
    if len(lambdas) != codec.model(vid).levels:
        raise InputError(f"version {vid} records no λ for each of its quality levels; it cannot refine latents")
    return lambdas[level]


def encode_image(
    codec: Codec, rgb: np.ndarray, version: int | None = None, quality: int | None = None, effort: int = 0
) -> Encoded:
    """Code an image with a version (default: the newest) at a quality (default: :func:`default_quality`);
    an ``effort`` above 0 refines the latents first (:mod:`nrcodec.image.refine`: slower, same decoder)."""
    steps = refine.steps_for(effort)
    vid = codec.newest if version is None else version
    info = codec.version(vid)
    _check_image(rgb)
    quality = _quality(codec, vid, quality)
    height, width = rgb.shape[:2]
    x = to_tensor(rgb)
    level, model = max(0, quality - 1), codec.model(vid)
    if steps:
        result = refine.compress(model, x, level, level_lambda(codec, vid, level), steps)
    else:
        result = model.compress(x, level)
    offsets = fit_offsets(x, result.x_hat)
    stream = ImageBitstream(
        codec.fingerprint, info.fingerprint, vid, quality, width, height, *result.latent_shape, result.coded, offsets
    )
    return Encoded(
        pack_bitstream(stream),
        vid,
        quality,
        width,
        height,
        result.estimated_bits,
        header_bytes(stream),
        to_uint8(apply_offsets(result.x_hat, offsets)),
        effort,
    )


def check_bitstream(codec: Codec, data: bytes) -> ImageBitstream:
    """Parse a bitstream and check that this codec file made it."""
    stream = read_bitstream(data)
    if stream.codec_fingerprint != codec.fingerprint:
        raise FormatError(
            f"the bitstream was made with another codec file (codec {stream.codec_fingerprint}, "
            f"this file is {codec.fingerprint})"
        )
    if stream.version >= len(codec.versions):
        raise FormatError(
            f"the bitstream uses version {stream.version}, which this codec file lacks "
            f"(it has versions 0 to {codec.newest})"
        )
    version = codec.versions[stream.version]
    if stream.version_fingerprint != version.fingerprint:
        raise FormatError(
            f"the bitstream uses a version {stream.version} other than this codec file's "
            f"(fingerprint {stream.version_fingerprint}, the file has {version.fingerprint})"
        )
    levels = codec.model(stream.version).levels
    if (levels == 1) != (stream.quality == 0) or stream.quality > levels:
        raise FormatError(
            f"the bitstream is coded at quality {stream.quality or 'single'}, version {stream.version} has "
            + (f"qualities 1 to {levels}" if levels > 1 else "a single rate")
        )
    latents = (stream.channels, stream.latent_height, stream.latent_width)
    expected = codec.model(stream.version).latent_shape(stream.height, stream.width)
    if latents != expected:
        raise FormatError(
            f"the bitstream's latents are {'x'.join(map(str, latents))}, version {stream.version} makes "
            f"{'x'.join(map(str, expected))} for a {stream.width}x{stream.height} image"
        )
    return stream


def decode_image(codec: Codec, data: bytes) -> tuple[np.ndarray, int]:
    """Decode bitstream bytes; returns the uint8 RGB image and the version it was coded with."""
    stream = check_bitstream(codec, data)
    model = codec.model(stream.version)
    x_hat = model.decompress(stream.coded, stream.height, stream.width, max(0, stream.quality - 1))
    return to_uint8(apply_offsets(x_hat, stream.offsets)), stream.version
