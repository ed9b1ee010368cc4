"""nrcodec: a growing video library in one neural file, and a learned image codec that adapts
without forgetting.

The Python surface (``__all__``, pinned by tests/test_api.py, documented in docs/api.md):
``open`` / ``create`` an archive (``VideoArchive``: ``sessions``, ``decode``, ``iter_frames``,
``add``), ``read_video`` and ``psnr`` to compare with a source, ``sample`` for the clips shipped in the
package, and ``nrcodec.image`` (``encode``, ``decode``, ``codec_versions``) for images in memory.
Every error is an ``NrcodecError``. Names load on first use, so ``import nrcodec`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "NrcodecError",
    "Session",
    "VideoArchive",
    "__version__",
    "create",
    "image",
    "open",
    "psnr",
    "read_video",
    "sample",
]

_LAZY = {
    "NrcodecError": "nrcodec.errors",
    "Session": "nrcodec.api",
    "VideoArchive": "nrcodec.api",
    "create": "nrcodec.api",
    "open": "nrcodec.api",
    "sample": "nrcodec.api",
    "psnr": "nrcodec.metrics",
    "read_video": "nrcodec.media.video",
}

if TYPE_CHECKING:
    from nrcodec import image
    from nrcodec.api import Session, VideoArchive, create, open, sample
    from nrcodec.errors import NrcodecError
    from nrcodec.media.video import read_video
    from nrcodec.metrics import psnr


def __getattr__(name: str) -> Any:  # noqa: V103  (Python calls it for a missing module attribute, PEP 562)
    if name == "image":
        return importlib.import_module("nrcodec.image")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nrcodec' has no attribute {name!r}")
