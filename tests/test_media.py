"""Media I/O on the real sample clips: round trips through every output kind, and clean errors."""

from __future__ import annotations

import io
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from nrcodec.errors import InputError
from nrcodec.media.video import ffmpeg_available_encoders, read_video, write_video

SAMPLES = Path(__file__).resolve().parent.parent / "samples"

MP4_420_PSNR_FLOOR = 38.0
"""Measured 41.1-43.1 dB on the three samples (the 4:2:0 round trip alone caps at about 44 dB)."""
MP4_444_PSNR_FLOOR = 36.0
"""Measured 38.5-44.3 dB on 51x37 crops of the three samples."""


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return read_video(SAMPLES / "closeup.mp4", max_frames=6).frames


@pytest.fixture(scope="module")
def odd(frames: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(frames[:3, 5:42, 7:58])


class StdStream:
    """Stands in for sys.stdin / sys.stdout: a binary `.buffer`, or a terminal."""

    def __init__(self, data: bytes = b"", tty: bool = False) -> None:
        self.buffer = io.BytesIO(data)
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("name", "width", "height"), [("bunny", 320, 180), ("meadow", 240, 180), ("closeup", 144, 192)]
)
def test_reads_sample_clips(name: str, width: int, height: int) -> None:
    clip = read_video(SAMPLES / f"{name}.mp4")
    assert clip.frames.shape == (32, height, width, 3)
    assert clip.frames.dtype == np.uint8
    assert clip.fps == 25.0
    assert clip.name == name
    assert clip.notices == []


def test_max_frames_stops_early() -> None:
    assert read_video(SAMPLES / "bunny.mp4", max_frames=5).frames.shape[0] == 5
    assert read_video(SAMPLES / "bunny.mp4", max_frames=1000).frames.shape[0] == 32
    with pytest.raises(InputError, match="max_frames"):
        read_video(SAMPLES / "bunny.mp4", max_frames=0)


def test_y4m_file_round_trip_is_close_and_deterministic(frames: np.ndarray, tmp_path: Path) -> None:
    described = write_video(frames, 25, tmp_path / "a.y4m")
    assert described == "y4m 4:4:4, 6 frames, 144x192"
    write_video(frames, 25, tmp_path / "b.y4m")
    data = (tmp_path / "a.y4m").read_bytes()
    assert data == (tmp_path / "b.y4m").read_bytes()
    assert data.startswith(b"YUV4MPEG2 W144 H192 F25:1") and b" C444" in data.split(b"\n", 1)[0]
    clip = read_video(tmp_path / "a.y4m")
    assert clip.frames.shape == frames.shape
    assert clip.fps == 25.0
    assert np.abs(clip.frames.astype(int) - frames).max() <= 3
    assert psnr(clip.frames, frames) > 50


def test_y4m_through_real_pipes(frames: np.ndarray, tmp_path: Path) -> None:
    source = tmp_path / "in.mkv"
    write_video(frames, 30000 / 1001, source)
    writer = f"from nrcodec.media.video import *; c = read_video({str(source)!r}); write_video(c.frames, c.fps, '-')"
    piped = subprocess.run([sys.executable, "-c", writer], capture_output=True, check=True).stdout
    write_video(frames, 30000 / 1001, tmp_path / "same.y4m")
    assert piped == (tmp_path / "same.y4m").read_bytes()
    reader = (
        "from nrcodec.media.video import *; c = read_video('-'); "
        "print(c.name, c.frames.shape, c.fps); write_video(c.frames, c.fps, 'back.mkv')"
    )
    result = subprocess.run([sys.executable, "-c", reader], input=piped, capture_output=True, check=True, cwd=tmp_path)
    assert result.stdout.decode().split()[0] == "stdin"
    back = read_video(tmp_path / "back.mkv")
    assert back.fps == pytest.approx(30000 / 1001)
    assert psnr(back.frames, frames) > 50


