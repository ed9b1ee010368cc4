"""Measurements behind notes/image.md (needs `pip install 'nrcodec[data,bench]'`).

    python data/prepare_image_data.py DATA
    python research/image_experiments.py adaptation DATA OUT_DIR   # BD-rates of cawf/selective/naive
    python research/image_experiments.py shipped DATA              # rate gap, base codec vs JPEG/WebP

``adaptation``: source codecs trained on the photos only (so the bunny clip is a new domain) at
five λ — λ = 0.01 from scratch, the others fine-tuned from it — each adapted in every mode to the 25
adaptation frames, then measured (real bitstream bytes) on every 4th held-out frame (6) and on
the held-out photos. BD-rates come from nrcodec.bench.curves (Pareto front, Akima), the same code
``nrcodec bench`` uses; JPEG/WebP anchors from nrcodec.bench.anchors.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from nrcodec.bench.anchors import image_anchors, image_points
from nrcodec.bench.curves import bd_rate, mean_defined, psnr_at_bpp
from nrcodec.image import FACTORIZED_CODEC, Codec, CodecSettings, adapt
from nrcodec.image.codec import encode_image
from nrcodec.image.evaluate import measure, psnr
from nrcodec.image.models import Architecture, model_class
from nrcodec.image.train import fit
from nrcodec.image.versions import finalize, new_base
from nrcodec.media.images import read_images
from nrcodec.runtime import StepReport

LAMBDAS = (0.0025, 0.005, 0.01, 0.02, 0.04)
SOURCE = CodecSettings(lmbda=0.01, steps=12000, crop=64, batch_size=8, lr=5e-4)
RETUNE_STEPS = 1500
ADAPT = dict(steps=400, crop=64, batch_size=8, lr=2e-4)
MODES = ("cawf", "selective", "naive")
FACTORIZED = Architecture("factorized", model_class("factorized").Params())
"""These experiments are the factorized codec's (issue 4); the ladder's are research/ladder_adaptation.py."""


def _log(every: int, label: str):
    def report(r: StepReport) -> None:
        if r.done % every == 0 or r.done == r.total:
            print(f"  {label} {r.done}/{r.total} {r.bpp:.3f} bpp {r.psnr:.2f} dB", flush=True)

    return report


def source_codecs(photos: list[np.ndarray], out: Path) -> dict[float, Codec]:
    codecs: dict[float, Codec] = {}
    first = new_base(FACTORIZED, seed=0)
    fit(first, photos, SOURCE, _log(500, "source 0.01"))
    state = {k: v.clone() for k, v in first.model.state_dict().items()}
    codecs[0.01] = Codec.create(finalize(first, SOURCE.codec_json(len(photos))))
    for lmbda in LAMBDAS:
        if lmbda == 0.01:
            continue
        settings = CodecSettings(lmbda=lmbda, steps=RETUNE_STEPS, crop=64, batch_size=8, lr=2e-4)
        trainable = new_base(FACTORIZED, seed=0)
        trainable.model.load_state_dict(state)
        fit(trainable, photos, settings, _log(250, f"source {lmbda}"))
        codecs[lmbda] = Codec.create(finalize(trainable, dict(settings.codec_json(len(photos)), from_lambda=0.01)))
    for lmbda, codec in codecs.items():
        codec.save(out / f"source-{lmbda}.nic")
    return codecs


def adaptation(data: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    photos = read_images(data / "photos-train")
    target = read_images(data / "bunny-adapt")
    held = read_images(data / "bunny-heldout")[::4]
    source_held = read_images(data / "photos-heldout")
    start = time.perf_counter()
    codecs = source_codecs(photos, out)
    results: dict[str, dict] = {
        "settings": {
            "source": SOURCE.codec_json(len(photos)),
            "retune_steps": RETUNE_STEPS,
            "adapt": ADAPT,
            "lambdas": LAMBDAS,
        },
        "points": {},
    }
    for lmbda, codec in codecs.items():
        points = {"v0": {"target": measure(codec, 0, held), "source": measure(codec, 0, source_held)}}
        for mode in MODES:
            settings = CodecSettings(lmbda=lmbda, **ADAPT)
            result = adapt(codec, target, mode, 0, settings, _log(100, f"{mode} {lmbda}"), report=False)
            points[mode] = {
                "target": measure(codec, result.version, held),
                "source": measure(codec, result.version, source_held),
                "added_parameters": result.added_parameters,
            }
        codec.save(out / f"adapted-{lmbda}.nic")
        results["points"][str(lmbda)] = points
        print(json.dumps({lmbda: points}), flush=True)
    table = {}
    for domain in ("target", "source"):
        anchor = [
            (results["points"][str(k)]["v0"][domain]["bpp"], results["points"][str(k)]["v0"][domain]["psnr"])
            for k in LAMBDAS
        ]
        for mode in MODES:
            test = [
                (results["points"][str(k)][mode][domain]["bpp"], results["points"][str(k)][mode][domain]["psnr"])
                for k in LAMBDAS
            ]
            value, why = bd_rate(anchor, test)
            table[f"{mode}_{domain}"] = {"bd_rate_percent": value, "note": why}
    results["bd_rate_vs_v0_percent"] = table
    results["seconds"] = round(time.perf_counter() - start, 1)
    (out / "adaptation.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(table, indent=2))


def shipped(data: Path) -> None:
    codec = Codec.load(FACTORIZED_CODEC)
    anchors = {a.name: a for a in image_anchors() if a.name in ("JPEG", "WebP")}
    rows = []
    for group in ("photos-heldout", "bunny-heldout"):
        for rgb in read_images(data / group):
            encoded = encode_image(codec, rgb, 0)
            coded = len(encoded.data) - encoded.header_bytes
            row = {
                "group": group,
                "width": rgb.shape[1],
                "height": rgb.shape[0],
                "bytes": len(encoded.data),
                "header_bytes": encoded.header_bytes,
                "estimated_bytes": encoded.estimated_bits / 8,
                "gap_percent": 100 * (coded / (encoded.estimated_bits / 8) - 1),
                "bpp": encoded.bpp,
                "psnr": psnr(rgb, encoded.reconstruction),
            }
            if group == "photos-heldout":
                for name, anchor in anchors.items():
                    ladder = [(p.bpp, p.psnr) for p in image_points(rgb, group, [anchor])]
                    row[f"{name.lower()}_psnr_at_bpp"] = psnr_at_bpp(ladder, encoded.bpp)
            rows.append(row)
            print(json.dumps(row), flush=True)
    gaps = [r["gap_percent"] for r in rows]
    photo = [r for r in rows if r["group"] == "photos-heldout"]
    summary = {
        "gap_percent_mean": float(np.mean(gaps)),
        "gap_percent_max": float(np.max(gaps)),
        "photos_bpp": float(np.mean([r["bpp"] for r in photo])),
        "photos_psnr": float(np.mean([r["psnr"] for r in photo])),
        **{
            f"photos_{name}_psnr_at_bpp": mean_defined([r[f"{name}_psnr_at_bpp"] for r in photo])
            for name in ("jpeg", "webp")
        },
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in ("adaptation", "shipped"):
        raise SystemExit(__doc__)
    if sys.argv[1] == "adaptation":
        adaptation(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        shipped(Path(sys.argv[2]))
