"""The PNR supernet: one NeRV (``video.nerv``) on a preset's canvas, shared by every session.

Every stem and block weight is a MaskedLayer, so sessions own subnetworks; heads and biases are
dense and belong to their session. A preset names a canvas and network size with its training
recipe (epochs, batch size, learning rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nrcodec.errors import InputError
from nrcodec.nn.embedding import KRNetEmbedding, SinusoidalEmbedding
from nrcodec.nn.masked import MaskedConv2d, MaskedLayer, MaskedLinear
from nrcodec.video.nerv import NervLayout, NervNet


@dataclass(frozen=True)
class Preset:
    """A named canvas and model size with its default training length."""

    name: str
    architecture: NervLayout
    epochs: int
    batch_size: int
    lr: float


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny",
        NervLayout(canvas=(160, 90), feature=(9, 16), stem_hidden=96, channels=(24, 32, 24), strides=(5, 2)),
        epochs=60,
        batch_size=4,
        lr=1e-2,
    ),
    "small": Preset(
        "small",
        NervLayout(canvas=(320, 180), feature=(9, 16), stem_hidden=128, channels=(32, 48, 32, 24), strides=(5, 2, 2)),
        epochs=150,
        batch_size=4,
        lr=5e-3,
    ),
    "hd": Preset(
        "hd",
        NervLayout(
            canvas=(1280, 720),
            feature=(9, 16),
            stem_hidden=256,
            channels=(64, 128, 64, 32, 16, 16),
            strides=(5, 2, 2, 2, 2),
        ),
        epochs=150,
        batch_size=1,
        lr=5e-4,
    ),
}


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


class Supernet(NervNet):
    """The shared decoder: stem and block weights are masked layers, so sessions own subnetworks;
    ``head`` and the layer biases hold the current session's values."""

    embedding: SinusoidalEmbedding | KRNetEmbedding

    def __init__(self, layout: NervLayout) -> None:
        if layout.embedding == "krnet":
            embedding = KRNetEmbedding(layout.id_dim, layout.values_per_index, layout.group_size)
        else:
            embedding = SinusoidalEmbedding(layout.values_per_index, layout.embed_base)
        super().__init__(layout, embedding)

    def make_linear(self, cin: int, cout: int) -> MaskedLinear:
        return MaskedLinear(cin, cout)

    def make_conv(self, cin: int, cout: int) -> MaskedConv2d:
        return MaskedConv2d(cin, cout)

    def masked_layers(self) -> dict[str, MaskedLayer]:
        """The layers that carry subnetworks, by stable name."""
        layers: dict[str, MaskedLayer] = {}
        if isinstance(self.embedding, KRNetEmbedding):
            layers.update({"embed.static": self.embedding.fc_static, "embed.dynamic": self.embedding.fc_dynamic})
        layers.update({f"stem.{i}": m for i, m in enumerate(self.stem)})
        layers.update({f"block.{i}": m for i, m in enumerate(self.blocks)})
        return layers

    def session_tensors(self) -> dict[str, torch.Tensor]:
        """The dense per-session parameters: head, every masked layer's bias, KRNet's ID vectors and norms."""
        out = {"head.weight": self.head.weight, "head.bias": self.head.bias}
        out.update({f"{name}.bias": layer.bias for name, layer in self.masked_layers().items()})
        if isinstance(self.embedding, KRNetEmbedding):
            e = self.embedding
            out.update(
                {
                    "embed.static_ids": e.static_ids,
                    "embed.dynamic_id": e.dynamic_id,
                    "embed.norm_static.weight": e.norm_static.weight,
                    "embed.norm_static.bias": e.norm_static.bias,
                    "embed.norm_dynamic.weight": e.norm_dynamic.weight,
                    "embed.norm_dynamic.bias": e.norm_dynamic.bias,
                }
            )
        return out

    def session_sizes(self, num_frames: int) -> dict[str, int]:
        """Element counts of the session tensors of a session of ``num_frames`` frames."""
        sizes = {n: t.numel() for n, t in self.session_tensors().items()}
        if isinstance(self.embedding, KRNetEmbedding):
            sizes["embed.static_ids"] = self.embedding.groups_for(num_frames) * self.arch.id_dim
        return sizes

    def prepare(self, num_frames: int, seed: int) -> None:
        """Shape the session tensors for a session of ``num_frames`` frames (KRNet's ID table)."""
        if isinstance(self.embedding, KRNetEmbedding):
            self.embedding.resize(num_frames, torch.Generator().manual_seed(seed))

    def session_parameter_names(self) -> dict[str, str]:
        """Key of each session tensor → its parameter path (for swapping tensors into a forward pass)."""
        paths = {id(p): n for n, p in self.named_parameters()}
        return {n: paths[id(t)] for n, t in self.session_tensors().items()}
