"""Frames out of a NeRV, the same on any thread count: fixed batches, each on one thread.

Both library kinds decode through ``decode_frames``: a frame is always computed in the same batch
(``fixed_batches``) with single-threaded kernels (``single_threaded_ops``), and the caller's
threads decode batches side by side, so the frames depend on the stored weights alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch

from nrcodec.errors import InputError
from nrcodec.video.frames import Placement, to_source

DECODE_BATCH = 8


def decode_frames(
    model: Callable[[int, torch.Tensor, int], torch.Tensor],
    session: int,
    total: int,
    placement: Placement,
    frames: tuple[int, int | None] = (0, None),
) -> np.ndarray:
    """Frames ``start:stop`` (all when stop is None) of a session of ``total`` frames, as ``model``
    gives them, at the source size: in fixed batches, each on one thread, side by side."""
    start, stop = frames[0], total if frames[1] is None else frames[1]
    if not 0 <= start < stop <= total:
        raise InputError(f"frame range {start}:{stop} is outside session {session}'s {total} frames")
    with single_threaded_ops() as workers, ThreadPoolExecutor(workers) as pool:
        run = partial(_batch, model, session, total, placement)
        return np.concatenate(list(pool.map(run, fixed_batches(start, stop, total))))


def _batch(
    model: Callable[[int, torch.Tensor, int], torch.Tensor],
    session: int,
    total: int,
    placement: Placement,
    batch: tuple[torch.Tensor, slice],
) -> np.ndarray:
    index, keep = batch
    with torch.inference_mode():
        return to_source(model(session, index, total)[keep], placement)


def fixed_batches(start: int, stop: int, total: int) -> Iterator[tuple[torch.Tensor, slice]]:
    """(frame indices, the rows wanted) of every batch that frames ``start:stop`` fall in.

    Batch k always holds frames 8k..8k+7 (the last ones repeated past the end), so a frame is computed
    in the same batch whatever range is asked for: kernels may round differently with another batch.
    """
    for first in range(start - start % DECODE_BATCH, stop, DECODE_BATCH):
        index = torch.arange(first, first + DECODE_BATCH).clamp(max=total - 1)
        yield index, slice(max(start, first) - first, min(stop, first + DECODE_BATCH) - first)


@contextmanager
def single_threaded_ops() -> Iterator[int]:
    """Run torch's kernels on one thread each and yield how many threads the caller had.

    A kernel's floating-point sums are ordered by how it splits work between threads, so frames
    decoded with 1 and 2 threads differed in a few pixel values. Each batch runs on one thread, and
    the caller's threads decode batches side by side instead: the frames depend on the batches
    alone, never on the thread count.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield threads
    finally:
        torch.set_num_threads(threads)
