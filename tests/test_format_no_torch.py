"""format/ and media/ never import torch: they stay fast to test and usable without it."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib, pkgutil, sys
import nrcodec.format, nrcodec.media
names = [
    f"{package.__name__}.{module.name}"
    for package in (nrcodec.format, nrcodec.media)
    for module in pkgutil.iter_modules(package.__path__)
]
for name in names:
    importlib.import_module(name)
assert "nrcodec.format.chunks" in sys.modules and "nrcodec.media.video" in sys.modules, names
heavy = sorted(name for name in ("torch", "pytorch_msssim", "safetensors") if name in sys.modules)
print(len(names), "modules;", "imported:", heavy)
sys.exit(1 if heavy else 0)
"""


def test_format_and_media_import_no_torch() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
