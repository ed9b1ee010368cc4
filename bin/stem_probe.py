"""Stem probe for issue 12: does a temporal feature grid pay where grow's MLP stem holds half the bytes?

A grow session's network (``session_net.layout``) spends 54-69% of its weights on the stem's second
linear layer (hidden units → the first feature grid). This probe trains, with the package's loop,
loss, schedule and quantization-aware training, either that network or one whose stem is a learned
grid of ``T/k`` feature maps interpolated linearly in time (FFNeRV's temporal grid, one resolution),
at the same total weights (the blocks get the channels the stem no longer needs), then codes it
as format 2 does and reports bytes, PSNR and the ratio to x264 medium's bytes at that PSNR (the
anchors cached by ``bench rd`` in ``out/bench/rd/anchors.json``).

    python bin/stem_probe.py --clip out/clips/carphone.y4m --epochs 40 --stem mlp
    python bin/stem_probe.py --clip out/clips/carphone.y4m --epochs 40 --stem grid --grid-every 4

One JSON line per run is appended to ``--out`` (default out/rate/stem.jsonl). Results: notes/rate.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch
from torch import nn

from nrcodec.bench.anchors import RDPoint
from nrcodec.bench.ladder import bytes_at_psnr
from nrcodec.format import nrc
from nrcodec.format.session import SessionRecord
from nrcodec.media.video import read_video
from nrcodec.metrics import psnr
from nrcodec.runtime import TrainSettings, use_threads
from nrcodec.video import session_net
from nrcodec.video.decoder import decode_frames
from nrcodec.video.frames import Placement, to_training
from nrcodec.video.model import Architecture
from nrcodec.video.session_net import BATCH_SIZE, LEARNING_RATE, SessionNet, fake_quantize, layout
from nrcodec.video.strategies import SessionContext, make_strategy
from nrcodec.video.trainer import reconstruction_loss, train_session

META_BYTES = 800
"""A real session's head (name, sizes, architecture, training) deflates to about this much."""


class GridNet(SessionNet):
    """``SessionNet`` whose stem is a temporal grid (slots, c0, fh, fw), linear in time."""

    def __init__(self, arch: Architecture, weight_bits: int, slots: int, init_std: float) -> None:
        super().__init__(arch, weight_bits)
        fh, fw = arch.feature
        del self.stem
        self.stem = nn.ModuleList()
        self.grid = nn.Parameter(torch.randn(slots, arch.channels[0], fh, fw) * init_std)

    def coarse(self) -> set[str]:
        return super().coarse() | {"grid"}

    def forward(self, session: int, frames: torch.Tensor, num_frames: int) -> torch.Tensor:
        slots = self.grid.shape[0]
        grid = fake_quantize(self.grid, self.weight_bits) if self.qat else self.grid
        pos = frames.to(grid.device).float() * (slots - 1) / max(1, num_frames - 1)
        lo = pos.floor().long().clamp(0, slots - 1)
        hi = (lo + 1).clamp(max=slots - 1)
        w = (pos - lo.float()).view(-1, 1, 1, 1)
        x = grid[lo] * (1 - w) + grid[hi] * w
        for conv, shuffle in zip(self.blocks, self.shuffles):
            x = self.act(shuffle(nn.functional.conv2d(x, self._weight(conv), conv.bias, padding=1)))
        return (torch.tanh(self.head(x)) + 1) / 2


class MixedBitsNet(SessionNet):
    """``SessionNet`` whose stem.1 weights are stored (and trained) at ``stem_bits`` instead."""

    def __init__(self, arch: Architecture, weight_bits: int, stem_bits: int) -> None:
        super().__init__(arch, weight_bits)
        self.stem_bits = stem_bits

    def bits_of(self, name: str) -> int:
        return self.stem_bits if name == "stem.1.weight" else super().bits_of(name)

    def _weight(self, layer: nn.Linear | nn.Conv2d) -> torch.Tensor:
        if self.qat and layer is self.stem[1]:
            return fake_quantize(layer.weight, self.stem_bits)
        return super()._weight(layer)


