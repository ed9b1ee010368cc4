"""A video library in memory: the supernet plus the records of every session so far.

``add_session`` trains one video as a new session, freezes and quantizes what it made new and
returns its record; ``decode`` rebuilds any session's frames; ``Library.rebuild`` makes the
same library from records alone (what a fresh process does with an archive). With a forget-free
strategy, free weights are put back to their seeded initial values after every session, so adding
a session gives the same result whether the library was just trained or reopened from a file.
With a strategy that is not forget-free, a session records every weight it changed and every
session decodes with the latest weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from nrcodec.errors import FormatError, FrozenWeightError, InputError
from nrcodec.format.quant import GRANULARITIES, Quantized, quantize
from nrcodec.format.session import LayerRecord, SessionRecord, rows_of
from nrcodec.metrics import ms_ssim_video, psnr
from nrcodec.video.frames import Placement, to_source, to_training
from nrcodec.video.model import Architecture, Supernet
from nrcodec.video.strategies import Recall, SessionContext, make_strategy
from nrcodec.video.training import Progress, TrainSettings, run_session

DECODE_BATCH = 8


@dataclass(frozen=True)
class LibraryConfig:
    """Archive-wide settings, fixed when the library is created."""

    preset: str
    architecture: Architecture
    capacity: float = 0.3
    strategy: str = "pnr"
    strategy_options: dict[str, Any] = field(default_factory=dict)
    quantization: str = "tensor"
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.capacity <= 1:
            raise InputError(f"capacity must be in (0, 1], got {self.capacity}")
        if self.quantization not in GRANULARITIES:
            raise InputError(f"quantization must be one of {', '.join(GRANULARITIES)}")

    def to_json(self) -> dict[str, Any]:
        return {
            "preset": self.preset,
            "architecture": self.architecture.to_json(),
            "capacity": self.capacity,
            "strategy": self.strategy,
            "strategy_options": self.strategy_options,
            "quantization": self.quantization,
            "seed": self.seed,
        }

    @classmethod
    def from_json(cls, data: Any) -> LibraryConfig:
        try:
            config = cls(
                preset=str(data["preset"]),
                architecture=Architecture.from_json(data["architecture"]),
                capacity=float(data["capacity"]),
                strategy=str(data["strategy"]),
                strategy_options=dict(data["strategy_options"]),
                quantization=str(data["quantization"]),
                seed=int(data["seed"]),
            )
            make_strategy(config.strategy, **config.strategy_options)
        except (KeyError, TypeError, ValueError, InputError) as exc:
            raise FormatError(f"archive header: settings are malformed ({exc})") from None
        return config


@dataclass
class SessionResult:
    session: int
    record: SessionRecord
    psnr: float
    ms_ssim: float | None
    seconds: float
    notices: list[str]
    frozen_before: dict[str, np.ndarray]
    """The frozen set the session started from: what its chunk's mask coding is conditioned on."""


@dataclass
class Pending:
    """A session between ``start_session`` and ``finish_session``."""

    ctx: SessionContext
    placement: Placement
    frozen_before: dict[str, np.ndarray]
    snapshot: dict[str, torch.Tensor]


