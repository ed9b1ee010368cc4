"""Append the version 0 of one codec file (a run trained on with ``train-image-codec --init``) to
another as a new version, so that the bitstreams of the codec it was trained from keep decoding.

The shipped codec is rebuilt this way (release/train_ladder_codec.sh, notes/image.md): a second
training stage writes its own codec file, and its weights become version 1 (mode ``naive``, every
weight stored, parent 0) of the shipped file, whose version 0 and fingerprint stay as they were.

Usage: python release/append_version.py TRAINED.nic CODEC.nic   (CODEC.nic is updated atomically)
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from nrcodec.image import Codec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trained", help="codec file whose version 0 is appended")
    parser.add_argument("codec", help="codec file that gets it as its next version")
    args = parser.parse_args()
    trained, codec = Codec.load(args.trained), Codec.load(args.codec)
    base = trained.version(0)
    if base.info.get("init") != codec.fingerprint:
        raise SystemExit(f"{args.trained} was not trained on from {args.codec} (its --init is {base.info.get('init')})")
    if any(v.tensors_blob == base.tensors_blob for v in codec.versions):
        raise SystemExit(f"{args.codec} already holds {args.trained}'s weights")
    added = codec.append(replace(base, id=-1, parent=0, mode="naive", fingerprint=""))
    codec.save(args.codec)
    print(f"{args.codec}: version {added.id} ({added.fingerprint}) appended from {args.trained}")


if __name__ == "__main__":
    main()
