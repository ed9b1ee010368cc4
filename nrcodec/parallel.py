"""Data-parallel training of one session under torchrun (torch.distributed; no scheduler of our own).

torchrun starts N copies of a command and sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and the
rendezvous address; ``join`` turns them into a process group (gloo on CPU, nccl on CUDA). Every
rank reads the same archive and clip, builds the same seeded model and walks the same frame order;
each takes its share of every batch (``shard``) and DistributedDataParallel averages the gradients,
so weights, masks and strategy state stay identical. ``check_identical`` proves that before rank 0,
the only writer, stores the session. A time budget ends on rank 0's clock (``elapsed``), so every
rank stops after the same step.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from nrcodec.errors import NrcodecError, UsageError

TIMEOUT = timedelta(minutes=30)
"""How long a rank waits for the others at a collective (the slowest rank may still be reading)."""


@dataclass(frozen=True)
class World:
    """This process's place among the ones torchrun started (rank 0 of 1 without torchrun)."""

    rank: int = 0
    size: int = 1

    @property
    def main(self) -> bool:
        """Rank 0: the one that writes files and prints."""
        return self.rank == 0


def current() -> World:
    """The process group this process is in, or a world of one."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    if not text:
        return default
    if not text.isdigit():
        raise UsageError(f"{name}={text!r} is not a number; start parallel runs with torchrun")
    return int(text)


def join(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun set up (nothing to do without torchrun); return the world
    and the device this rank computes on (``cuda:LOCAL_RANK`` on a multi-GPU machine)."""
    size = _env_int("WORLD_SIZE", 1)
    if size <= 1 or current().size > 1:
        return current(), device
    if device.type == "cuda":
        device = torch.device("cuda", _env_int("LOCAL_RANK", 0) % torch.cuda.device_count())
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise UsageError(f"data-parallel training runs on cpu or cuda, not {device.type}; use --device cpu")
    dist.init_process_group(backend, timeout=TIMEOUT)
    return current(), device


def leave() -> None:
    """Close the process group, if any, so the process exits cleanly."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def refuse(command: str) -> None:
    """Commands other than add-video run in one process: two would write the same output."""
    if _env_int("WORLD_SIZE", 1) > 1:
        raise UsageError(f"{command} runs in one process; run it without torchrun (only add-video trains in parallel)")


def wrap(model: torch.nn.Module, world: World) -> torch.nn.Module:
    """The module to call in training: ``model`` itself, or it under DistributedDataParallel."""
    if world.size == 1:
        return model
    device = next(model.parameters()).device
    return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)


def barrier(world: World) -> None:
    """Wait until every rank gets here."""
    if world.size > 1:
        dist.barrier()


def shard(batch: torch.Tensor, world: World) -> tuple[torch.Tensor, float]:
    """This rank's frames of a batch (every size-th one) and the weight of its loss, such that the
    gradients DDP averages are those of the whole batch's mean loss. A rank left without a frame (a
    short last batch) runs the batch's first one at weight 0, because every rank must take part."""
    mine = batch[world.rank :: world.size]
    if len(mine) == 0:
        return batch[:1], 0.0
    return mine, len(mine) * world.size / len(batch)


def elapsed(start: float, world: World) -> float:
    """Seconds since ``start`` by rank 0's clock, the same on every rank."""
    seconds = time.perf_counter() - start
    if world.size == 1:
        return seconds
    value = torch.tensor([seconds], dtype=torch.float64)
    dist.broadcast(value, 0)
    return float(value)


def total(values: list[float], world: World) -> list[float]:
    """Sums of ``values`` over every rank (running loss and error of an epoch)."""
    if world.size == 1:
        return values
    summed = torch.tensor(values, dtype=torch.float64)
    dist.all_reduce(summed)
    return summed.tolist()


def agree(value: Any, world: World) -> Any:
    """Rank 0's ``value`` on every rank (a decision that timing could make differ, e.g. quality)."""
    if world.size == 1:
        return value
    box = [value]
    dist.broadcast_object_list(box, 0)
    return box[0]


def check_identical(model: torch.nn.Module, world: World) -> None:
    """Raise if any rank's parameters or buffers differ from rank 0's after training."""
    if world.size == 1:
        return
    digest = hashlib.sha256()
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digests: list[Any] = [None] * world.size
    dist.all_gather_object(digests, digest.hexdigest())
    if len(set(digests)) != 1:
        raise NrcodecError(
            f"the {world.size} training processes ended with different weights; nothing was written "
            "(train in one process, and please report this)"
        )
