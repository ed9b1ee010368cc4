"""Images in memory: an RGB array to bitstream bytes and back, with no file in between.

A codec is a ``Codec``, a path to a codec file, or None for the shipped one (``DEFAULT_CODEC`` to
encode; to decode, the shipped codec the bitstream names). Codec files read from a path are kept
(the shipped one is 20 MB), so a loop over images loads it once.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from nrcodec.errors import FormatError, InputError
from nrcodec.format.image_bitstream import read_bitstream
from nrcodec.image.codec import Codec, decode_image, encode_image
from nrcodec.image.describe import VersionInfo, describe_codec
from nrcodec.image.shipped import DEFAULT_CODEC, SHIPPED_CODECS

CodecChoice = Codec | str | os.PathLike[str] | None


@lru_cache(maxsize=4)
def _load(path: Path) -> Codec:
    return Codec.load(path)


def load_codec(codec: CodecChoice = None) -> Codec:
    """The codec ``codec`` names (a path is read once and kept); the shipped default for None."""
    if isinstance(codec, Codec):
        return codec
    return _load(Path(DEFAULT_CODEC if codec is None else codec).resolve())


def codec_for(data: bytes, codec: CodecChoice = None) -> Codec:
    """The codec to decode bitstream ``data`` with: ``codec``, else the shipped codec it names."""
    if codec is not None:
        return load_codec(codec)
    named = read_bitstream(data).codec_fingerprint
    for shipped in SHIPPED_CODECS:
        if shipped.is_file() and (found := load_codec(shipped)).fingerprint == named:
            return found
    raise InputError(f"coded with codec {named}, which is not shipped with nrcodec; give its codec file")


def encode(
    image: np.ndarray,
    quality: int | None = None,
    codec: CodecChoice = None,
    version: int | None = None,
    effort: int = 0,
) -> bytes:
    """An RGB image, uint8 (H, W, 3), as bitstream bytes (what ``encode-image`` writes to a .nri), at
    ``quality`` (1 = smallest; None: the codec's default) with ``version`` (None: the newest).
    ``effort`` 1 or 2 refines the latents for the decoder first (``refine.EFFORT_STEPS``: 100 or 300
    steps, about 1.5 s each on a 768x512 picture on one CPU thread) for a smaller file at the same
    quality or a better picture at the same size; any decoder reads it."""
    return encode_image(load_codec(codec), image, version, quality, effort).data


def decode(data: bytes, codec: CodecChoice = None) -> np.ndarray:
    """Bitstream bytes back to the uint8 (H, W, 3) image; the codec and version are the ones it names."""
    try:
        return decode_image(codec_for(data, codec), data)[0]
    except FormatError as exc:
        raise FormatError(f"bitstream: {exc}") from None


def codec_versions(codec: CodecChoice = None) -> list[VersionInfo]:
    """The versions of a codec file: id, parent, mode, architecture, quality levels, bytes."""
    chosen = load_codec(codec)
    return describe_codec(Path("codec"), chosen.to_bytes()).versions
