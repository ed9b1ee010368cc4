"""Add a checkerboard context to a hyperprior version of a codec file, as the file's next version.

The shipped codec's version 2 was made this way (notes/image.md, "lever 3"): version 1's transforms
frozen, the context layers trained on the latents of the 188 training photos at every level
(``nrcodec.image.context``), appended with parent 1 so that the bitstreams of versions 0 and 1 keep
decoding byte for byte. Resumable: the state is saved to ``--checkpoint`` every 250 steps, and the
same command continues a stopped run from its last save.

With ``--joint``, the parent is a context version and every layer of it (transforms, hyper-transforms,
context, gains) trains on the photos at every quality level, as a ``naive`` version of it: the
context learned on frozen latents and the transforms that feed it, trained together at last.

Usage:
    python release/train_context_version.py nrcodec/image/data/hyperprior.nic out/image-train/context.nic \\
        --images /work/corpus/train --parent 1 --checkpoint out/image-train/context.ckpt
    python release/train_context_version.py nrcodec/image/data/hyperprior.nic out/image-train/joint.nic \\
        --images /work/corpus/train --parent 2 --joint --steps 3000 --checkpoint out/image-train/joint.ckpt
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from nrcodec.image import Codec
from nrcodec.image.checkpoint import Checkpoint
from nrcodec.image.context import ContextSettings, fit_context
from nrcodec.image.train import adapt, parent_settings
from nrcodec.media.images import read_images
from nrcodec.runtime import StepReport


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("codec", type=Path, help="codec file holding the hyperprior version")
    parser.add_argument("out", type=Path, help="codec file to write: the input plus the context version")
    parser.add_argument("--images", type=Path, required=True, help="training photos (never the held-out ones)")
    parser.add_argument("--parent", type=int, default=1, help="hyperprior version to put the context on")
    parser.add_argument("--steps", type=int, default=ContextSettings.steps)
    parser.add_argument("--groups", type=int, default=ContextSettings.groups, help="channel groups of the context")
    parser.add_argument("--joint", action="store_true", help="train every layer of the parent (a context version)")
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate of --joint")
    parser.add_argument("--batch", type=int, default=4, help="crops of 256x256 a step, with --joint")
    parser.add_argument("--checkpoint", type=Path, help="resumable state (safetensors)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.out.exists() or args.out.resolve() == args.codec.resolve():
        raise SystemExit(f"{args.out}: exists (or is the input); choose a new file")
    torch.set_num_threads(args.threads)
    codec = Codec.load(args.codec)

    def show(report: StepReport) -> None:
        if report.done % 250 == 0 or report.done == report.total:
            figures = (
                f"{report.bpp:.4f} bpp, loss {report.loss:.3f}, {report.psnr:.2f} dB"
                if args.joint
                else f"{report.bpp:.4f} bits a latent, {report.loss:+.2f}% against version {args.parent}"
            )
            print(f"step {report.done}/{report.total}: {figures}, {report.elapsed:.0f} s", file=sys.stderr, flush=True)

    checkpoint = Checkpoint(args.checkpoint, 250) if args.checkpoint else None
    images = read_images(args.images)
    if args.joint:
        settings = parent_settings(codec, args.parent, steps=args.steps, lr=args.lr, batch_size=args.batch, crop=256)
        added = codec.version(
            adapt(codec, images, "naive", args.parent, settings, show, False, checkpoint=checkpoint).version
        )
    else:
        settings = ContextSettings(steps=args.steps, groups=args.groups)
        added = codec.append(fit_context(codec, args.parent, images, settings, show, checkpoint))
    codec.save(args.out)
    what = "every layer trained" if args.joint else "context"
    print(f"{args.out}: version {added.id} ({added.fingerprint}), {what} on version {args.parent}")


if __name__ == "__main__":
    main()
