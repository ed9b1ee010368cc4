"""Fuzz every reader of untrusted bytes: .nrc archives, .nic codec files, .nri bitstreams, y4m input.

Real small files are mutated (bit flips, cuts, inserted and deleted bytes, and the same inside one
chunk whose CRC is then recomputed, so the mutation gets past the framing into the record and
session decoders). Whatever the bytes, a reader may only raise nrcodec's own errors: any other
exception, an example slower than ``DEADLINE`` or one that allocates more than ``MEMORY_LIMIT``
(traced by tracemalloc: Python and numpy buffers) fails the test.

CI runs a short slice. The long run (figures in notes/reliability.md):

    NRCODEC_FUZZ_EXAMPLES=100000 .venv/bin/pytest -q tests/test_fuzz_readers.py -k nri
"""

from __future__ import annotations

import contextlib
import os
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nrcodec.errors import NrcodecError
from nrcodec.format.chunks import frame, read_chunks
from nrcodec.image.codec import Codec, decode_image, encode_image
from nrcodec.image.models import Architecture, model_class
from nrcodec.image.versions import finalize, new_base
from nrcodec.media.images import read_image
from nrcodec.media.video import read_video, write_video
from nrcodec.video.archive import Archive

EXAMPLES = int(os.environ.get("NRCODEC_FUZZ_EXAMPLES", "25"))
"""Examples per reader; the default is CI's short slice."""
DEADLINE = timedelta(seconds=20)
MEMORY_LIMIT = 256 << 20
ROOT = Path(__file__).resolve().parent
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=DEADLINE,
    database=None,
    derandomize="NRCODEC_FUZZ_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@st.composite
def mutated(draw: st.DrawFn, data: bytes, reframe: bool = True) -> bytes:
    """``data`` with one to four flips, cuts, insertions or deletions, or (``reframe``) the same
    inside one chunk that is then framed again with a correct CRC."""
    if reframe and draw(st.booleans()):
        chunks = read_chunks(data)
        chunk = draw(st.sampled_from(chunks))
        payload = _mutate(draw, chunk.payload)
        return data[: chunk.offset] + frame(chunk.tag, payload) + data[chunk.offset + chunk.size :]
    return _mutate(draw, data)


def _mutate(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(("flip", "flip", "cut", "insert", "delete")))
        pos = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut":
            del out[pos:]
        elif kind == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=64))
        else:
            del out[pos : pos + draw(st.integers(1, 64))]
    return bytes(out)


@pytest.fixture(scope="module")
def codec_and_bitstream() -> tuple[bytes, bytes]:
    """An untrained codec file of a small factorized model (one version) and a bitstream it made."""
    small = Architecture("factorized", model_class("factorized").Params.from_json({"width": 8}, "fuzz"))
    codec = Codec.create(finalize(new_base(small, seed=1), {}))
    image = read_image(ROOT.parent / "samples" / "images" / "bunny.png")[:40, :56]
    return codec.to_bytes(), encode_image(codec, image).data


@pytest.fixture(scope="module")
def y4m(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    clip = read_video(ROOT.parent / "samples" / "closeup.mp4", max_frames=3)
    path = tmp_path_factory.mktemp("y4m") / "clip.y4m"
    write_video(np.ascontiguousarray(clip.frames[:, :24, :32]), clip.fps, path)
    return path.read_bytes()


@pytest.fixture
def bounded() -> Iterator[Callable[[Callable[[], object]], None]]:
    """Run a reader: only nrcodec errors may escape, and it may not allocate over MEMORY_LIMIT more
    than was held before it ran (hypothesis keeps what it explored, which grows over a long run)."""
    tracemalloc.start()

    def run(read: Callable[[], object]) -> None:
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        with contextlib.suppress(NrcodecError):
            read()
        peak = tracemalloc.get_traced_memory()[1] - held
        assert peak < MEMORY_LIMIT, f"reader allocated {peak} bytes"

    yield run
    tracemalloc.stop()


@FUZZ
@given(data=st.data())
def test_fuzz_nrc_archive_reader(data: st.DataObject, tmp_path: Path, bounded: Callable) -> None:
    source = (ROOT / "fixtures" / "v1" / "spacenet-sinusoidal.nrc").read_bytes()
    path = tmp_path / "fuzz.nrc"
    path.write_bytes(data.draw(mutated(source)))
    bounded(lambda: Archive.open(path).describe())


@FUZZ
@given(data=st.data())
def test_fuzz_nic_codec_reader(
    data: st.DataObject, codec_and_bitstream: tuple[bytes, bytes], bounded: Callable
) -> None:
    mutant = data.draw(mutated(codec_and_bitstream[0]))

    def read() -> None:
        codec = Codec.from_bytes(mutant)
        for vid in range(len(codec.versions)):
            codec.model(vid)

    bounded(read)


@FUZZ
@given(data=st.data())
def test_fuzz_nri_bitstream_reader(
    data: st.DataObject, codec_and_bitstream: tuple[bytes, bytes], bounded: Callable
) -> None:
    codec = Codec.from_bytes(codec_and_bitstream[0])
    stream = data.draw(mutated(codec_and_bitstream[1]))
    bounded(lambda: decode_image(codec, stream))


@FUZZ
@given(data=st.data())
def test_fuzz_y4m_reader(data: st.DataObject, y4m: bytes, tmp_path: Path, bounded: Callable) -> None:
    path = tmp_path / "fuzz.y4m"
    path.write_bytes(data.draw(mutated(y4m, reframe=False)))
    bounded(lambda: read_video(path))
