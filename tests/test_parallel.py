"""Data-parallel training under torchrun (gloo on CPU): one session trained by two processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from nrcodec import parallel
from nrcodec.errors import NrcodecError
from nrcodec.media.video import read_video
from nrcodec.metrics import psnr
from nrcodec.video.archive import Archive

TORCHRUN = Path(sys.executable).with_name("torchrun")
CLIP = ("--max-frames", "7", "--epochs", "10")
"""7 frames in batches of 4: the last batch of 3 leaves the two ranks 2 and 1 frames."""


def _add(archive: Path, source: Path, processes: int, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    args = [str(archive), str(source), *CLIP, "--json", *options]
    if processes == 1:
        command = [sys.executable, "-m", "nrcodec", "add-video", *args]
    else:
        command = [str(TORCHRUN), "--standalone", f"--nproc-per-node={processes}", "-m", "nrcodec", "add-video", *args]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return run, json.loads(run.stdout)


@pytest.mark.parametrize(("strategy", "options"), [("grow", ("--quality", "1")), ("pnr", ("--preset", "tiny"))])
def test_two_processes_train_one_session_and_rank_0_alone_writes(
    tmp_path: Path, samples: Path, strategy: str, options: tuple[str, ...]
) -> None:
    source = samples / "bunny.mp4"
    _, alone = _add(tmp_path / "one.nrc", source, 1, "--strategy", strategy, *options)
    run, together = _add(tmp_path / "two.nrc", source, 2, "--strategy", strategy, *options)
    assert together["world_size"] == 2 and alone["world_size"] == 1
    assert abs(together["psnr"] - alone["psnr"]) <= 0.5
    assert run.stderr.count("session 1 'bunny'") == 1, "only rank 0 prints"

    archive = Archive.open(tmp_path / "two.nrc")
    assert len(archive.library.records) == 1
    frames = read_video(source, max_frames=7).frames
    assert psnr(frames, archive.library.decode(1)) == pytest.approx(together["psnr"], abs=1e-3)


def test_a_parallel_session_leaves_the_earlier_one_bit_exact(tmp_path: Path, samples: Path) -> None:
    path = tmp_path / "lib.nrc"
    _add(path, samples / "bunny.mp4", 1, "--strategy", "pnr", "--preset", "tiny")
    before = Archive.open(path).library.decode(1)
    first_bytes = path.read_bytes()
    _, second = _add(path, samples / "meadow.mp4", 2)
    assert second["session"] == 2
    assert path.read_bytes()[: len(first_bytes)] == first_bytes
    after = Archive.open(path)
    assert np.array_equal(after.library.decode(1), before)
    assert after.library.decode(2).shape[0] == 7


def test_other_commands_refuse_to_run_under_torchrun(tmp_path: Path) -> None:
    env = {**os.environ, "WORLD_SIZE": "2"}
    run = subprocess.run(
        [sys.executable, "-m", "nrcodec", "info", str(tmp_path / "x.nrc")], capture_output=True, text=True, env=env
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "error: nrcodec info runs in one process; run it without torchrun (only add-video trains in parallel)"
    ]


def test_a_batch_is_shared_so_that_averaged_gradients_are_the_whole_batch_s() -> None:
    batch = torch.arange(5)
    shares = [parallel.shard(batch, parallel.World(rank, 2)) for rank in range(2)]
    assert [s[0].tolist() for s in shares] == [[0, 2, 4], [1, 3]]
    assert sum(weight for _, weight in shares) / 2 == pytest.approx(1.0)
    idx, weight = parallel.shard(torch.arange(1), parallel.World(1, 2))
    assert idx.tolist() == [0] and weight == 0.0


def _diverge(rank: int, store: str, results: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 4)
    if rank == 1:
        with torch.no_grad():
            model.weight[0, 0] += 1e-6
    try:
        parallel.check_identical(model, parallel.current())
        outcome = "passed"
    except NrcodecError as exc:
        outcome = str(exc)
    Path(f"{results}.{rank}").write_text(outcome)
    dist.destroy_process_group()


def test_ranks_whose_weights_differ_are_caught_before_anything_is_written(tmp_path: Path) -> None:
    results = tmp_path / "outcome"
    mp.spawn(_diverge, args=(str(tmp_path / "store"), str(results)), nprocs=2)
    for rank in range(2):
        assert "ended with different weights" in Path(f"{results}.{rank}").read_text()
