"""``nrcodec info``: what any nrcodec file holds, found by its signature (.nrc, .nic or .nri)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nrcodec.cli.app import JsonFlag, app, emit_json, note, out, user_errors
from nrcodec.cli.render import fmt_optional, human_bytes
from nrcodec.errors import FormatError, InputError
from nrcodec.format import image_bitstream, nrc
from nrcodec.image import codec_file
from nrcodec.image.describe import BitstreamInfo, CodecInfo, describe_bitstream, describe_codec
from nrcodec.video.archive import Archive, ArchiveInfo
from nrcodec.video.videos import Video

MAX_IMAGE_FILE = 1 << 30
KINDS = "an archive (.nrc), a codec file (.nic) or an image bitstream (.nri)"


@app.command()
def info(
    path: Annotated[Path, typer.Argument(metavar="FILE", help=f"Any nrcodec file: {KINDS}.")],
    segments: Annotated[
        bool, typer.Option("--segments", help="Archive: also list the segments a long clip was split into.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """What an nrcodec file holds: an archive's sessions, bytes and capacity; a codec file's versions;
    a bitstream's picture size, rate and codec version."""
    with user_errors():
        magic = _signature(path)
        if magic == nrc.MAGIC:
            opened = Archive.open(path, "cpu")
            for notice in opened.notices:
                note(notice)
            desc = opened.describe()
            if as_json:
                emit_json({"kind": "archive", **desc.to_json()})
            else:
                _print_archive(desc, segments)
            return
        data = _read_small(path)
        try:
            described = describe_codec(path, data) if magic == codec_file.MAGIC else describe_bitstream(path, data)
        except FormatError as exc:
            raise type(exc)(f"{path}: {exc}") from None
        if as_json:
            emit_json(described.to_json())
        elif isinstance(described, CodecInfo):
            _print_codec(described)
        else:
            _print_bitstream(described)


def _signature(path: Path) -> bytes:
    """The file's first four bytes, which say its kind; anything else is one clear error."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if magic not in (nrc.MAGIC, codec_file.MAGIC, image_bitstream.MAGIC):
        raise FormatError(f"{path} is not an nrcodec file; info reads {KINDS}")
    return magic


def _read_small(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_IMAGE_FILE:
        raise FormatError(f"{path} is {size} bytes, larger than any codec file or bitstream nrcodec writes")
    return path.read_bytes()


def _print_codec(desc: CodecInfo) -> None:
    out.print(
        f"[bold]{escape(str(desc.path))}[/]: codec file, {human_bytes(desc.file_bytes)}, "
        f"format {codec_file.FORMAT_VERSION}, {len(desc.versions)} version(s), "
        f"{escape(str(desc.versions[0].version.architecture))}"
    )
    table = Table("version", "parent", "mode", "fingerprint", "images", "λ", "steps", "added parameters", "bytes")
    for row in desc.versions:
        v = row.to_json()
        table.add_row(
            str(v["version"]),
            "-" if v["parent"] is None else str(v["parent"]),
            v["mode"],
            v["fingerprint"],
            _text(v["images"]),
            _lambdas(v["levels"]),
            _text(v["steps"]),
            "-" if v["added_parameters"] is None else f"{v['added_parameters']:,}",
            human_bytes(v["bytes"]),
        )
    out.print(table)
    levels = desc.versions[0].levels()
    if levels[0]["quality"] is not None:
        default = next(level["quality"] for level in levels if level["default"])
        out.print(f"quality levels 1 (smallest file) to {len(levels)} (best), default {default}; λ listed per level")


def _lambdas(levels: list[dict[str, object]]) -> str:
    """λ of each level, lowest quality first."""
    return ", ".join(_text(level["lambda"]) for level in levels)


def _print_bitstream(desc: BitstreamInfo) -> None:
    s = desc.stream
    out.print(
        escape(
            f"{desc.path}: image bitstream, {s.width}x{s.height}, {desc.file_bytes} bytes ({desc.bpp:.4f} bpp), "
            f"codec version {s.version} ({s.version_fingerprint}) of codec {s.codec_fingerprint}, "
            + (f"quality {s.quality}, " if s.quality else "")
            + f"latent {s.channels}x{s.latent_height}x{s.latent_width}"
            + (
                f", colour offsets R/G/B {'/'.join(f'{v / image_bitstream.OFFSET_STEPS:+g}' for v in s.offsets)}"
                if any(s.offsets)
                else ""
            )
        )
    )


def _text(value: object) -> str:
    return "-" if value is None else str(value)


def _segments(video: Video) -> str:
    held = len(video.segments)
    return f"{held} segments" if video.complete else f"{held} of {video.expected} segments: an add was interrupted"


def _print_archive(desc: ArchiveInfo, segments: bool = False) -> None:
    config = desc.config
    out.print(
        f"[bold]{escape(str(desc.path))}[/]: {human_bytes(desc.file_bytes)}, format {desc.format_version}, "
        f"{escape(config.describe())}, "
        f"forget-free: {'yes' if desc.forget_free else 'no'}, header {desc.header_bytes} B"
    )
    table = Table("session", "name", "frames", "size", "fps", "bytes", "bpp", "PSNR", "new", "reused", "parent")
    for video in desc.videos:
        v = video.to_json()
        name = v["name"] if video.expected == 1 else f"{v['name']} ({_segments(video)})"
        table.add_row(
            str(v["session"]),
            escape(name),
            str(v["frames"]),
            f"{v['width']}x{v['height']}",
            f"{v['fps']:g}",
            human_bytes(v["bytes"]),
            f"{v['bpp']:.3f}",
            fmt_optional(v["psnr"], 2),
            f"{v['new_weights']:,}",
            f"{v['reused_weights']:,}",
            "-" if v["parent"] is None else str(v["parent"]),
        )
        for row in v.get("segments", []) if segments else []:
            table.add_row(
                f"  {v['session']}.{row['session'] - video.sessions[0] + 1}",
                f"  frames {row['frames']}",
                "",
                "",
                "",
                human_bytes(row["bytes"]),
                f"{row['bpp']:.3f}",
                fmt_optional(row["psnr"], 2),
                f"{row['new_weights']:,}",
                "",
                "",
            )
    out.print(table)
    if not desc.usage.layers:
        weights = desc.strategy_summary["network_weights"]
        out.print(f"every session owns its network ({weights:,} weights in all): the archive never fills up")
        return
    layers = Table("layer", "weights", "frozen", "used")
    for n, use in desc.usage.layers.items():
        layers.add_row(n, f"{use.weights:,}", f"{use.frozen:,}", f"{use.used:.1%}")
    layers.add_row("total", f"{desc.usage.weights:,}", "", f"{desc.usage.used:.1%}")
    out.print(layers)
    if not desc.forget_free:
        out.print(
            f"{config.strategy} shares every weight between sessions: each session may rewrite them, and "
            "every session decodes with the latest weights (run eval to see the forgetting)"
        )
        return
    out.print(f"capacity left: {1 - desc.usage.used:.1%} of the supernet's weights are free")
    summary = desc.strategy_summary
    if "reserved_neurons" in summary:
        reserved = ", ".join(f"{n} {v['reserved']}/{v['neurons']}" for n, v in summary["reserved_neurons"].items())
        out.print(f"neurons reserved: {reserved}; space left for new connections: {summary['space_left']:.1%} of units")