def test_y4m_stdin_stdout_in_process(frames: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    out = StdStream()
    monkeypatch.setattr(sys, "stdout", out)
    assert write_video(frames[:2], 12.5, "-").endswith("to stdout")
    monkeypatch.setattr(sys, "stdin", StdStream(out.buffer.getvalue()))
    clip = read_video("-", max_frames=1)
    assert (clip.name, clip.fps, clip.frames.shape) == ("stdin", 12.5, (1, 192, 144, 3))


def test_png_directory_round_trip_is_exact(frames: np.ndarray, tmp_path: Path) -> None:
    described = write_video(frames, 25, f"{tmp_path / 'new'}/")
    assert "0000.png..0005.png" in described
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == [f"{i:04d}.png" for i in range(6)]
    existing = tmp_path / "existing"
    existing.mkdir()
    write_video(frames, 25, existing)
    assert (existing / "0003.png").read_bytes() == (tmp_path / "new" / "0003.png").read_bytes()
    clip = read_video(existing / "%04d.png")
    np.testing.assert_array_equal(clip.frames, frames)
    assert clip.name == "existing"
    assert clip.notices == ["frame rate unknown, assuming 25 fps"]


def test_png_pattern_round_trip_is_exact(odd: np.ndarray, tmp_path: Path) -> None:
    write_video(odd, 25, tmp_path / "deep" / "f_%03d.png")
    assert (tmp_path / "deep" / "f_002.png").is_file()
    np.testing.assert_array_equal(read_video(tmp_path / "deep" / "f_%03d.png").frames, odd)


def test_mkv_ffv1_round_trip_is_exact(frames: np.ndarray, odd: np.ndarray, tmp_path: Path) -> None:
    for name, array in (("even.mkv", frames), ("odd.mkv", odd)):
        assert write_video(array, 24, tmp_path / name).startswith("FFV1 lossless RGB")
        clip = read_video(tmp_path / name)
        np.testing.assert_array_equal(clip.frames, array)
        assert clip.fps == 24.0


def test_mp4_round_trip_stays_above_psnr_floor(frames: np.ndarray, odd: np.ndarray, tmp_path: Path) -> None:
    assert "yuv420p" in write_video(frames, 25, tmp_path / "even.mp4")
    clip = read_video(tmp_path / "even.mp4")
    assert clip.frames.shape == frames.shape
    assert psnr(clip.frames, frames) > MP4_420_PSNR_FLOOR
    assert "yuv444p" in write_video(odd, 25, tmp_path / "odd.MOV")
    clip = read_video(tmp_path / "odd.MOV")
    assert clip.frames.shape == odd.shape
    assert psnr(clip.frames, odd) > MP4_444_PSNR_FLOOR


def test_odd_sizes_survive_y4m(odd: np.ndarray, tmp_path: Path) -> None:
    write_video(odd, 25, tmp_path / "odd.y4m")
    clip = read_video(tmp_path / "odd.y4m")
    assert clip.frames.shape == (3, 37, 51, 3)
    assert psnr(clip.frames, odd) > 50


def test_notices_for_audio_and_10_bit(frames: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "av.mkv"
    with av.open(str(path), "w") as container:
        video = container.add_stream("ffv1", rate=Fraction(25))
        video.width, video.height, video.pix_fmt = 144, 192, "yuv420p10le"
        audio = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        for array in frames[:2]:
            container.mux(video.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        container.mux(video.encode(None))
        sound = av.AudioFrame.from_ndarray(np.zeros((1, 640), np.int16), format="s16", layout="mono")
        sound.sample_rate = 8000
        container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
    clip = read_video(path)
    assert clip.frames.shape == (2, 192, 144, 3)
    assert clip.notices == ["audio ignored", "10-bit input converted to 8-bit RGB"]
    assert psnr(clip.frames, frames[:2]) > 40


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"hello, this is not a video\n" * 20, "cannot be read as a video"),
        (b"YUV4MPEG2 W4 H4 F25:1 C444\n", "no video frames"),
    ],
)
def test_unusable_inputs_raise_one_input_error(content: bytes | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / "input.y4m"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_video(path)


def test_truncated_and_audio_only_files_raise_input_error(tmp_path: Path) -> None:
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes((SAMPLES / "meadow.mp4").read_bytes()[:20_000])
    with pytest.raises(InputError, match=r"cut\.mp4 cannot be read as a video"):
        read_video(truncated)
    sound = tmp_path / "sound.wav"
    with av.open(str(sound), "w") as container:
        audio = container.add_stream("pcm_s16le", rate=8000, layout="mono")
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        samples.sample_rate = 8000
        container.mux(audio.encode(samples))
        container.mux(audio.encode(None))
    with pytest.raises(InputError, match="no video stream"):
        read_video(sound)
    with pytest.raises(InputError, match="is a directory"):
        read_video(tmp_path)


def test_terminals_and_non_y4m_stdin_are_input_errors(frames: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", StdStream(b"not a y4m stream at all\n" * 10))
    with pytest.raises(InputError, match="stdin is not a y4m stream"):
        read_video("-")
    monkeypatch.setattr(sys, "stdin", StdStream(tty=True))
    with pytest.raises(InputError, match="stdin is a terminal"):
        read_video("-")
    monkeypatch.setattr(sys, "stdout", StdStream(tty=True))
    with pytest.raises(InputError, match="stdout is a terminal"):
        write_video(frames, 25, "-")


def test_bad_destinations_raise_input_error(frames: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"supported: .*\.y4m.*\.mkv"):
        write_video(frames, 25, tmp_path / "out.avi")
    with pytest.raises(InputError, match=r"must end in \.png"):
        write_video(frames, 25, tmp_path / "f_%03d.jpg")
    with pytest.raises(InputError, match="one integer field"):
        write_video(frames, 25, tmp_path / "%%.png")
    with pytest.raises(InputError, match="same name"):
        write_video(frames, 25, tmp_path / "f%.0s.png")
    with pytest.raises(InputError, match=r"cannot write .*No such file"):
        write_video(frames, 25, tmp_path / "missing" / "out.mp4")
    with pytest.raises(InputError, match="fps"):
        write_video(frames, 0, tmp_path / "out.y4m")
    with pytest.raises(ValueError, match="uint8"):
        write_video(frames.astype(np.float32), 25, tmp_path / "out.y4m")


def test_ffmpeg_available_encoders_names_usable_encoders() -> None:
    encoders = ffmpeg_available_encoders()
    assert set(encoders) == {"h264", "hevc", "av1"}
    assert encoders["h264"] == "libx264"
    for name in encoders.values():
        if name is not None:
            assert av.codec.Codec(name, "w").is_encoder


def test_a_cut_y4m_names_the_file_and_the_frame(frames: np.ndarray, tmp_path: Path) -> None:
    """FFmpeg drops a last frame the file ends inside; we refuse the file instead."""
    whole = tmp_path / "whole.y4m"
    write_video(frames[:5], 25, whole)
    data = whole.read_bytes()
    frame_bytes = 144 * 192 * 3
    last = len(data) - frame_bytes - len(b"FRAME\n")
    cut = tmp_path / "cut.y4m"
    for end in (len(data) - 1, len(data) - frame_bytes // 2, last + 6, last + 3):
        cut.write_bytes(data[:end])
        with pytest.raises(InputError, match=r"cut\.y4m is cut or damaged: .*frame 4 \(counting from 0\)") as error:
            read_video(cut)
        assert "--max-frames 4" in str(error.value)
    cut.write_bytes(data[:-41473])
    with pytest.raises(InputError, match="it has 41471 of its 82944 bytes"):
        read_video(cut)
    cut.write_bytes(data[:last])
    assert read_video(cut).frames.shape[0] == 4
    cut.write_bytes(data[:-1])
    assert np.array_equal(read_video(cut, max_frames=4).frames, read_video(whole, max_frames=4).frames)


def test_a_damaged_frame_marker_names_the_frame(frames: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "marker.y4m"
    write_video(frames[:3], 25, path)
    data = bytearray(path.read_bytes())
    second = data.index(b"FRAME", data.index(b"FRAME") + 1)
    data[second + 2] ^= 0x20
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"marker\.y4m is cut or damaged: frame 1 \(counting from 0\) does not start"):
        read_video(path)


def test_a_cut_y4m_on_stdin_is_refused_too(frames: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    out = StdStream()
    monkeypatch.setattr(sys, "stdout", out)
    write_video(frames[:3], 25, "-")
    monkeypatch.setattr(sys, "stdin", StdStream(out.buffer.getvalue()[:-100]))
    with pytest.raises(InputError, match=r"stdin is cut or damaged: frame 2 \(counting from 0\) is cut short"):
        read_video("-")


@pytest.mark.parametrize(
    "pix_fmt", ["yuv420p", "yuv422p", "yuv411p", "gray", "yuv420p10le", "yuv444p12le", "yuva444p", "gray16le"]
)
def test_every_y4m_colour_space_reads_whole_and_a_cut_is_seen(pix_fmt: str, odd: np.ndarray, tmp_path: Path) -> None:
    """The frame size the guard computes from the header matches what FFmpeg writes, at odd sizes."""
    path = tmp_path / f"{pix_fmt}.y4m"
    with av.open(str(path), "w", format="yuv4mpegpipe", options={"strict": "-1"}) as container:
        stream = container.add_stream("wrapped_avframe", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 51, 37, pix_fmt
        for array in odd:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24").reformat(format=pix_fmt)))
        container.mux(stream.encode(None))
    assert read_video(path).frames.shape == (3, 37, 51, 3)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(InputError, match=r"frame 2 \(counting from 0\) is cut short"):
        read_video(path)
