"""What a session owns, quantized and written back: the moment a session becomes bytes.

Everything the session made is quantized (``format.quant``), and the dequantized values are
written into the model at once, so the weights later sessions train against are exactly the ones
a decoder rebuilds from the archive. A forget-free session then freezes its mask; a session of a
strategy that is not forget-free records every weight it changed instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nrcodec.format.quant import Quantized, quantize
from nrcodec.format.session import LayerRecord, rows_of
from nrcodec.video.supernet.model import Supernet


def quantize_positions(tensor: torch.Tensor, positions: np.ndarray, granularity: str) -> Quantized:
    """The values of ``tensor`` at the flat ``positions`` (bool), quantized."""
    values = tensor.detach().cpu().numpy().reshape(-1)[positions]
    rows = rows_of(tuple(tensor.shape))[positions]
    return quantize(values, rows, tensor.shape[0], granularity)


def write_positions(tensor: torch.Tensor, positions: np.ndarray, quantized: Quantized) -> None:
    """Write dequantized values into ``tensor`` at the flat ``positions`` (bool)."""
    rows = rows_of(tuple(tensor.shape))[positions]
    values = torch.from_numpy(quantized.dequantize(rows)).to(tensor.device)
    index = torch.from_numpy(np.flatnonzero(positions)).to(tensor.device)
    with torch.no_grad():
        tensor.view(-1)[index] = values


def set_frozen(layer: torch.nn.Module, mask: np.ndarray) -> None:
    """Add the flat ``mask`` to a masked layer's frozen set."""
    with torch.no_grad():
        layer.frozen.view(-1)[torch.from_numpy(np.flatnonzero(mask)).to(layer.frozen.device)] = True


@dataclass
class Frozen:
    """What one session leaves in the masked layers: a record per layer and how many weights it
    made new and reused."""

    layers: dict[str, LayerRecord]
    counts: dict[str, dict[str, int]]


class Freezer:
    """Quantizes and freezes sessions of one supernet. ``initial`` holds the seeded initial
    weights: free weights go back to them after every session, so a reopened library continues
    exactly like one kept in memory."""

    def __init__(self, model: Supernet, granularity: str) -> None:
        self.model = model
        self.granularity = granularity
        self.initial = {name: layer.weight.detach().clone() for name, layer in model.masked_layers().items()}

    def freeze(self, masks: dict[str, np.ndarray], frozen_before: dict[str, np.ndarray]) -> Frozen:
        """Quantize what the session made new, write the dequantized values back, freeze the masks."""
        layers: dict[str, LayerRecord] = {}
        counts: dict[str, dict[str, int]] = {}
        for n, layer in self.model.masked_layers().items():
            new = masks[n] & ~frozen_before[n]
            quantized = quantize_positions(layer.weight, new, self.granularity)
            write_positions(layer.weight, new, quantized)
            set_frozen(layer, masks[n])
            with torch.no_grad():
                layer.weight.copy_(torch.where(layer.frozen, layer.weight, self.initial[n]))
            layer.invalidate()
            layers[n] = LayerRecord(masks[n].copy(), quantized)
            counts[n] = {"new": int(new.sum()), "reused": int((masks[n] & frozen_before[n]).sum())}
        return Frozen(layers, counts)

    def store_changed(self, masks: dict[str, np.ndarray], snapshot: dict[str, torch.Tensor]) -> Frozen:
        """Quantize every weight the session changed and write the dequantized values back."""
        layers: dict[str, LayerRecord] = {}
        counts: dict[str, dict[str, int]] = {}
        for n, layer in self.model.masked_layers().items():
            changed = (layer.weight.detach() != snapshot[n]).cpu().numpy().reshape(-1)
            quantized = quantize_positions(layer.weight, changed, self.granularity)
            write_positions(layer.weight, changed, quantized)
            layer.invalidate()
            layers[n] = LayerRecord(masks[n].copy(), quantized, changed)
            counts[n] = {"new": int(changed.sum()), "reused": int((masks[n] & ~changed).sum())}
        return Frozen(layers, counts)

    def dense(self) -> dict[str, Quantized]:
        """The session's dense tensors (head, biases, IDs), quantized per tensor and written back."""
        out = {}
        for n, tensor in self.model.session_tensors().items():
            everything = np.ones(tensor.numel(), dtype=bool)
            out[n] = quantize_positions(tensor, everything, "tensor")
            write_positions(tensor, everything, out[n])
        return out
