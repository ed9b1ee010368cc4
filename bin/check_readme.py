"""Run every usage line of README.md as written, in order, in one new shell in a scratch folder.

Usage lines are the lines of ```sh blocks and the ``$ ``-prompted lines of other blocks. The set-up
commands (./bin/demo, ./bin/test) are not re-run: CI runs them itself. A block right after the
comment ``<!-- check-readme: slow -->`` (the benchmarks, tens of minutes) runs only with --all.

The scratch folder sees the repository's samples/, .venv/ and the script folders data/, release/ and
research/ (as links), and an empty docs/, so the lines run exactly as a user types them after the
set-up, without touching the repository. When the machine has no ffmpeg, the binary of the
imageio-ffmpeg package (a dev extra) stands in for it.

    python bin/check_readme.py          # every usage line but the slow blocks
    python bin/check_readme.py --all    # every usage line
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = ("./bin/demo", "./bin/test")
LINKED = ("samples", ".venv", "data", "release", "research")
"""What the scratch folder links to: the samples, the set-up's venv and the scripts usage lines name."""
SLOW_MARK = "<!-- check-readme: slow -->"
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class UsageLine:
    """One command of the README and the line it starts on."""

    number: int
    command: str
    slow: bool


def usage_lines(readme: str) -> list[UsageLine]:
    """The README's commands in order; continuation lines (ending in a backslash) are joined."""
    found: list[UsageLine] = []
    language: str | None = None
    slow, previous, pending, start = False, "", "", 0
    for number, line in enumerate(readme.splitlines(), start=1):
        fence = FENCE.match(line)
        if fence:
            language, slow = (fence[1], previous == SLOW_MARK) if language is None else (None, False)
            previous = ""
            continue
        if language is None:
            previous = line.strip() or previous
            continue
        if pending or language == "sh":
            text = line.strip()
        elif line.startswith("$ "):
            text = line[2:].strip()
        else:
            continue
        if not pending and (not text or text.startswith("#")):
            continue
        start = start if pending else number
        if text.endswith("\\"):
            pending += text[:-1].rstrip() + " "
            continue
        command = re.sub(r"\s+#\s.*$", "", pending + text)
        pending = ""
        if command.split()[0] not in SETUP:
            found.append(UsageLine(start, command, slow))
    return found


def scratch_folder() -> Path:
    """A folder that looks like the repository after set-up, for the lines to run in."""
    folder = Path(tempfile.mkdtemp(prefix="nrcodec-readme-"))
    for name in LINKED:
        (folder / name).symlink_to(ROOT / name)
    (folder / "docs").mkdir()
    return folder


def shell_env(folder: Path) -> dict[str, str]:
    """A new login-like shell's environment: no venv on the PATH; ffmpeg found or provided. The
    caller's OMP_NUM_THREADS is kept; without it the commands use their default thread count."""
    env = {k: os.environ[k] for k in ("HOME", "LANG", "TMPDIR", "OMP_NUM_THREADS") if k in os.environ}
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin").replace(str(ROOT / ".venv" / "bin") + os.pathsep, "")
    if shutil.which("ffmpeg", path=env["PATH"]) is None:
        import imageio_ffmpeg

        tools = folder / ".tools"
        tools.mkdir()
        (tools / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
        env["PATH"] = f"{tools}{os.pathsep}{env['PATH']}"
    return env


def script(lines: list[UsageLine]) -> str:
    """One bash script: each line announced, run, and on failure named before the shell stops."""
    body = ["set -o pipefail"]
    for line in lines:
        body.append(f"printf '\\n::: README line %d: %s\\n' {line.number} {shell_quote(line.command)} >&2")
        body.append(f"{line.command} || {{ echo '::: FAILED: README line {line.number}' >&2; exit 1; }}")
    return "\n".join(body) + "\n"


def shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", help="also the slow blocks (benchmarks)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    lines = [u for u in usage_lines((ROOT / "README.md").read_text()) if args.all or not u.slow]
    folder = scratch_folder()
    start = time.perf_counter()
    try:
        done = subprocess.run(["bash", "-c", script(lines)], cwd=folder, env=shell_env(folder), check=False)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    verdict = "passed" if done.returncode == 0 else "failed"
    print(f"{len(lines)} README usage lines {verdict} in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
