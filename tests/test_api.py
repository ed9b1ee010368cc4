"""The Python surface: its names are pinned, its doc page and the README's script run as written,
and a wheel built from the checkout installs into a fresh virtual environment and works from outside
the repository."""

from __future__ import annotations

import doctest
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pytest

import nrcodec
from nrcodec.errors import InputError, UsageError

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = [
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


def readme_script() -> str:
    """The ```python block of the README's "Python" section."""
    section = (ROOT / "README.md").read_text().split("\n## Python\n", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``out/library.nrc`` as ./bin/demo makes it, at a tiny budget: bunny, then closeup (made once)."""
    folder = tmp_path_factory.mktemp("demo")
    (folder / "out").mkdir()
    archive = nrcodec.create(folder / "out" / "library.nrc")
    for name in ("bunny.mp4", "closeup.mp4"):
        clip = nrcodec.read_video(nrcodec.sample(name), max_frames=8)
        archive.add(clip.frames, name=clip.name, fps=clip.fps, epochs=1, quality=1)
    return folder / "out" / "library.nrc"


def test_the_public_surface_is_pinned() -> None:
    """A rename is a deliberate change: this list, docs/api.md and the closing note change with it."""
    assert nrcodec.__all__ == PUBLIC
    for name in PUBLIC:
        assert getattr(nrcodec, name) is not None, name
    assert callable(nrcodec.image.encode) and callable(nrcodec.image.decode)
    assert (ROOT / "nrcodec" / "py.typed").is_file()


def test_import_nrcodec_stays_light() -> None:
    """The surface loads on first use: importing the package loads no torch."""
    code = "import sys, nrcodec; assert 'torch' not in sys.modules; nrcodec.open; assert 'torch' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_api_page_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctest.testfile(str(ROOT / "docs" / "api.md"), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


def test_the_readme_script_runs_on_the_demo_archive(demo: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", readme_script()], cwd=demo.parent.parent, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("session 1 'bunny': 8 frames 320x180") and lines[1].startswith("session 2 'closeup'")
    assert re.match(r"session 1 decoded \(8, 180, 320, 3\): PSNR \d+\.\d\d dB against its source", lines[2])
    assert re.match(r"frame 0 as an image: \d+ B \(\d\.\d{3} bpp\), PSNR \d+\.\d\d dB", lines[3])


def test_errors_are_nrcodec_errors(demo: Path, tmp_path: Path) -> None:
    archive = demo
    with pytest.raises(UsageError, match=r"exists; open it with nrcodec\.open"):
        nrcodec.create(archive)
    with pytest.raises(UsageError, match="no setting learning_rate"):
        nrcodec.open(archive).add(np.zeros((2, 16, 16, 3), np.uint8), learning_rate=1.0)
    with pytest.raises(UsageError, match="not a non-empty range"):
        nrcodec.open(archive).decode(1, slice(0, 8, 2))
    with pytest.raises(InputError, match="frames must be a non-empty"):
        nrcodec.open(archive).add(np.zeros((2, 16, 16), np.uint8), epochs=1)
    with pytest.raises(InputError, match=r"its folder .* does not exist"):
        nrcodec.create(tmp_path / "missing" / "lib.nrc")
    with pytest.raises(UsageError, match="no sample"):
        nrcodec.sample("nope.mp4")
    assert [s.number for s in nrcodec.open(archive).sessions] == [1, 2], "a refused add wrote nothing"


def test_iterating_frames_gives_what_decode_gives(demo: Path) -> None:
    archive = nrcodec.open(demo)
    whole = archive.decode(2)
    assert np.array_equal(np.stack(list(archive.iter_frames(2))), whole)
    assert np.array_equal(archive.decode(2, slice(-3, None)), whole[-3:])


def _fresh_venv(folder: Path) -> Path:
    """A new virtual environment that borrows the installed dependencies (torch, PyAV...) through a
    .pth file, so nothing is downloaded; nrcodec itself is not in it."""
    venv.create(folder, with_pip=False)
    python = folder / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    Path(purelib, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def test_a_wheel_installs_in_a_fresh_environment_and_works_outside_the_repository(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, ROOT], check=True)
    (wheel,) = dist.glob("nrcodec-*.whl")
    python = _fresh_venv(tmp_path / "env")
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], check=True)
    outside = tmp_path / "elsewhere"
    (outside / "out").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    nrcodec_cli = tmp_path / "env" / "bin" / "nrcodec"

    def run(*args: object) -> str:
        done = subprocess.run([*map(str, args)], cwd=outside, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    where = run(python, "-c", "import nrcodec, nrcodec.image as i; print(nrcodec.__file__, i.DEFAULT_CODEC.is_file())")
    assert str(tmp_path / "env") in where and where.strip().endswith("True"), where
    assert re.fullmatch(r"nrcodec \S+ \(torch \S+, PyAV \S+\)\n", run(nrcodec_cli, "--version"))
    info = run(nrcodec_cli, "info", ROOT / "tests" / "fixtures" / "v2" / "grow.nrc", "--json")
    assert '"strategy": "grow"' in info
    for name in ("bunny.mp4", "closeup.mp4"):
        clip = run(python, "-c", f"import nrcodec; print(nrcodec.sample({name!r}))").strip()
        run(nrcodec_cli, "add-video", "out/library.nrc", clip, "--epochs", "1", "--quality", "1", "--max-frames", "8")
    assert run(python, "-c", readme_script()).startswith("session 1 'bunny': 8 frames 320x180")