def grid_layout(mlp: Architecture, frames: int, every: int) -> tuple[Architecture, int]:
    """The grid network with about ``mlp``'s weights: slots = frames / every, channels scaled."""
    slots = max(2, math.ceil(frames / every))
    target = mlp.weight_count()
    fh, fw = mlp.feature
    ratios = [c / mlp.channels[0] for c in mlp.channels]

    def count(c0: int) -> tuple[int, Architecture]:
        arch = replace(mlp, channels=tuple(max(4, round(c0 * r)) for r in ratios))
        blocks = sum(ci * co * s * s * 9 for ci, co, s in zip(arch.channels, arch.channels[1:], arch.strides))
        return slots * arch.channels[0] * fh * fw + blocks, arch

    best = min((count(c0) for c0 in range(4, 513)), key=lambda x: abs(x[0] - target))
    return best[1], slots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--quality", type=int, default=4)
    parser.add_argument("--stem", choices=("mlp", "grid"), default="mlp")
    parser.add_argument("--grid-every", type=int, default=4)
    parser.add_argument("--init-std", type=float, default=0.1)
    parser.add_argument("--bits", type=int, default=5)
    parser.add_argument("--stem-bits", type=int, default=0, help="bits of stem.1 (0: --bits)")
    parser.add_argument("--stem-ratio", type=int, default=session_net.STEM_RATIO)
    parser.add_argument("--anchors", type=Path, default=Path("out/bench/rd/anchors.json"))
    parser.add_argument("--out", type=Path, default=Path("out/rate/stem.jsonl"))
    args = parser.parse_args()
    use_threads(1)
    clip = read_video(args.clip, 120)
    frames = clip.frames
    count, height, width = frames.shape[:3]
    session_net.STEM_RATIO = args.stem_ratio
    arch = layout((width, height), count, args.quality)
    torch.manual_seed(1)
    if args.stem == "mlp" and args.stem_bits:
        net, slots = MixedBitsNet(arch, args.bits, args.stem_bits), 0
    elif args.stem == "mlp":
        net, slots = SessionNet(arch, args.bits), 0
    else:
        arch, slots = grid_layout(arch, count, args.grid_every)
        net = GridNet(arch, args.bits, slots, args.init_std)
    placement = Placement.compute((width, height), arch.canvas)
    settings = TrainSettings(args.epochs, BATCH_SIZE, LEARNING_RATE, weight_bits=args.bits)
    ctx = SessionContext(
        model=net,  # type: ignore[arg-type]
        session=1,
        capacity=1.0,
        placement=placement,
        num_frames=count,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        loss=partial(reconstruction_loss, l1_weight=settings.l1_weight),
    )
    start = time.perf_counter()
    train_session(ctx, make_strategy("grow", {}), to_training(frames, placement), settings)
    seconds = time.perf_counter() - start
    stored = net.quantized()
    net.load_quantized(stored)
    net.eval()
    decoded = decode_frames(net, 1, count, placement)
    quality = psnr(frames, decoded)
    shapes = {name: tuple(t.shape) for name, t in net.named_parameters()}
    chunk = nrc.encode_session(SessionRecord({"session": 1}, {}, stored, shapes), {}, version=2)
    total = len(chunk) + META_BYTES
    key = f"{args.clip.stem}:{hashlib.sha256(frames.tobytes()).hexdigest()[:16]}"
    anchors = [
        RDPoint(p["codec"], p["item"], p["setting"], p["bytes"], p["bpp"], p["psnr"], p["encode_s"], p["decode_s"])
        for p in json.loads(args.anchors.read_text())[key]
        if p["codec"] == "x264-medium"
    ]
    x264 = bytes_at_psnr(anchors, quality)
    row = {
        "clip": args.clip.stem,
        "stem": args.stem,
        "grid_every": args.grid_every if slots else None,
        "slots": slots,
        "init_std": args.init_std if slots else None,
        "quality": args.quality,
        "bits": args.bits,
        "stem_bits": args.stem_bits or args.bits,
        "stem_ratio": args.stem_ratio,
        "epochs": args.epochs,
        "weights": sum(p.numel() for p in net.parameters()),
        "channels": list(arch.channels),
        "bytes": total,
        "psnr": round(quality, 4),
        "ratio": None if x264 is None else round(total / x264, 3),
        "seconds": round(seconds, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
