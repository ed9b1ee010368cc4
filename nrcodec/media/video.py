"""Read any video PyAV can open into one uint8 RGB array, and write frames back out.

Frames are (T, H, W, 3) uint8 RGB everywhere in nrcodec, so every format is converted here, once.
Every failure a user can cause (missing file, not a video, corrupt data, unknown output type)
becomes one `InputError` saying what to do; no raw PyAV exception escapes.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
from av.video.reformatter import Interpolation
from PIL import Image

from nrcodec.errors import InputError
from nrcodec.media.y4m import MAGIC as Y4M_MAGIC
from nrcodec.media.y4m import Y4mGuard

STDIO = "-"
"""The path that means stdin (reading) or stdout (writing); the stream is y4m."""

DEFAULT_FPS = 25.0
"""Frame rate assumed when a source does not store one."""

H264_CRF = 12
"""libx264 constant rate factor for .mp4/.mov: near-lossless to the eye, still playable everywhere."""

_EXACT = Interpolation.AREA | Interpolation.ACCURATE_RND | Interpolation.BITEXACT
"""swscale flags for RGB -> YUV: best rounding, the same bytes on every CPU, chroma averaged when
subsampled."""

_ENCODER_CANDIDATES = {
    "h264": ("libx264",),
    "hevc": ("libx265",),
    "av1": ("libsvtav1", "libaom-av1"),
}

SUPPORTED_OUTPUTS = "'-' (y4m on stdout), .y4m, .mkv, .mp4, .mov, a directory, or a pattern like out/%04d.png"


@dataclass
class Clip:
    """A decoded video: everything nrcodec needs from a source file, nothing tied to PyAV."""

    frames: np.ndarray
    """(T, H, W, 3) uint8 RGB."""
    fps: float
    name: str
    """Base name without extension; 'stdin' for '-'."""
    notices: list[str] = field(default_factory=list)
    """What was converted or ignored on the way in (e.g. 'audio ignored'), for the user to see."""


def read_video(source: str | os.PathLike[str], max_frames: int | None = None) -> Clip:
    """Decode a video into RGB frames, converting whatever it holds rather than rejecting it.

    `source` is any file PyAV reads (.mp4, .mkv, .y4m, an image pattern like frames/%04d.png, ...)
    or '-' for a y4m stream on stdin. Only the first video stream is used; audio is ignored, and
    10-bit, 4:4:4, odd sizes or alpha are converted to 8-bit RGB with a notice where it matters.
    At most `max_frames` frames are decoded (from the start) when given.
    """
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be at least 1, got {max_frames}")
    text = os.fspath(source)
    from_stdin = text == STDIO
    label = "stdin" if from_stdin else text
    if not from_stdin and os.path.isdir(text):
        raise InputError(f"{label} is a directory; to read PNG frames give a pattern such as {label}/%04d.png")
    guard = Y4mGuard(sys.stdin.buffer) if from_stdin else _y4m_file(text)
    notices: list[str] = []
    try:
        container = _open_input(text, label, from_stdin, guard)
        frames, fps = _read_frames(container, label, max_frames, notices, guard)
    finally:
        if guard is not None and not from_stdin:
            guard.raw.close()
    if not frames:
        raise InputError(f"{label} contains no video frames")
    return Clip(frames=np.stack(frames), fps=fps, name=_clip_name(text, from_stdin), notices=notices)


def _read_frames(
    container: av.container.InputContainer,
    label: str,
    max_frames: int | None,
    notices: list[str],
    guard: Y4mGuard | None,
) -> tuple[list[np.ndarray], float]:
    """The first video stream's frames and rate; what was converted or ignored goes to ``notices``."""
    with container:
        if not container.streams.video:
            raise InputError(f"{label} has no video stream; give a video file")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # noqa: V101 (read by PyAV's decoder, which vulture cannot see)
        if container.streams.audio:
            notices.append("audio ignored")
        if len(container.streams.video) > 1:
            notices.append(f"using the first of {len(container.streams.video)} video streams")
        if stream.average_rate and stream.average_rate > 0 and not _is_still_images(container):
            fps = float(stream.average_rate)
        else:
            fps = DEFAULT_FPS
            notices.append(f"frame rate unknown, assuming {DEFAULT_FPS:g} fps")
        return _decode_rgb(container, stream, label, max_frames, notices, guard), fps


