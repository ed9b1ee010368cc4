"""The library's state: the supernet, the records of every session so far, what is frozen.

``install`` puts a stored session into the supernet after checking it against the architecture,
which is how a fresh process rebuilds a library from an archive.
"""

from __future__ import annotations

import numpy as np
import torch

from nrcodec.errors import FormatError
from nrcodec.format.session import LayerRecord, SessionRecord
from nrcodec.nn.masked import MaskedLayer
from nrcodec.video.records import CapacityReport, LayerUse, SessionInfo
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.freezer import set_frozen, write_positions
from nrcodec.video.supernet.model import Supernet
from nrcodec.video.supernet.strategies import Strategy, make_strategy


class LibraryState:
    """Supernet, strategy and session records of one library."""

    def __init__(self, config: SupernetConfig, device: torch.device) -> None:
        self.config = config
        self.device = device
        torch.manual_seed(config.seed)
        self.model = Supernet(config.architecture).to(device)
        self.model.eval()
        self.strategy: Strategy = make_strategy(config.strategy, config.strategy_options)
        self.records: list[SessionRecord] = []

    @property
    def layers(self) -> dict[str, MaskedLayer]:
        return self.model.masked_layers()

    def frozen(self) -> dict[str, np.ndarray]:
        """The flat frozen set M of each masked layer."""
        return {name: layer.frozen.cpu().numpy().reshape(-1).copy() for name, layer in self.layers.items()}

    def capacity(self) -> CapacityReport:
        return CapacityReport(
            {n: LayerUse(layer.weight.numel(), int(layer.frozen.sum())) for n, layer in self.layers.items()}
        )

    def info(self, session: int) -> SessionInfo:
        """Session ``session``'s (1-based) metadata, typed."""
        record = self.records[session - 1]
        return SessionInfo.from_json(record.meta, self.config.architecture.canvas, f"session {session}")

    def install(self, record: SessionRecord) -> None:
        """Install a stored session: check it, write its new weights and freeze its mask."""
        session = len(self.records) + 1
        where = f"session {session}"
        SessionInfo.from_json(record.meta, self.config.architecture.canvas, where)
        for n, layer in self.layers.items():
            if n not in record.layers:
                raise FormatError(f"{where}: layer {n} is missing")
            new = self._check_layer(record.layers[n], layer, f"{where}: {n}")
            write_positions(layer.weight, new, record.layers[n].new)
            if self.strategy.forget_free:
                set_frozen(layer, record.layers[n].mask)
            layer.invalidate()
        for n, numel in self.model.session_sizes(record.frames).items():
            if n not in record.dense or record.dense[n].q.size != numel or record.dense[n].scales.size != 1:
                raise FormatError(f"{where}: dense tensor {n} is missing or has the wrong size")
        self.records.append(record)

    def _check_layer(self, entry: LayerRecord, layer: MaskedLayer, where: str) -> np.ndarray:
        """The positions ``entry`` writes, after checking its sizes against ``layer``."""
        frozen = layer.frozen.cpu().numpy().reshape(-1)
        if entry.mask.shape != frozen.shape:
            raise FormatError(f"{where}: mask has the wrong size")
        if (entry.written is None) != self.strategy.forget_free:
            raise FormatError(f"{where}: not stored as a {self.config.strategy} session")
        new = entry.new_positions(frozen)
        if entry.new.scales.size not in (1, layer.weight.shape[0]):
            raise FormatError(f"{where}: {entry.new.scales.size} scales")
        if entry.new.q.size != int(new.sum()):
            raise FormatError(f"{where}: stores {entry.new.q.size} new weights, the mask needs {new.sum()}")
        return new
