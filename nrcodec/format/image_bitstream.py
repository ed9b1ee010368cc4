"""The image bitstream (``.nri``), bytes only.

File: ``b"NRII" | uint16 format version`` then exactly one ``IMGL`` chunk (length + CRC32) whose
payload is ``codec fingerprint (8 bytes) | version fingerprint (8 bytes) | uvarints: version id,
[quality,] image width, image height, latent channels, latent height, latent width | coded latents``.
Format 2 has the quality field (1 = the smallest file of a codec with quality levels); format 1,
written for codecs of a single rate, has none (``quality`` 0 here), so bitstreams of such codecs
are byte for byte what they were before quality levels existed. The
codec fingerprint is that of version 0 of the codec file, so a bitstream from another codec file
is recognised as such; the version fingerprint tells a same-numbered version of another
adaptation apart. Whether the latent shape fits the image size is the model's to say (each model
has its own stride); this layer only bounds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nrcodec.errors import FormatError
from nrcodec.format.chunks import frame, preamble, read_chunks, read_preamble
from nrcodec.format.varint import pack_uvarints, unpack_uvarints

MAGIC = b"NRII"
FORMAT_VERSION = 1
LADDER_FORMAT_VERSION = 2
MAX_QUALITY = 64
KIND = "nrcodec image bitstream"
TAG = b"IMGL"
FINGERPRINT_BYTES = 8
MAX_SIDE = 1 << 14
MAX_CHANNELS = 512
MAX_LATENTS = 1 << 27


@dataclass(frozen=True)
class ImageBitstream:
    codec_fingerprint: str
    version_fingerprint: str
    version: int
    quality: int
    width: int
    height: int
    channels: int
    latent_height: int
    latent_width: int
    coded: bytes


def pack_bitstream(stream: ImageBitstream) -> bytes:
    head = bytes.fromhex(stream.codec_fingerprint) + bytes.fromhex(stream.version_fingerprint)
    if len(head) != 2 * FINGERPRINT_BYTES:
        raise ValueError("fingerprints are 8 bytes")
    fields = [stream.width, stream.height, stream.channels, stream.latent_height, stream.latent_width]
    if stream.quality == 0:
        return preamble(MAGIC, FORMAT_VERSION) + frame(
            TAG, head + pack_uvarints([stream.version, *fields]) + stream.coded
        )
    fields = [stream.version, stream.quality, *fields]
    return preamble(MAGIC, LADDER_FORMAT_VERSION) + frame(TAG, head + pack_uvarints(fields) + stream.coded)


def header_bytes(stream: ImageBitstream) -> int:
    """Bytes of a packed bitstream that are not coded latents."""
    return len(pack_bitstream(stream)) - len(stream.coded)


def read_bitstream(data: bytes) -> ImageBitstream:
    """Parse and validate a bitstream; every defect is a FormatError naming it."""
    version_of_format = read_preamble(data, MAGIC, KIND, (FORMAT_VERSION, LADDER_FORMAT_VERSION))
    chunks = read_chunks(data)
    if len(chunks) != 1 or chunks[0].tag != TAG:
        raise FormatError(
            f"{KIND}: expected one {TAG.decode()!r} chunk, found {', '.join(repr(c.name) for c in chunks) or 'none'}"
        )
    payload = chunks[0].payload
    where = f"{KIND} header"
    if len(payload) < 2 * FINGERPRINT_BYTES:
        raise FormatError(f"{where}: too short to hold the codec fingerprints")
    codec_fp = payload[:FINGERPRINT_BYTES].hex()
    version_fp = payload[FINGERPRINT_BYTES : 2 * FINGERPRINT_BYTES].hex()
    if version_of_format == FORMAT_VERSION:
        fields, pos = unpack_uvarints(payload, 6, where, 2 * FINGERPRINT_BYTES)
        version, width, height, channels, lat_h, lat_w = fields
        quality = 0
    else:
        fields, pos = unpack_uvarints(payload, 7, where, 2 * FINGERPRINT_BYTES)
        version, quality, width, height, channels, lat_h, lat_w = fields
        if not 1 <= quality <= MAX_QUALITY:
            raise FormatError(f"{where}: quality {quality} is out of range")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise FormatError(f"{where}: image size {width}x{height} is out of range")
    if not (1 <= lat_h <= height and 1 <= lat_w <= width):
        raise FormatError(f"{where}: latent shape {lat_h}x{lat_w} does not fit a {width}x{height} image")
    if not 1 <= channels <= MAX_CHANNELS or channels * lat_h * lat_w > MAX_LATENTS:
        raise FormatError(f"{where}: {channels} latent channels is out of range")
    return ImageBitstream(codec_fp, version_fp, version, quality, width, height, channels, lat_h, lat_w, payload[pos:])