def write_video(frames: np.ndarray, fps: float, dest: str | os.PathLike[str]) -> str:
    """Write RGB frames where `dest` says, with defaults that add no visible loss.

    - '-': y4m on stdout, 4:4:4 (C444) so no chroma is thrown away; only the rounding of RGB to
      BT.601 YUV remains (about 52 dB PSNR). ffmpeg and x264 read it.
    - name.y4m: the same y4m, as a file.
    - a directory (existing, or a path ending in '/'): lossless PNG frames 0000.png, 0001.png, ...
    - a pattern such as out/%04d.png: lossless PNG frames named by the pattern.
    - name.mkv: FFV1 in RGB (bgr0), mathematically lossless.
    - name.mp4 / name.mov: H.264 (libx264, crf 12, preset medium), 4:2:0 for players, about
      41-43 dB on the samples; odd sizes use 4:4:4 instead, which keeps the exact size but some
      players refuse it.

    y4m and PNG outputs are byte-for-byte deterministic. Returns what was written, in words.
    """
    frames = _check_frames(frames)
    rate = _frame_rate(fps)
    text = os.fspath(dest)
    if text == STDIO:
        if sys.stdout.isatty():
            raise InputError("stdout is a terminal; redirect the y4m stream to a file or a pipe")
        return _write_y4m(frames, rate, sys.stdout.buffer) + " to stdout"
    path = Path(text)
    suffix = path.suffix.lower()
    if "%" in path.name:
        if suffix != ".png":
            raise InputError(f"{text}: a frame pattern must end in .png, like out/%04d.png")
        return _write_png(frames, path)
    if path.is_dir() or text.endswith(("/", os.sep)):
        return _write_png(frames, path / "%04d.png")
    try:
        if suffix == ".y4m":
            with open(path, "wb") as handle:
                return _write_y4m(frames, rate, handle)
        if suffix in (".mp4", ".mov"):
            pix_fmt = "yuv420p" if frames.shape[1] % 2 == 0 and frames.shape[2] % 2 == 0 else "yuv444p"
            options = {"crf": str(H264_CRF), "preset": "medium"}
            _encode(frames, rate, path, "libx264", pix_fmt, options)
            return _describe(f"H.264 {pix_fmt} crf {H264_CRF}", frames)
        if suffix == ".mkv":
            _encode(frames, rate, path, "ffv1", "bgr0", {"level": "3", "g": "1"})
            return _describe("FFV1 lossless RGB", frames)
    except OSError as error:
        raise InputError(f"cannot write {text}: {error.strerror or error}") from None
    raise InputError(f"cannot tell what to write for {text!r}; supported: {SUPPORTED_OUTPUTS}")


def ffmpeg_available_encoders() -> dict[str, str | None]:
    """The encoder PyAV offers for each classic codec ('h264', 'hevc', 'av1'), or None.

    Builds of PyAV differ in which external encoders they carry, so benchmarks ask instead of assuming.
    """
    return {
        codec: next((name for name in names if _has_encoder(name)), None)
        for codec, names in _ENCODER_CANDIDATES.items()
    }


def _has_encoder(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except (av.codec.codec.UnknownCodecError, av.FFmpegError):
        return False
    return True


def _y4m_file(text: str) -> Y4mGuard | None:
    """The file behind a guard if it starts like a y4m stream, else None (PyAV opens it by name)."""
    try:
        handle = open(text, "rb")  # noqa: SIM115 (closed by read_video, or here)
    except OSError:
        return None
    if handle.read(len(Y4M_MAGIC)) == Y4M_MAGIC and handle.seek(0) == 0:
        return Y4mGuard(handle)
    handle.close()
    return None


def _open_input(text: str, label: str, from_stdin: bool, guard: Y4mGuard | None) -> av.container.InputContainer:
    """Open the source, turning every PyAV failure into an InputError that says what to do."""
    if from_stdin and sys.stdin.isatty():
        raise InputError("stdin is a terminal; pipe a y4m stream in, e.g. ffmpeg -i in.mp4 -f yuv4mpegpipe -")
    try:
        if guard is not None:
            return av.open(guard, format="yuv4mpegpipe")
        return av.open(text)
    except FileNotFoundError:
        raise InputError(f"{label}: no such file") from None
    except (av.FFmpegError, OSError) as error:
        if from_stdin:
            raise InputError(
                "stdin is not a y4m stream; pipe one in, e.g. ffmpeg -i in.mp4 -f yuv4mpegpipe -"
            ) from None
        reason = getattr(error, "strerror", None) or error
        raise InputError(
            f"{label} cannot be read as a video ({reason}); give a video file such as .mp4, .mkv or .y4m"
        ) from None


def _decode_rgb(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    label: str,
    max_frames: int | None,
    notices: list[str],
    guard: Y4mGuard | None,
) -> list[np.ndarray]:
    """Decode frames to RGB24 arrays; corrupt data, a cut or damaged y4m frame and mid-stream size
    changes become InputErrors."""
    frames: list[np.ndarray] = []
    try:
        for frame in container.decode(stream):
            if not frames:
                notices.extend(_format_notices(frame.format))
            rgb = frame.to_ndarray(format="rgb24", threads=1)
            if frames and rgb.shape != frames[0].shape:
                first = frames[0].shape
                raise InputError(
                    f"{label} changes frame size at frame {len(frames)} ({first[1]}x{first[0]} to "
                    f"{rgb.shape[1]}x{rgb.shape[0]}); split or rescale it first"
                )
            frames.append(rgb)
            if max_frames is not None and len(frames) >= max_frames:
                break
    except av.FFmpegError as error:
        if guard is not None and guard.finish():
            raise _cut_y4m(label, guard) from None
        raise InputError(
            f"{label} is corrupt or truncated after {len(frames)} frames ({error}); re-encode or re-download it"
        ) from None
    if guard is not None and (max_frames is None or len(frames) < max_frames) and guard.finish():
        raise _cut_y4m(label, guard)
    return frames


def _cut_y4m(label: str, guard: Y4mGuard) -> InputError:
    """The error for a y4m stream that ends inside a frame or has a damaged FRAME marker."""
    assert guard.defect is not None
    whole = guard.defect.frame
    use = f", or use the {whole} whole frames before it (--max-frames {whole})" if whole else ""
    return InputError(f"{label} is cut or damaged: {guard.defect.text}; re-create it{use}")


def _format_notices(fmt: av.VideoFormat) -> list[str]:
    """Say which conversions to 8-bit RGB lose information the source had."""
    notices = []
    bits = max(component.bits for component in fmt.components)
    if bits > 8:
        notices.append(f"{bits}-bit input converted to 8-bit RGB")
    if any(component.is_alpha for component in fmt.components):
        notices.append("alpha channel ignored")
    return notices


def _is_still_images(container: av.container.InputContainer) -> bool:
    """Image demuxers report a made-up 25 fps: the frames themselves store no rate."""
    name = container.format.name
    return name.startswith("image2") or name.endswith("_pipe")


def _clip_name(text: str, from_stdin: bool) -> str:
    """'stdin' for '-', the folder name for a frame pattern, else the file name without extension."""
    if from_stdin:
        return "stdin"
    path = Path(text)
    if "%" in path.name and path.parent.name:
        return path.parent.name
    return path.stem


def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] < 1:
        raise ValueError(f"expected (T, H, W, 3) uint8 frames with T >= 1, got {frames.dtype} {frames.shape}")
    return np.ascontiguousarray(frames)


