"""The GPU checks (issue: scale): run on a machine with CUDA, whenever one is available.

    python bin/gpu_checks.py --out out/gpu

On a machine with a CUDA build of torch 2.13 and nrcodec installed (``pip install -e .``), it writes
``out/gpu/gpu_checks.json`` and prints a summary:

1. speed: ``nrcodec bench speed --presets hd`` on CUDA: the hd preset's training step and decode fps,
   and a default grow session's training frames/s (fp32 and bf16) and decode fps, CPU beside CUDA;
2. CPU vs CUDA decode: a grow session trained on the GPU in bf16, and the format-2 test fixture,
   decoded on both devices: whether the frames are equal, else the largest difference and the
   PSNR of each against the source; the fixture also against the hashes it was made with (CPU);
3. DDP with nccl: ``torchrun --nproc-per-node N add-video`` with one process per GPU (needs 2 GPUs;
   with one it says so) against the same session in one process;
4. ``--compile``: the same session with torch.compile, its wall time against eager.

Nothing in the package or the tests needs a GPU; this script is how the GPU paths get checked.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "bunny.mp4"
FIXTURE = ROOT / "tests" / "fixtures" / "v2"
NRCODEC = [sys.executable, "-m", "nrcodec"]
TRAIN = ["--max-frames", "32", "--epochs", "60", "--quality", "3", "--json"]


def run(command: list[str], timeout: int = 900) -> dict[str, Any]:
    """Run a command that prints one JSON object; its object, or the error it ended with."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]}
    return json.loads(done.stdout)


def compare(cpu: np.ndarray, cuda: np.ndarray, source: np.ndarray | None) -> dict[str, Any]:
    """Equality of two decodes of one session, and how far apart they are when not equal."""
    from nrcodec.metrics import psnr

    diff = np.abs(cpu.astype(np.int16) - cuda.astype(np.int16))
    row: dict[str, Any] = {"equal": bool(diff.max() == 0), "max_abs_diff": int(diff.max())}
    row["pixels_differing"] = float((diff > 0).mean())
    if source is not None:
        row["psnr_cpu"], row["psnr_cuda"] = psnr(source, cpu), psnr(source, cuda)
    return row


def decode_both(path: Path, session: int) -> tuple[np.ndarray, np.ndarray]:
    from nrcodec.video.archive import Archive

    cpu = Archive.open(path, "cpu", sessions=session).library.decode(session)
    cuda = Archive.open(path, "cuda", sessions=session).library.decode(session)
    return cpu, cuda


def decode_checks(out: Path) -> dict[str, Any]:
    from nrcodec.media.video import read_video

    archive = out / "gpu.nrc"
    archive.unlink(missing_ok=True)
    trained = run([*NRCODEC, "add-video", str(archive), str(SAMPLE), *TRAIN, "--device", "cuda"])
    result: dict[str, Any] = {"trained_on_cuda": trained}
    if "error" not in trained:
        source = read_video(SAMPLE, 32).frames
        result["grow_session"] = compare(*decode_both(archive, 1), source)
    hashes = json.loads((FIXTURE / "decodes.json").read_text())["grow.nrc"]
    for session, expected in enumerate(hashes, start=1):
        cpu, cuda = decode_both(FIXTURE / "grow.nrc", session)
        row = compare(cpu, cuda, None)
        row["cuda_matches_cpu_hash"] = hashlib.sha256(cuda.tobytes()).hexdigest() == expected
        result[f"fixture_session_{session}"] = row
    return result


def ddp_check(out: Path) -> dict[str, Any]:
    gpus = torch.cuda.device_count()
    if gpus < 2:
        return {"skipped": f"{gpus} GPU: nccl needs one GPU per process, so DDP with nccl needs 2 or more"}
    alone, together = out / "ddp1.nrc", out / "ddp2.nrc"
    for path in (alone, together):
        path.unlink(missing_ok=True)
    one = run([*NRCODEC, "add-video", str(alone), str(SAMPLE), *TRAIN, "--device", "cuda"])
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={gpus}"]
    many = run([*torchrun, "-m", "nrcodec", "add-video", str(together), str(SAMPLE), *TRAIN, "--device", "cuda"])
    return {"gpus": gpus, "one_process": one, "torchrun": many}


def compile_check(out: Path) -> dict[str, Any]:
    rows = {}
    for name, extra in (("eager", []), ("compiled", ["--compile"])):
        path = out / f"{name}.nrc"
        path.unlink(missing_ok=True)
        rows[name] = run([*NRCODEC, "add-video", str(path), str(SAMPLE), *TRAIN, "--device", "cuda", *extra])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "gpu")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to check (run this on a GPU machine)", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 2) - 1)))
    results = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "speed": run([*NRCODEC, "bench", "speed", "--presets", "tiny,small,hd", "--device", "cuda", "--json"]),
        "decode": decode_checks(args.out),
        "ddp_nccl": ddp_check(args.out),
        "compile": compile_check(args.out),
    }
    (args.out / "gpu_checks.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
