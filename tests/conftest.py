"""Shared fixtures: real frames from the sample clips (Big Buck Bunny, CC-BY Blender Foundation)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from nrcodec.media.video import read_video

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
CLIPS = ("bunny", "meadow", "closeup")

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def clips() -> dict[str, np.ndarray]:
    """The three sample clips' first 16 frames: 320x180, 240x180 and 144x192."""
    return {name: read_video(SAMPLES / f"{name}.mp4", max_frames=16).frames for name in CLIPS}