def _frame_rate(fps: float) -> Fraction:
    """A rational rate for containers; 1001 covers NTSC rates such as 30000/1001 exactly."""
    if not math.isfinite(fps) or fps <= 0:
        raise InputError(f"fps must be a positive number, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def _describe(kind: str, frames: np.ndarray) -> str:
    count, height, width = frames.shape[:3]
    return f"{kind}, {count} frames, {width}x{height}"


def _write_y4m(frames: np.ndarray, rate: Fraction, handle: BinaryIO) -> str:
    """y4m 4:4:4 through PyAV's muxer, converted by `_convert` so the bytes never vary."""
    with av.open(handle, "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("wrapped_avframe", rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv444p"
        for array in frames:
            container.mux(stream.encode(_convert(array, "yuv444p")))
        container.mux(stream.encode(None))
    return _describe("y4m 4:4:4", frames)


def _write_png(frames: np.ndarray, pattern: Path) -> str:
    """One lossless PNG per frame; the pattern must give every frame its own name."""
    try:
        names = [pattern.parent / (pattern.name % index) for index in range(len(frames))]
    except (TypeError, ValueError):
        raise InputError(f"{pattern}: a frame pattern needs one integer field, like %04d") from None
    if len(set(names)) != len(names):
        raise InputError(f"{pattern}: the pattern gives several frames the same name; use one like %04d")
    try:
        pattern.parent.mkdir(parents=True, exist_ok=True)
        for name, array in zip(names, frames, strict=True):
            Image.fromarray(array).save(name, format="PNG")
    except OSError as error:
        raise InputError(f"cannot write {pattern}: {error.strerror or error}") from None
    return _describe(f"PNG {names[0].name}..{names[-1].name} in {pattern.parent}", frames)


def _convert(rgb: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """One RGB frame in the encoder's pixel format, the same bytes on every run and CPU.

    Exact rounding and bit-exact swscale on one thread; YUV comes out BT.601 limited range.
    """
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    return frame.reformat(format=pix_fmt, interpolation=_EXACT, threads=1)


def _encode(frames: np.ndarray, rate: Fraction, path: Path, codec: str, pix_fmt: str, options: dict[str, str]) -> None:
    """Encode through PyAV; YUV is tagged BT.601 limited range, which is how `_convert` converts."""
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        if pix_fmt.startswith("yuv"):  # the encoder reads these tags; vulture cannot see that
            stream.codec_context.colorspace = av.video.reformatter.Colorspace.ITU601  # noqa: V101
            stream.codec_context.color_range = av.video.reformatter.ColorRange.MPEG  # noqa: V101
        for array in frames:
            container.mux(stream.encode(_convert(array, pix_fmt)))
        container.mux(stream.encode(None))
