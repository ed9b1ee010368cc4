"""What ``nrcodec info`` shows about a codec file (.nic) or an image bitstream (.nri).

Both are read and checked exactly as for decoding (framing, CRCs, fingerprints), but no tensor is
decoded: describing a file is cheap whatever its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nrcodec.format import image_bitstream
from nrcodec.format.chunks import read_chunks
from nrcodec.image import codec_file
from nrcodec.image.codec import default_quality
from nrcodec.image.codec_file import Version


@dataclass(frozen=True)
class VersionInfo:
    """One version of a codec file: where it comes from, how it was trained, what it costs."""

    version: Version
    bytes: int

    def levels(self) -> list[dict[str, Any]]:
        """The quality levels (``--quality``) with the λ each was trained at; one entry for a
        codec of a single rate (quality null)."""
        count = self.version.architecture.params.level_count
        ladder = self.version.info.get("ladder") or [self.version.info.get("lambda")]
        default = default_quality(count)
        if count == 1:
            return [{"quality": None, "lambda": ladder[0], "default": True}]
        lambdas = ladder if len(ladder) == count else [None] * count
        return [{"quality": q, "lambda": lambdas[q - 1], "default": q == default} for q in range(1, count + 1)]

    def to_json(self) -> dict[str, Any]:
        v, info = self.version, self.version.info
        return {
            "version": v.id,
            "parent": v.parent,
            "mode": v.mode,
            "fingerprint": v.fingerprint,
            "architecture": v.architecture.to_json(),
            "images": info.get("images"),
            "lambda": info.get("lambda"),
            "levels": self.levels(),
            "steps": info.get("steps"),
            "added_parameters": info.get("added_parameters"),
            "bytes": self.bytes,
        }


@dataclass(frozen=True)
class CodecInfo:
    """A codec file: its versions, each with its parent, mode, architecture and size."""

    path: Path
    file_bytes: int
    versions: list[VersionInfo]

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kind": "codec",
            "format_version": codec_file.FORMAT_VERSION,
            "file_bytes": self.file_bytes,
            "architecture": self.versions[0].version.architecture.to_json(),
            "versions": [v.to_json() for v in self.versions],
        }


@dataclass(frozen=True)
class BitstreamInfo:
    """An image bitstream: the picture it holds and the codec version that decodes it."""

    path: Path
    file_bytes: int
    stream: image_bitstream.ImageBitstream

    @property
    def bpp(self) -> float:
        return self.file_bytes * 8 / (self.stream.width * self.stream.height)

    def to_json(self) -> dict[str, Any]:
        s = self.stream
        return {
            "path": str(self.path),
            "kind": "bitstream",
            "format_version": s.format_version,
            "file_bytes": self.file_bytes,
            "quality": s.quality or None,
            "width": s.width,
            "height": s.height,
            "bpp": self.bpp,
            "version": s.version,
            "version_fingerprint": s.version_fingerprint,
            "codec_fingerprint": s.codec_fingerprint,
            "latent": [s.channels, s.latent_height, s.latent_width],
            "header_bytes": image_bitstream.header_bytes(s),
            "colour_offsets": [value / image_bitstream.OFFSET_STEPS for value in s.offsets],
        }


def describe_codec(path: Path, data: bytes) -> CodecInfo:
    versions = codec_file.read_codec_file(data)
    sizes = [chunk.size for chunk in read_chunks(data)]
    return CodecInfo(path, len(data), [VersionInfo(v, n) for v, n in zip(versions, sizes)])


def describe_bitstream(path: Path, data: bytes) -> BitstreamInfo:
    return BitstreamInfo(path, len(data), image_bitstream.read_bitstream(data))
