"""Stage-2 codec on the held-out photos, real bitstreams, BD-rate against the anchors of docs/bench-image.json."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from nrcodec.bench.image import mean_curves
from nrcodec.bench.rd import bd_rate
from nrcodec.image.codec import Codec, encode_image
from nrcodec.media.images import read_image
from nrcodec.metrics import psnr

torch.set_num_threads(2)
codec = Codec.load(sys.argv[1])
bench = json.loads((Path(__file__).resolve().parents[2] / "docs" / "bench-image.json").read_text())
start = time.time()
rows = []
for f in sorted(Path(sys.argv[3] if len(sys.argv) > 3 else "/work/corpus/heldout").glob("*.png")):
    rgb = read_image(f)
    for q in range(1, 7):
        e = encode_image(codec, rgb, quality=q)
        rows.append(dict(item=f.stem, q=q, bpp=e.bpp, psnr=psnr(rgb[None], e.reconstruction[None])))
Path(sys.argv[2]).write_text(json.dumps(rows))


test = [
    (float(np.mean([r["bpp"] for r in rows if r["q"] == q])), float(np.mean([r["psnr"] for r in rows if r["q"] == q])))
    for q in range(1, 7)
]
print("stage 2:", [(round(b, 3), round(p, 2)) for b, p in test], f"{time.time() - start:.0f} s")
anchors = mean_curves(bench["points"], "psnr")
for name in ("nrcodec v0", "JPEG", "WebP", "JPEG 2000", "AVIF"):
    value, note = bd_rate(anchors[name], test)
    print(f"BD-rate of stage 2 vs {name}: {value:+.1f}% {note}")
