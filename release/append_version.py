"""Append a trained version of one codec file to another as a new version, so that the bitstreams
of every version already there keep decoding.

Two uses (notes/image.md):
- a run trained on with ``train-image-codec --init`` (its version 0, checked to be trained from the
  codec's version 0) becomes the codec's next version, mode ``naive``, parent 0: the shipped version 1;
- ``--version K --parent P``: version K of a copy of the codec (the codec's versions a prefix of it)
  that stores every weight (mode ``naive``), trained in stages through versions the codec does not
  ship, becomes the codec's next version with parent P. Its info keeps the stage it started from
  (``init``: that version's fingerprint; ``before``: that version's info), so the lineage stays written.

Usage: python release/append_version.py TRAINED.nic CODEC.nic [--version K --parent P]
(CODEC.nic is updated atomically)
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from nrcodec.image import Codec
from nrcodec.image.codec_file import Version


def _trained_on(trained: Codec, codec: Codec) -> Version:
    """The version 0 of a ``--init`` run of ``codec``, as its next version (parent 0)."""
    base = trained.version(0)
    if base.info.get("init") != codec.fingerprint:
        raise SystemExit(f"the trained file was not trained on from the codec (its --init is {base.info.get('init')})")
    return replace(base, id=-1, parent=0, mode="naive", fingerprint="")


def _staged(trained: Codec, codec: Codec, vid: int, parent: int) -> Version:
    """Version ``vid`` of a copy of ``codec`` grown by training stages, as ``codec``'s next version."""
    if [v.fingerprint for v in trained.versions[: len(codec.versions)]] != [v.fingerprint for v in codec.versions]:
        raise SystemExit("the trained file does not start with the codec's versions")
    version = trained.version(vid)
    if version.mode != "naive" or version.parent is None:
        raise SystemExit(f"version {vid} is a {version.mode} version; only one that stores every weight can move")
    if codec.version(parent).architecture != version.architecture:
        raise SystemExit(f"version {vid}'s model is not version {parent}'s")
    start = trained.version(version.parent)
    info = dict(version.info, init=start.fingerprint, before=start.info)
    return replace(version, id=-1, parent=parent, fingerprint="", info=info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trained", help="codec file holding the trained version")
    parser.add_argument("codec", help="codec file that gets it as its next version")
    parser.add_argument("--version", type=int, help="the trained file's version to append (default: its version 0)")
    parser.add_argument("--parent", type=int, help="the parent it gets in the codec, with --version")
    args = parser.parse_args()
    trained, codec = Codec.load(args.trained), Codec.load(args.codec)
    if (args.version is None) != (args.parent is None):
        raise SystemExit("--version and --parent go together")
    version = (
        _trained_on(trained, codec) if args.version is None else _staged(trained, codec, args.version, args.parent)
    )
    if any(v.tensors_blob == version.tensors_blob for v in codec.versions):
        raise SystemExit(f"{args.codec} already holds these weights")
    added = codec.append(version)
    codec.save(args.codec)
    print(f"{args.codec}: version {added.id} ({added.fingerprint}) appended from {args.trained}")


if __name__ == "__main__":
    main()
