"""The PNR supernet: a NeRV-style decoder from a (session, frame) embedding to a whole frame.

An MLP stem maps the embedding to a small feature map (9×16 for 16:9), NeRV blocks
(3×3 conv → PixelShuffle → GELU) upsample it to the canvas, and a per-session 1×1 head gives
RGB as (tanh + 1) / 2. Every stem and block weight is a MaskedLayer, so sessions own
subnetworks; heads and biases are dense and belong to their session.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import torch
from torch import nn

from nrcodec.errors import FormatError, InputError
from nrcodec.nn.embedding import KRNetEmbedding, SinusoidalEmbedding
from nrcodec.nn.masked import MaskedConv2d, MaskedLayer, MaskedLinear

MAX_CANVAS = 8192
MAX_WEIGHTS = 1 << 28
EMBEDDINGS = ("sinusoidal", "krnet")
KRNET_FIELDS = ("id_dim", "group_size")


@dataclass(frozen=True)
class Architecture:
    """Everything needed to rebuild an empty supernet; stored in the archive header."""

    canvas: tuple[int, int]
    feature: tuple[int, int]
    stem_hidden: int
    channels: tuple[int, ...]
    strides: tuple[int, ...]
    embedding: str = "sinusoidal"
    values_per_index: int = 80
    embed_base: float = 1.25
    id_dim: int = 64
    group_size: int = 8

    def __post_init__(self) -> None:
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"embedding must be one of {', '.join(EMBEDDINGS)}")
        if len(self.channels) != len(self.strides) + 1:
            raise ValueError("channels needs one entry more than strides")
        up = 1
        for s in self.strides:
            up *= s
        fh, fw = self.feature
        if (fw * up, fh * up) != tuple(self.canvas):
            raise ValueError(f"feature {fw}x{fh} × {up} does not reach canvas {self.canvas}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if self.embedding != "krnet":
            for key in KRNET_FIELDS:
                del data[key]
        return data

    def weight_count(self) -> int:
        """Masked weights of the supernet, known before anything is allocated."""
        fh, fw = self.feature
        count = 2 * self.values_per_index * self.stem_hidden + self.stem_hidden * fh * fw * self.channels[0]
        if self.embedding == "krnet":
            count += 2 * self.id_dim * self.values_per_index
        for cin, cout, s in zip(self.channels, self.channels[1:], self.strides):
            count += cin * cout * s * s * 9
        return count

    @classmethod
    def from_json(cls, data: Any) -> Architecture:
        try:
            arch = cls(
                canvas=tuple(data["canvas"]),
                feature=tuple(data["feature"]),
                stem_hidden=int(data["stem_hidden"]),
                channels=tuple(int(c) for c in data["channels"]),
                strides=tuple(int(s) for s in data["strides"]),
                embedding=str(data["embedding"]),
                values_per_index=int(data["values_per_index"]),
                embed_base=float(data["embed_base"]),
                **{key: int(data[key]) for key in KRNET_FIELDS if key in data},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"archive header: architecture is malformed ({exc})") from None
        sizes = (*arch.canvas, *arch.feature, arch.stem_hidden, *arch.channels, *arch.strides, arch.values_per_index)
        small = min(*sizes, arch.id_dim, arch.group_size) < 1
        if small or max(arch.canvas) > MAX_CANVAS or arch.weight_count() > MAX_WEIGHTS:
            raise FormatError("archive header: architecture is out of the range nrcodec writes")
        return arch


@dataclass(frozen=True)
class Preset:
    """A named canvas and model size with its default training length."""

    name: str
    architecture: Architecture
    epochs: int
    batch_size: int
    lr: float


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        "tiny",
        Architecture(canvas=(160, 90), feature=(9, 16), stem_hidden=96, channels=(24, 32, 24), strides=(5, 2)),
        epochs=60,
        batch_size=4,
        lr=1e-2,
    ),
    "small": Preset(
        "small",
        Architecture(canvas=(320, 180), feature=(9, 16), stem_hidden=128, channels=(32, 48, 32, 24), strides=(5, 2, 2)),
        epochs=150,
        batch_size=4,
        lr=5e-3,
    ),
    "hd": Preset(
        "hd",
        Architecture(
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


def with_embedding(arch: Architecture, embedding: str) -> Architecture:
    """The same architecture with another index embedding (an archive-wide choice)."""
    if embedding not in EMBEDDINGS:
        raise InputError(f"unknown embedding {embedding!r}; choose one of {', '.join(EMBEDDINGS)}")
    return replace(arch, embedding=embedding)


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


class Supernet(nn.Module):
    """The shared decoder. ``head`` and the layer biases hold the current session's values."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.arch = arch
        self.embedding: SinusoidalEmbedding | KRNetEmbedding
        if arch.embedding == "krnet":
            self.embedding = KRNetEmbedding(arch.id_dim, arch.values_per_index, arch.group_size)
        else:
            self.embedding = SinusoidalEmbedding(arch.values_per_index, arch.embed_base)
        fh, fw = arch.feature
        c0 = arch.channels[0]
        self.stem = nn.ModuleList(
            [MaskedLinear(self.embedding.out_dim, arch.stem_hidden), MaskedLinear(arch.stem_hidden, fh * fw * c0)]
        )
        self.blocks = nn.ModuleList(
            [MaskedConv2d(cin, cout * s * s) for cin, cout, s in zip(arch.channels, arch.channels[1:], arch.strides)]
        )
        self.shuffles = nn.ModuleList([nn.PixelShuffle(s) for s in arch.strides])
        self.act = nn.GELU()
        self.head = nn.Conv2d(arch.channels[-1], 3, 1)

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

    def forward(self, session: int, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Frames (B,) of a session → RGB in [0, 1], shape (B, 3, H, W) on the canvas."""
        fh, fw = self.arch.feature
        x = self.embedding(session, frames, num_frames).to(self.head.weight.device)
        for layer in self.stem:
            x = self.act(layer(x))
        x = x.view(x.shape[0], self.arch.channels[0], fh, fw)
        for conv, shuffle in zip(self.blocks, self.shuffles):
            x = self.act(shuffle(conv(x)))
        return (torch.tanh(self.head(x)) + 1) / 2
