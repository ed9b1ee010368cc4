"""How well does a short probe tell a related clip from an unrelated one? (issue 28, notes/transfer.md)

    OMP_NUM_THREADS=1 python research/parent_probe.py --clips /tmp/skv --parent person:0:120 \\
        --child person:120:120 --parent-epochs 30 --out out/transfer/probe.json

Trains the child clip for ``--epochs`` passes (grow's recipe, one thread) from four starts: fresh and
from the parent's blocks and head (``grow.inherit``), at the child's own level 4 and one level down,
and prints the PSNR each reaches: what ``add-video --parent auto`` could compare before it commits
to a start. The parent is the cached session 1 of ``transfer_probe.py`` (same clips, same cache).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from transfer_probe import CHILD, SEED, load_clip, parent_record, settings_for, train_child

from nrcodec.video.grow.inherit import inherit
from nrcodec.video.grow.library import architecture_of
from nrcodec.video.grow.network import SessionNet, layout, stem_bits_for
from nrcodec.video.grow.settings import GrowOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, required=True)
    parser.add_argument("--parent", required=True)
    parser.add_argument("--child", required=True)
    parser.add_argument("--parent-epochs", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    cache = args.out.parent / f"parent-{args.parent.replace(':', '-')}-e{args.parent_epochs}.nrs"
    parent, _ = parent_record(load_clip(args.clips, args.parent), args.parent_epochs, cache)
    theirs = architecture_of(parent, "parent")
    frames = load_clip(args.clips, args.child)
    count, height, width = frames.shape[:3]
    row = {"pair": f"{args.parent} -> {args.child}", "epochs": args.epochs}
    for quality in (4, 3):
        for warm in (False, True):
            torch.manual_seed(SEED * 1000 + CHILD)
            bits = settings_for(1).weight_bits
            net = SessionNet(
                layout((width, height), count, quality), bits, stem_bits_for(bits), GrowOptions().qat_start
            )
            if warm and not inherit(net, parent, theirs):
                raise SystemExit("the child does not fit under the parent")
            start = time.perf_counter()
            reports = []
            train_child(net, frames, args.epochs, quality, reports.append)
            row[f"{'warm' if warm else 'fresh'}-q{quality}"] = round(reports[-1].psnr, 3)
            row[f"s-{'warm' if warm else 'fresh'}-q{quality}"] = round(time.perf_counter() - start, 1)
            print(json.dumps(row), flush=True)
    rows = json.loads(args.out.read_text()) if args.out.exists() else []
    args.out.write_text(json.dumps([*rows, row], indent=1) + "\n")


if __name__ == "__main__":
    main()