def resolve_device(name: str) -> torch.device:
    """'auto' picks CUDA, then MPS, then CPU; an unavailable explicit choice is an input error."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but CUDA is not available; use --device cpu or auto")
    if name == "mps" and not torch.backends.mps.is_available():
        raise InputError("--device mps was asked for but MPS is not available; use --device cpu or auto")
    if name not in ("cpu", "cuda", "mps"):
        raise InputError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    return torch.device(name)


def _quantize_tensor(tensor: torch.Tensor, positions: np.ndarray, granularity: str) -> Quantized:
    values = tensor.detach().cpu().numpy().reshape(-1)[positions]
    rows = rows_of(tuple(tensor.shape))[positions]
    return quantize(values, rows, tensor.shape[0], granularity)


def _write_positions(tensor: torch.Tensor, positions: np.ndarray, quantized: Quantized) -> None:
    rows = rows_of(tuple(tensor.shape))[positions]
    values = torch.from_numpy(quantized.dequantize(rows)).to(tensor.device)
    index = torch.from_numpy(np.flatnonzero(positions)).to(tensor.device)
    with torch.no_grad():
        tensor.view(-1)[index] = values


class Library:
    def __init__(self, config: LibraryConfig, device: str | torch.device = "cpu") -> None:
        self.config = config
        self.device = torch.device(device)
        torch.manual_seed(config.seed)
        self.model = Supernet(config.architecture).to(self.device)
        self.model.eval()
        self.strategy = make_strategy(config.strategy, **config.strategy_options)
        self.records: list[SessionRecord] = []
        self._initial = {name: layer.weight.detach().clone() for name, layer in self.layers.items()}

    @property
    def layers(self) -> dict[str, Any]:
        return self.model.masked_layers()

    def frozen(self) -> dict[str, np.ndarray]:
        """The flat frozen set M of each masked layer."""
        return {name: layer.frozen.cpu().numpy().reshape(-1).copy() for name, layer in self.layers.items()}

    # ------------------------------------------------------------------ training
    def add_session(
        self,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: TrainSettings,
        progress: Progress | None = None,
        upscale: bool = False,
        extra_meta: dict[str, Any] | None = None,
    ) -> SessionResult:
        """Learn ``frames`` (T, H, W, 3) uint8 as the next session, then freeze it."""
        pending = self.start_session(frames, upscale)
        seconds = run_session(
            pending.ctx, self.strategy, to_training(frames, pending.placement), pending.placement, settings, progress
        )
        return self.finish_session(pending, frames, name, fps, settings, seconds, extra_meta)

    def start_session(self, frames: np.ndarray, upscale: bool = False) -> Pending:
        """Get the supernet ready for the next session and remember what it must not change."""
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or frames.shape[0] < 1:
            raise InputError("frames must be a non-empty (T, H, W, 3) uint8 array")
        session = len(self.records) + 1
        placement = Placement.compute((frames.shape[2], frames.shape[1]), self.config.architecture.canvas, upscale)
        if self.records:
            self._load_dense(self.records[-1])
        self.model.prepare(frames.shape[0], self.config.seed * 1000 + session)
        frozen_before = self.frozen()
        snapshot = {n: layer.weight.detach().clone() for n, layer in self.layers.items()}
        ctx = SessionContext(self.model, session, self.config.capacity, list(self.records), self.recall)
        if placement.fit != placement.source:
            (w, h), (fw, fh) = placement.source, placement.fit
            ctx.notices.append(
                f"{w}x{h} frames are scaled to {fw}x{fh} to fit the {self.config.preset} canvas; quality is "
                "measured at the source size (a larger preset keeps more detail)"
            )
        self._check_space(ctx, frozen_before)
        return Pending(ctx, placement, frozen_before, snapshot)

    def finish_session(
        self,
        pending: Pending,
        frames: np.ndarray,
        name: str,
        fps: float,
        settings: TrainSettings,
        seconds: float,
        extra_meta: dict[str, Any] | None = None,
    ) -> SessionResult:
        """Store what the model now holds as the session: freeze or record changes, measure it."""
        ctx, frozen_before, snapshot = pending.ctx, pending.frozen_before, pending.snapshot
        session = ctx.session
        masks = {n: m.cpu().numpy().reshape(-1) for n, m in self.strategy.final_masks(ctx).items()}
        if self.strategy.forget_free:
            for n, layer in self.layers.items():
                was_frozen = torch.from_numpy(frozen_before[n]).view_as(layer.frozen).to(self.device)
                if not torch.equal(layer.weight[was_frozen], snapshot[n][was_frozen]):
                    raise FrozenWeightError(f"session {session} changed frozen weights of {n}; refusing to write")
            record = self._freeze(session, masks, frozen_before)
        else:
            record = self._store_changed(session, masks, snapshot)
        record.meta.update(self.strategy.session_meta(ctx))
        record.meta.update(
            {
                "name": name,
                "frames": int(frames.shape[0]),
                "fps": float(fps),
                "placement": pending.placement.to_json(),
                "training": settings.to_json(),
                "seconds": round(seconds, 3),
                "device": str(self.device),
            }
        )
        record.meta.update(extra_meta or {})
        self.records.append(record)
        decoded = self.decode(session)
        record.meta["psnr"] = round(psnr(frames, decoded), 4)
        quality = ms_ssim_video(frames, decoded)
        record.meta["ms_ssim"] = None if quality is None else round(quality, 6)
        return SessionResult(
            session, record, record.meta["psnr"], record.meta["ms_ssim"], seconds, ctx.notices, frozen_before
        )

    def _check_space(self, ctx: SessionContext, frozen_before: dict[str, np.ndarray]) -> None:
        for n, frozen in frozen_before.items():
            free = 1 - frozen.mean()
            if free < ctx.capacity:
                ctx.notices.append(
                    f"layer {n} has {free:.0%} free weights for a {ctx.capacity:.0%} subnetwork; "
                    "this session trains what is free and reuses frozen weights for the rest"
                )

    def _freeze(
        self, session: int, masks: dict[str, np.ndarray], frozen_before: dict[str, np.ndarray]
    ) -> SessionRecord:
        """Quantize what the session made new, write the dequantized values back, freeze them."""
        granularity = self.config.quantization
        layers: dict[str, LayerRecord] = {}
        counts: dict[str, dict[str, int]] = {}
        for n, layer in self.layers.items():
            new = masks[n] & ~frozen_before[n]
            quantized = _quantize_tensor(layer.weight, new, granularity)
            _write_positions(layer.weight, new, quantized)
            with torch.no_grad():
                layer.frozen.view(-1)[torch.from_numpy(np.flatnonzero(masks[n])).to(self.device)] = True
                layer.weight.copy_(torch.where(layer.frozen, layer.weight, self._initial[n]))
            layer.invalidate()
            layers[n] = LayerRecord(masks[n].copy(), quantized)
            counts[n] = {"new": int(new.sum()), "reused": int((masks[n] & frozen_before[n]).sum())}
        return self._record(session, layers, counts)

    def _store_changed(
        self, session: int, masks: dict[str, np.ndarray], snapshot: dict[str, torch.Tensor]
    ) -> SessionRecord:
        """Quantize every weight the session changed and write the dequantized values back."""
        layers: dict[str, LayerRecord] = {}
        counts: dict[str, dict[str, int]] = {}
        for n, layer in self.layers.items():
            changed = (layer.weight.detach() != snapshot[n]).cpu().numpy().reshape(-1)
            quantized = _quantize_tensor(layer.weight, changed, self.config.quantization)
            _write_positions(layer.weight, changed, quantized)
            layer.invalidate()
            layers[n] = LayerRecord(masks[n].copy(), quantized, changed)
            counts[n] = {"new": int(changed.sum()), "reused": int((masks[n] & ~changed).sum())}
        return self._record(session, layers, counts)

    def _record(self, session: int, layers: dict[str, LayerRecord], counts: dict[str, dict[str, int]]) -> SessionRecord:
        """The session's record: its layers plus its dense tensors, quantized and written back."""
        dense = {}
        for n, tensor in self.model.session_tensors().items():
            everything = np.ones(tensor.numel(), dtype=bool)
            dense[n] = _quantize_tensor(tensor, everything, "tensor")
            _write_positions(tensor, everything, dense[n])
        meta = {
            "session": session,
            "new_weights": sum(c["new"] for c in counts.values()),
            "reused_weights": sum(c["reused"] for c in counts.values()),
            "layers": counts,
        }
        return SessionRecord(meta, layers, dense)

    # ------------------------------------------------------------------ decoding
    def _load_dense(self, record: SessionRecord) -> None:
        self.model.prepare(record.frames, 0)
        for n, tensor in self.model.session_tensors().items():
            everything = np.ones(tensor.numel(), dtype=bool)
            _write_positions(tensor, everything, record.dense[n])

    def recall(self, session: int) -> Recall:
        """Session ``session`` as the current weights replay it, with its own dense tensors."""
        record = self.records[session - 1]
        placement = Placement.from_json(record.meta["placement"], self.config.architecture.canvas, "session")
        names = self.model.session_parameter_names()
        dense = {}
        for n, tensor in self.model.session_tensors().items():
            stored = record.dense[n]
            values = stored.dequantize(np.zeros(stored.q.size, dtype=np.int64))
            dense[names[n]] = torch.from_numpy(values).view(-1, *tensor.shape[1:]).to(self.device)
        return Recall(session, record.frames, placement, dense)

    def decode(
        self, session: int, start: int = 0, stop: int | None = None, subnetwork: int | None = None
    ) -> np.ndarray:
        """Frames ``start:stop`` of ``session`` (1-based) as uint8 (T, H, W, 3) at the source size.

        ``subnetwork`` makes another session's subnetwork (its mask, head and biases) produce them:
        the cells of the transfer matrix.
        """
        for number in (session, subnetwork or session):
            if not 1 <= number <= len(self.records):
                raise InputError(f"session {number} does not exist; the library has {len(self.records)} sessions")
        record = self.records[session - 1]
        total = record.frames
        stop = total if stop is None else stop
        if not 0 <= start < stop <= total:
            raise InputError(f"frame range {start}:{stop} is outside session {session}'s {total} frames")
        placement = Placement.from_json(record.meta["placement"], self.config.architecture.canvas, "session")
        owner = self.records[(subnetwork or session) - 1]
        self._load_dense(owner)
        for n, layer in self.layers.items():
            layer.fix_mask(torch.from_numpy(owner.layers[n].mask).view_as(layer.weight))
        chunks = []
        try:
            with torch.inference_mode():
                for i in range(start, stop, DECODE_BATCH):
                    idx = torch.arange(i, min(i + DECODE_BATCH, stop))
                    chunks.append(to_source(self.model(session, idx, total), placement))
        finally:
            for layer in self.layers.values():
                layer.fix_mask(None)
        return np.concatenate(chunks)

    # ------------------------------------------------------------------ rebuilding
    @classmethod
    def rebuild(
        cls, config: LibraryConfig, records: list[SessionRecord], device: str | torch.device = "cpu"
    ) -> Library:
        """The library as it was after its last session, from records alone."""
        library = cls(config, device)
        for record in records:
            library.apply(record)
        return library

    def apply(self, record: SessionRecord) -> None:
        """Install a stored session: write its new weights and freeze its mask."""
        session = len(self.records) + 1
        Placement.from_json(record.meta.get("placement"), self.config.architecture.canvas, f"session {session}")
        if not isinstance(record.meta.get("fps"), (int, float)) or not 0 < record.meta["fps"] < 1e4:
            raise FormatError(f"session {session}: frame rate is missing or malformed")
        for n, layer in self.layers.items():
            if n not in record.layers:
                raise FormatError(f"session {session}: layer {n} is missing")
            entry = record.layers[n]
            frozen = layer.frozen.cpu().numpy().reshape(-1)
            if entry.mask.shape != frozen.shape:
                raise FormatError(f"session {session}: mask of {n} has the wrong size")
            if (entry.written is None) != self.strategy.forget_free:
                raise FormatError(f"session {session}: {n} is not stored as a {self.config.strategy} session")
            new = entry.new_positions(frozen)
            if entry.new.scales.size not in (1, layer.weight.shape[0]):
                raise FormatError(f"session {session}: {n} has {entry.new.scales.size} scales")
            if entry.new.q.size != int(new.sum()):
                raise FormatError(
                    f"session {session}: {n} stores {entry.new.q.size} new weights, mask needs {new.sum()}"
                )
            _write_positions(layer.weight, new, entry.new)
            if self.strategy.forget_free:
                with torch.no_grad():
                    layer.frozen.view(-1)[torch.from_numpy(np.flatnonzero(entry.mask)).to(self.device)] = True
            layer.invalidate()
        for n, numel in self.model.session_sizes(record.frames).items():
            if n not in record.dense or record.dense[n].q.size != numel or record.dense[n].scales.size != 1:
                raise FormatError(f"session {session}: dense tensor {n} is missing or has the wrong size")
        self.records.append(record)

    # ------------------------------------------------------------------ accounting
    def capacity_report(self) -> dict[str, Any]:
        """Fraction of weights frozen per layer and overall."""
        per_layer = {}
        total = frozen = 0
        for n, layer in self.layers.items():
            f = int(layer.frozen.sum())
            per_layer[n] = {"weights": layer.weight.numel(), "frozen": f, "used": f / layer.weight.numel()}
            total += layer.weight.numel()
            frozen += f
        return {"layers": per_layer, "weights": total, "frozen": frozen, "used": frozen / total}
