"""Resumable training of image codecs: the whole state of a run in one safetensors file.

A long CPU run (hours) must survive being stopped. Every ``every`` steps :func:`save` writes the
model's parameters, both optimizers' moments, the random generators (torch's and the crop
sampler's), the recent steps' figures and the step reached, atomically, beside a JSON header that
names the run's settings and architecture. :func:`resume` refuses a checkpoint made
with other settings, so a resumed run is the run that was started. No pickle is read: tensors
come from safetensors, everything else from JSON.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as save_tensors

from nrcodec.errors import FormatError, InputError
from nrcodec.format.atomic import commit_bytes

KIND = "nrcodec image training checkpoint"
FORMAT = 1


@dataclass(frozen=True)
class Checkpoint:
    """Where a run keeps its state and how often (in steps) it writes it."""

    path: Path
    every: int = 200


@dataclass
class RecentSteps:
    """Figures (bpp, MSE, loss) of the last ``size`` steps: progress shows their means and the codec
    file stores them, so a resumed run must carry them over."""

    size: int
    rows: list[tuple[float, float, float]] = field(default_factory=list)

    def add(self, bpp: float, mse: float, loss: float) -> None:
        self.rows = [*self.rows[1 - self.size :], (bpp, mse, loss)]

    def means(self) -> tuple[float, float, float]:
        if not self.rows:
            return math.nan, math.nan, math.nan
        bpp, mse, loss = np.mean(self.rows, axis=0)
        return float(bpp), float(mse), float(loss)


@dataclass
class RunState:
    """What a training loop needs to continue exactly where it stopped."""

    model: torch.nn.Module
    optimizers: dict[str, torch.optim.Optimizer]
    rng: np.random.Generator
    recent: RecentSteps
    identity: dict[str, Any]
    """The run's settings and architecture: a checkpoint of another run is refused."""
    saved: int = 0
    """Steps done at the last save or resume: where an interrupted run continues from."""


def _optimizer_tensors(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{name}.{index}.{key}"] = value.contiguous()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def save(checkpoint: Checkpoint, run: RunState, step: int) -> None:
    """Write the run's state after ``step`` steps (atomically: a crash leaves the previous one)."""
    tensors = {f"model.{k}": v.detach().contiguous().cpu() for k, v in run.model.state_dict().items()}
    tensors["rng.torch"] = torch.get_rng_state()
    optimizers = {}
    for name, optimizer in run.optimizers.items():
        part, rest = _optimizer_tensors(name, optimizer)
        tensors.update({f"optim.{k}": v.cpu() for k, v in part.items()})
        optimizers[name] = rest
    header = {
        "kind": KIND,
        "format": FORMAT,
        "step": step,
        "identity": run.identity,
        "optimizers": optimizers,
        "rng": run.rng.bit_generator.state,
        "recent": run.recent.rows,
    }
    data = save_tensors(tensors, metadata={"nrcodec": json.dumps(header)})
    try:
        commit_bytes(checkpoint.path, data)
    except OSError as exc:
        raise InputError(f"cannot write checkpoint {checkpoint.path}: {exc.strerror or exc}") from None
    run.saved = step


def _read(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    if not path.is_file():
        raise InputError(f"cannot read checkpoint {path}: not a file")
    try:
        with safe_open(str(path), framework="pt") as handle:
            header = json.loads((handle.metadata() or {})["nrcodec"])
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not a dict)
    except OSError as exc:
        raise InputError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"{path}: not an {KIND} ({exc})") from None
    if not isinstance(header, dict) or header.get("kind") != KIND or header.get("format") != FORMAT:
        raise FormatError(f"{path}: not an {KIND} of format {FORMAT}")
    return header, tensors


def resume(checkpoint: Checkpoint, run: RunState) -> int:
    """Restore a run from its checkpoint; returns the steps already done (0 without a checkpoint)."""
    if not os.path.exists(checkpoint.path):
        return 0
    header, tensors = _read(checkpoint.path)
    if header["identity"] != run.identity:
        raise InputError(
            f"{checkpoint.path} belongs to a run with other settings; pass the same options to resume "
            "it, or remove it to start afresh"
        )
    try:
        run.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        for name, optimizer in run.optimizers.items():
            saved = header["optimizers"][name]
            state: dict[int, dict[str, Any]] = {}
            for key, value in tensors.items():
                if key.startswith(f"optim.{name}."):
                    index, field = key[len(f"optim.{name}.") :].split(".", 1)
                    state.setdefault(int(index), {})[field] = value
            for key, value in saved["scalars"].items():
                index, field = key.split(".", 1)
                state.setdefault(int(index), {})[field] = value
            optimizer.load_state_dict({"state": state, "param_groups": saved["param_groups"]})
        torch.set_rng_state(tensors["rng.torch"])
        run.rng.bit_generator.state = header["rng"]
        run.recent.rows = [(float(a), float(b), float(c)) for a, b, c in header.get("recent", [])]
    except (KeyError, ValueError, RuntimeError, TypeError) as exc:
        raise FormatError(f"{checkpoint.path}: checkpoint does not fit this run ({exc})") from None
    run.saved = int(header["step"])
    return run.saved


class TrainingStopped(InputError):
    """A checkpointed run was interrupted; its state is saved and it can be resumed."""


def save_if_due(checkpoint: Checkpoint | None, run: RunState, done: int, total: int) -> None:
    """Save after ``done`` of ``total`` steps when one is due (every ``checkpoint.every`` steps and at
    the end, so that the same command then finishes at once)."""
    if checkpoint is not None and (done % checkpoint.every == 0 or done == total):
        save(checkpoint, run, done)


@contextmanager
def resumable(checkpoint: Checkpoint | None, run: RunState) -> Iterator[None]:
    """An interrupted (Ctrl-C) run with a checkpoint on disk ends as a ``TrainingStopped`` naming the
    step it resumes from (the run's last save); a step cut in half is never saved."""
    try:
        yield
    except KeyboardInterrupt:
        if checkpoint and os.path.exists(checkpoint.path):
            raise TrainingStopped(
                f"interrupted; the same command resumes from step {run.saved} ({checkpoint.path})"
            ) from None
        raise


def images_digest(images: list[np.ndarray]) -> str:
    """SHA-256 of training images (shapes and pixels): part of a run's identity."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(repr(image.shape).encode())
        digest.update(np.ascontiguousarray(image).tobytes())
    return digest.hexdigest()
