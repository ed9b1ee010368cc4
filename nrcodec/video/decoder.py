"""Frozen supernet → frames: install a session's dense tensors and mask, run batches, crop back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch

from nrcodec.errors import InputError
from nrcodec.format.session import SessionRecord
from nrcodec.video.frames import Placement, to_source
from nrcodec.video.freezer import write_positions
from nrcodec.video.model import Supernet
from nrcodec.video.strategies import Recall

DECODE_BATCH = 8


def placement_of(record: SessionRecord, canvas: tuple[int, int]) -> Placement:
    return Placement.from_json(record.meta["placement"], canvas, "session")


class Decoder:
    """Decodes sessions of one supernet. Masks are installed per decode, so the effective weights
    are computed once per layer and cached for all batches."""

    def __init__(self, model: Supernet) -> None:
        self.model = model
        self.canvas = model.arch.canvas

    def load_dense(self, record: SessionRecord) -> None:
        """Put a session's head, biases and IDs into the model."""
        self.model.prepare(record.frames, 0)
        for n, tensor in self.model.session_tensors().items():
            write_positions(tensor, np.ones(tensor.numel(), dtype=bool), record.dense[n])

    def recall(self, records: list[SessionRecord], session: int) -> Recall:
        """Session ``session`` as the current weights replay it, with its own dense tensors."""
        record = records[session - 1]
        names = self.model.session_parameter_names()
        dense = {}
        for n, tensor in self.model.session_tensors().items():
            stored = record.dense[n]
            values = stored.dequantize(np.zeros(stored.q.size, dtype=np.int64))
            dense[names[n]] = torch.from_numpy(values).view(-1, *tensor.shape[1:]).to(tensor.device)
        return Recall(session, record.frames, placement_of(record, self.canvas), dense)

    def decode(
        self,
        records: list[SessionRecord],
        session: int,
        frames: tuple[int, int | None] = (0, None),
        subnetwork: int | None = None,
    ) -> np.ndarray:
        """Frames ``start:stop`` of ``session`` (1-based) as uint8 (T, H, W, 3) at the source size.

        ``subnetwork`` makes another session's subnetwork (its mask, head and biases) produce them:
        the cells of the transfer matrix.
        """
        for number in (session, subnetwork or session):
            if not 1 <= number <= len(records):
                raise InputError(f"session {number} does not exist; the library has {len(records)} sessions")
        record = records[session - 1]
        owner = records[(subnetwork or session) - 1]
        self.load_dense(owner)
        layers = self.model.masked_layers()
        for n, layer in layers.items():
            layer.fix_mask(torch.from_numpy(owner.layers[n].mask).view_as(layer.weight))
        try:
            return decode_frames(self.model, session, record.frames, placement_of(record, self.canvas), frames)
        finally:
            for layer in layers.values():
                layer.fix_mask(None)


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
