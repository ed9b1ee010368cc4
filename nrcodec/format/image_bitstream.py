"""The image bitstream (``.nri``), bytes only.

File: ``b"NRII" | uint16 format version`` then exactly one ``IMGL`` chunk (length + CRC32) whose
payload is ``codec fingerprint (8 bytes) | version fingerprint (8 bytes) | uvarints: version id,
[quality,] image width, image height, latent channels, latent height, latent width | coded latents``.
Format 2 has the quality field (1 = the smallest file of a codec with quality levels); format 1,
written for codecs of a single rate, has none (``quality`` 0 here), so bitstreams of such codecs
are byte for byte what they were before quality levels existed. Format 3 adds, after the latent
width, three zigzag uvarints: a colour offset per RGB channel in quarter levels of 0..255 that the
decoder adds to the model's reconstruction (see :mod:`nrcodec.image.codec`); a stream whose offsets
are all zero is written in format 1 or 2, as before offsets existed. The
codec fingerprint is that of version 0 of the codec file, so a bitstream from another codec file
is recognised as such; the version fingerprint tells a same-numbered version of another
adaptation apart. Whether the latent shape fits the image size is the model's to say (each model
has its own stride); this layer only bounds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nrcodec.errors import FormatError
from nrcodec.format.chunks import frame, preamble, read_chunks, read_preamble
from nrcodec.format.varint import pack_uvarints, unpack_uvarints, unzigzag, zigzag

MAGIC = b"NRII"
FORMAT_VERSION = 1
LADDER_FORMAT_VERSION = 2
OFFSET_FORMAT_VERSION = 3
OFFSET_STEPS = 4
"""Colour offsets are in 1/OFFSET_STEPS of a level of 0..255."""
MAX_OFFSET = 255 * OFFSET_STEPS
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
    offsets: tuple[int, int, int] = (0, 0, 0)
    """Per RGB channel, in 1/OFFSET_STEPS of a level: added to the reconstruction."""

    @property
    def format_version(self) -> int:
        """The format it is written in: the oldest that holds its fields."""
        if any(self.offsets):
            return OFFSET_FORMAT_VERSION
        return LADDER_FORMAT_VERSION if self.quality else FORMAT_VERSION


def pack_bitstream(stream: ImageBitstream) -> bytes:
    head = bytes.fromhex(stream.codec_fingerprint) + bytes.fromhex(stream.version_fingerprint)
    if len(head) != 2 * FINGERPRINT_BYTES:
        raise ValueError("fingerprints are 8 bytes")
    if len(stream.offsets) != 3 or max(map(abs, stream.offsets)) > MAX_OFFSET:
        raise ValueError(f"colour offsets are three values of at most {MAX_OFFSET} in magnitude")
    form = stream.format_version
    fields = [stream.version, stream.quality] if form != FORMAT_VERSION else [stream.version]
    fields += [stream.width, stream.height, stream.channels, stream.latent_height, stream.latent_width]
    if form == OFFSET_FORMAT_VERSION:
        fields += [zigzag(value) for value in stream.offsets]
    return preamble(MAGIC, form) + frame(TAG, head + pack_uvarints(fields) + stream.coded)


def header_bytes(stream: ImageBitstream) -> int:
    """Bytes of a packed bitstream that are not coded latents."""
    return len(pack_bitstream(stream)) - len(stream.coded)


def read_bitstream(data: bytes) -> ImageBitstream:
    """Parse and validate a bitstream; every defect is a FormatError naming it."""
    version_of_format = read_preamble(data, MAGIC, KIND, (FORMAT_VERSION, LADDER_FORMAT_VERSION, OFFSET_FORMAT_VERSION))
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
    counts = {FORMAT_VERSION: 6, LADDER_FORMAT_VERSION: 7, OFFSET_FORMAT_VERSION: 10}
    fields, pos = unpack_uvarints(payload, counts[version_of_format], where, 2 * FINGERPRINT_BYTES)
    if version_of_format == FORMAT_VERSION:
        fields.insert(1, 0)
    version, quality, width, height, channels, lat_h, lat_w = fields[:7]
    offsets = tuple(unzigzag(value) for value in fields[7:]) or (0, 0, 0)
    if quality > MAX_QUALITY or (quality == 0 and version_of_format == LADDER_FORMAT_VERSION):
        raise FormatError(f"{where}: quality {quality} is out of range")
    if max(map(abs, offsets)) > MAX_OFFSET:
        raise FormatError(f"{where}: a colour offset of {max(map(abs, offsets))} quarter levels is out of range")
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise FormatError(f"{where}: image size {width}x{height} is out of range")
    if not (1 <= lat_h <= height and 1 <= lat_w <= width):
        raise FormatError(f"{where}: latent shape {lat_h}x{lat_w} does not fit a {width}x{height} image")
    if not 1 <= channels <= MAX_CHANNELS or channels * lat_h * lat_w > MAX_LATENTS:
        raise FormatError(f"{where}: {channels} latent channels is out of range")
    return ImageBitstream(
        codec_fp, version_fp, version, quality, width, height, channels, lat_h, lat_w, payload[pos:], offsets
    )
