"""Training on patches: a window of a frame computes what the whole frame gives there (to float
rounding: smaller kernels sum in another order), and a large-frame session trains on patches and
still decodes whole frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nrcodec.video.frames import Placement
from nrcodec.video.grow.budget import patches_for
from nrcodec.video.grow.library import GrowLibrary
from nrcodec.video.grow.network import SessionNet, layout
from nrcodec.video.grow.settings import GrowSettings
from nrcodec.video.patches import Patches, Window
from nrcodec.video.records import LibraryConfig


@pytest.mark.parametrize("source", [(640, 272), (1280, 720), (176, 144)])
def test_a_window_gives_the_pixels_of_the_whole_frame(source: tuple[int, int]) -> None:
    arch = layout(source, 8, 2)
    torch.manual_seed(0)
    net = SessionNet(arch, 5).eval()
    scale = int(np.prod(arch.strides))
    (fh, fw), generator = arch.feature, torch.Generator().manual_seed(1)
    windows = [Window(0, 2, 0, 3), Window(fh - 2, fh, fw - 3, fw)]
    windows += [Patches((3, 3), (fh, fw), scale).draw(generator) for _ in range(4)]
    with torch.no_grad():
        whole = net(1, torch.arange(3), 8)
        for window in windows:
            top, bottom, left, right = window.pixels(scale)
            part = net(1, torch.arange(3), 8, window)
            assert torch.allclose(part, whole[:, :, top:bottom, left:right], atol=1e-5), window


def test_only_large_frames_train_on_patches() -> None:
    assert patches_for(layout((320, 180), 120, 4)) is None, "small clips train as before"
    large = patches_for(layout((1280, 720), 30, 4))
    assert large is not None and large.per_pass >= 4


def test_patch_targets_are_the_frame_under_the_window() -> None:
    patches = Patches((2, 2), (9, 16), 80)
    placement = Placement.compute((1270, 710), (1280, 720))
    (oy, ox), (ty, tx) = patches.targets(Window(0, 2, 14, 16), placement)
    assert (oy.stop - oy.start, ox.stop - ox.start) == (ty.stop - ty.start, tx.stop - tx.start)
    assert ty.start == 0 and tx.stop == 1270, "the window is clipped to the frame's place on the canvas"


def test_a_large_frame_session_trains_on_patches_and_decodes_whole(clips: dict[str, np.ndarray]) -> None:
    frames = np.ascontiguousarray(np.repeat(np.repeat(clips["bunny"][:4], 2, axis=1), 2, axis=2))  # 640x360
    library = GrowLibrary(LibraryConfig())
    result = library.add_session(frames, "large", 25.0, GrowSettings(epochs=2, quality=1))
    decoded = library.decode(1)
    assert decoded.shape == frames.shape and result.info.psnr > 10
    assert result.info.training["epochs_run"] == 2
