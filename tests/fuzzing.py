"""What the fuzz harness mutates and how: the readers of untrusted bytes and their seed files.

One mutation routine, driven by a ``random.Random``, serves two drivers: hypothesis in
``tests/test_fuzz_readers.py`` (CI's short slice; it hands over a random it controls, so failures
shrink) and the seeded loop of ``tests/fuzz_run.py``, which ``bin/fuzz`` runs (the long run: about
ten times faster per input, and input ``n`` of a reader is always ``mutate(source, Random(n))``, so
a failure is replayed by its seed).

Mutations: one to four bit flips, cuts, inserted or deleted bytes; half the time inside one chunk
that is then framed again with a correct CRC, so they get past the framing into the record and
session decoders.
"""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nrcodec.errors import NrcodecError
from nrcodec.format.chunks import frame, read_chunks
from nrcodec.image.codec import Codec, decode_image, encode_image
from nrcodec.image.models import Architecture, model_class
from nrcodec.image.versions import finalize, new_base
from nrcodec.media.images import read_image
from nrcodec.media.video import read_video, write_video
from nrcodec.video.archive import Archive

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_S = 20
"""Seconds one input may take."""
MEMORY_LIMIT = 256 << 20
"""Bytes a reader may allocate (tracemalloc: Python and numpy buffers) beyond what was held before."""


@dataclass(frozen=True)
class Target:
    """One reader and the real file its inputs are mutated from."""

    source: bytes
    read: Callable[[bytes], object]
    chunked: bool
    """The source is a chunk container (.nrc, .nic, .nri): mutate inside chunks too."""


def mutate(data: bytes, rng: random.Random, chunked: bool) -> bytes:
    """``data`` with one to four flips, cuts, insertions or deletions, or (``chunked``, half the time)
    the same inside one chunk that is then framed again with a correct CRC."""
    if chunked and rng.random() < 0.5:
        chunk = rng.choice(read_chunks(data))
        payload = _edit(chunk.payload, rng)
        return data[: chunk.offset] + frame(chunk.tag, payload) + data[chunk.offset + chunk.size :]
    return _edit(data, rng)


def _edit(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.choice(("flip", "flip", "cut", "insert", "delete"))
        pos = rng.randint(0, max(len(out) - 1, 0))
        if kind == "flip" and out:
            out[pos] ^= 1 << rng.randint(0, 7)
        elif kind == "cut":
            del out[pos:]
        elif kind == "insert":
            out[pos:pos] = rng.randbytes(rng.randint(1, 64))
        else:
            del out[pos : pos + rng.randint(1, 64)]
    return bytes(out)


def run_bounded(read: Callable[[], object]) -> NrcodecError | None:
    """Run a reader under an active tracemalloc and return the nrcodec error it raised (None: the
    mutant was read). Any other exception escapes; allocating MEMORY_LIMIT more than was held
    before it ran fails."""
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    refused = None
    try:
        read()
    except NrcodecError as err:
        refused = err
    peak = tracemalloc.get_traced_memory()[1] - held
    assert peak < MEMORY_LIMIT, f"reader allocated {peak} bytes"
    return refused


def targets(scratch: Path) -> dict[str, Target]:
    """Every reader of untrusted bytes, by name; files a reader needs on disk go to ``scratch``."""
    small = Architecture("factorized", model_class("factorized").Params.from_json({"width": 8}, "fuzz"))
    codec = Codec.create(finalize(new_base(small, seed=1), {}))
    image = read_image(ROOT / "samples" / "images" / "bunny.png")[:40, :56]
    clip = read_video(ROOT / "samples" / "closeup.mp4", max_frames=3)
    y4m = scratch / "clip.y4m"
    write_video(np.ascontiguousarray(clip.frames[:, :24, :32]), clip.fps, y4m)

    def read_nic(data: bytes) -> None:
        mutant = Codec.from_bytes(data)
        for vid in range(len(mutant.versions)):
            mutant.model(vid)

    return {
        "nrc": Target(
            (ROOT / "tests" / "fixtures" / "v1" / "spacenet-sinusoidal.nrc").read_bytes(),
            lambda data: Archive.open(_written(scratch / "fuzz.nrc", data)).describe(),
            chunked=True,
        ),
        "nrc2": Target(
            (ROOT / "tests" / "fixtures" / "v2" / "grow.nrc").read_bytes(),
            lambda data: Archive.open(_written(scratch / "fuzz2.nrc", data)).describe(),
            chunked=True,
        ),
        "nic": Target(codec.to_bytes(), read_nic, chunked=True),
        "nri": Target(encode_image(codec, image).data, lambda data: decode_image(codec, data), chunked=True),
        "y4m": Target(y4m.read_bytes(), lambda data: read_video(_written(scratch / "fuzz.y4m", data)), chunked=False),
    }


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
