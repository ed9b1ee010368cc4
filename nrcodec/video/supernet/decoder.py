"""Frozen supernet → frames: install a session's dense tensors and mask, then decode its frames in
fixed batches (``video.decoding``)."""

from __future__ import annotations

import numpy as np
import torch

from nrcodec.format.session import SessionRecord
from nrcodec.video.decoding import decode_frames
from nrcodec.video.frames import Placement
from nrcodec.video.supernet.freezer import write_positions
from nrcodec.video.supernet.model import Supernet
from nrcodec.video.supernet.strategies import Recall


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
