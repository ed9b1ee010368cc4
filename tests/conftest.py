"""Shared fixtures: real frames from the sample clips (Big Buck Bunny, CC-BY Blender Foundation).

No torch here: the format/ and media/ tests run without it. Tests that train use at most two CPU
threads, through ``OMP_NUM_THREADS`` (which torch reads when it is first imported), unless the
environment already sets it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from nrcodec.media.video import read_video

os.environ.setdefault("OMP_NUM_THREADS", "2")
if "torch" in sys.modules:  # imported before this file, by a plugin: too late for the variable
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
CLIPS = ("bunny", "meadow", "closeup")


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def clips() -> dict[str, np.ndarray]:
    """The three sample clips' first 16 frames: 320x180, 240x180 and 144x192."""
    return {name: read_video(SAMPLES / f"{name}.mp4", max_frames=16).frames for name in CLIPS}


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Torch on one thread for the test: the fixtures' pixel hashes were taken on one thread
    (tests/fixtures/image/README.md). torch is imported here, not at the top, to keep this file
    torch-free for the format/ and media/ tests."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
