"""Rate probe for issue 12: what a *dense* nrcodec network, trained for a wall-clock budget with
quantization-aware weights and stored as entropy-coded integers, costs in bytes against x264 medium
(results and conclusions: notes/rate.md).

Nothing here changes the package: it builds a Supernet with every weight selected (no masks), trains
it with the package's loss and warm-up + cosine schedule (over a time budget instead of epochs; by
default the process's CPU time, so a shared machine does not shorten training),
quantizes every tensor symmetrically to b bits (like ``format.quant`` with b instead of 8), codes each
tensor with ``format.entropy`` (constriction ANS under its own histogram) and measures PSNR of the
dequantized network at the source size. Anchors come from ``bench.anchors.encode_video``.

    python bin/rate_probe.py anchors --out out/rate/results.jsonl
    python bin/rate_probe.py train --clip bunny --width 1 --seconds 900 --eval-bits 8,6,5,4 \\
        --out out/rate/results.jsonl
    python bin/rate_probe.py train --clip bunny --seconds 900 --qat-bits 5 --qat-start 0.6 --eval-bits 5
    python bin/rate_probe.py layers --config bunny-w1-900s-float-pnr-seed0 --bits 6,4
    python bin/rate_probe.py report --out out/rate/results.jsonl

Every result is one JSON line appended to ``--out``; a config whose line is already there is skipped,
and a training run that was killed resumes from its checkpoint (``--work``, written every
``--checkpoint-s`` seconds of training). Run with OMP_NUM_THREADS=1; ``--threads`` defaults to 1.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from nrcodec.bench.anchors import VideoAnchor, encode_video
from nrcodec.bench.rd import pareto
from nrcodec.format.entropy import FrequencyTable, encode
from nrcodec.media.video import ffmpeg_available_encoders, read_video
from nrcodec.metrics import psnr
from nrcodec.video.frames import Placement, to_source, to_training
from nrcodec.video.model import Architecture, Supernet
from nrcodec.video.trainer import lr_lambda, reconstruction_loss

CLIP_DIR = Path(os.environ.get("NRCODEC_CLIPS", "/work/clips"))
FRAMES = 120
CRFS = tuple(range(12, 52, 3))
SMALL_BITS = 8
"""Biases and the RGB head (a few hundred values) are always stored at this many bits."""


@dataclass(frozen=True)
class ClipSpec:
    """A test clip: file, size it is coded at (w, h) and the dense network that generates it."""

    file: str
    size: tuple[int, int]
    arch: Architecture
    batch: int = 4
    lr: float = 5e-3


# Each architecture generates the clip at its own size (canvas = source, or a few rows more that are
# cropped off): no scaling into a shared canvas. Widths of the small preset (stem 128, 32/48/32/24).
CLIPS = {
    "bunny": ClipSpec(
        "bigbuckbunny.mp4",
        (320, 180),
        Architecture(canvas=(320, 180), feature=(9, 16), stem_hidden=128, channels=(32, 48, 32, 24), strides=(5, 2, 2)),
    ),
    "carphone": ClipSpec(
        "carphone_pristine.mp4",
        (176, 144),
        Architecture(canvas=(176, 144), feature=(9, 11), stem_hidden=128, channels=(32, 48, 32, 24), strides=(4, 2, 2)),
    ),
    "bikes": ClipSpec(
        "bikes.mp4",
        (640, 272),
        Architecture(
            canvas=(640, 288), feature=(9, 20), stem_hidden=128, channels=(32, 48, 32, 24, 16), strides=(4, 2, 2, 2)
        ),
    ),
}


def load_clip(name: str) -> tuple[np.ndarray, float]:
    """The first 120 frames of a clip as uint8 (T, H, W, 3) at the size it is coded at."""
    spec = CLIPS[name]
    clip = read_video(CLIP_DIR / spec.file, FRAMES)
    frames = clip.frames
    if frames.shape[0] < FRAMES:
        raise SystemExit(f"{spec.file}: {frames.shape[0]} frames, need {FRAMES}")
    if frames.shape[1:3] != spec.size[::-1]:
        frames = np.stack([np.asarray(Image.fromarray(f).resize(spec.size, Image.Resampling.LANCZOS)) for f in frames])
    return frames, clip.fps


def scaled(arch: Architecture, width: float) -> Architecture:
    """``bench.video.scaled_architecture`` (same rule), repeated so the probe imports nothing it changes."""
    if width == 1:
        return arch
    return Architecture(
        canvas=arch.canvas,
        feature=arch.feature,
        stem_hidden=max(8, round(arch.stem_hidden * width)),
        channels=tuple(max(4, round(c * width)) for c in arch.channels),
        strides=arch.strides,
    )


# ------------------------------------------------------------------------------------------- results
def read_results(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def append_result(path: Path, row: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


def bytes_at_psnr(anchor: list[tuple[float, float]], target: float) -> tuple[float | None, str]:
    """Anchor bytes at ``target`` dB: log(bytes) linear in PSNR between the two CRF points around it."""
    front = pareto(anchor)
    if len(front) < 2:
        return None, "fewer than two anchor points"
    rates, dists = [math.log(r) for r, _ in front], [d for _, d in front]
    if not dists[0] <= target <= dists[-1]:
        return None, f"outside the ladder ({dists[0]:.2f}-{dists[-1]:.2f} dB)"
    return float(math.exp(np.interp(target, dists, rates))), "interpolated"


# ------------------------------------------------------------------------------------------- anchors
def run_anchors(args: argparse.Namespace) -> None:
    done = {(r["clip"], r["crf"]) for r in read_results(args.out) if r.get("kind") == "anchor"}
    encoder = ffmpeg_available_encoders()["h264"]
    anchor = VideoAnchor("x264-medium", "h264", encoder, CRFS, {"preset": "medium"})
    for name in args.clips.split(","):
        frames, fps = load_clip(name)
        for crf in CRFS:
            if (name, crf) in done:
                continue
            point = encode_video(frames, fps, anchor, crf, name)
            row = {
                "kind": "anchor",
                "codec": "x264-medium",
                "clip": name,
                "crf": crf,
                "frames": int(frames.shape[0]),
                "size": [int(frames.shape[2]), int(frames.shape[1])],
                "bytes": point.bytes,
                "bpp": point.bpp,
                "psnr": point.psnr,
                "encode_s": point.encode_s,
            }
            append_result(args.out, row)
            print(f"{name} crf {crf}: {point.bytes} B, {point.psnr:.2f} dB", flush=True)


# ------------------------------------------------------------------------------------------- network
def dense_model(arch: Architecture, seed: int) -> Supernet:
    """A Supernet with every weight in use: no masks, no scores, nothing frozen."""
    torch.manual_seed(seed)
    model = Supernet(arch)
    for layer in model.masked_layers().values():
        layer.select_all()
        layer.score.requires_grad_(False)
    return model


def weight_tensors(model: Supernet) -> dict[str, torch.Tensor]:
    """Every stored tensor by name: masked weights, then the per-session dense tensors."""
    out = {f"{name}.weight": layer.weight for name, layer in model.masked_layers().items()}
    out.update(model.session_tensors())
    return out


def levels(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def fake_quant(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric per-tensor rounding to ``bits`` with a straight-through gradient."""
    scale = weight.detach().abs().max().clamp_min(1e-12) / levels(bits)
    q = torch.clamp(torch.round(weight / scale), -levels(bits), levels(bits)) * scale
    return weight + (q - weight).detach()


def set_qat(model: Supernet, bits: int | None) -> None:
    """Route every masked layer's weight through ``fake_quant`` (None: back to float weights)."""
    for layer in model.masked_layers().values():
        if bits is None:
            layer.__dict__.pop("effective_weight", None)
        else:
            layer.effective_weight = lambda layer=layer: fake_quant(layer.weight, bits)  # type: ignore[method-assign]


def rate_proxy(model: Supernet, bits: int) -> torch.Tensor:
    """Differentiable stand-in for the coded bits of the masked weights: sum of log2(1 + |w| / step)."""
    total = torch.zeros(())
    for layer in model.masked_layers().values():
        w = layer.weight
        step = w.detach().abs().max().clamp_min(1e-12) / levels(bits)
        total = total + torch.log2(1 + w.abs() / step).sum()
    return total


def quantize_tensor(values: np.ndarray, bits: int) -> tuple[np.ndarray, np.float32]:
    """``format.quant.quantize`` per tensor at ``bits`` instead of 8: q in -L..L, scale = peak / L."""
    values = values.astype(np.float32).ravel()
    scale = np.float32(np.abs(values).max() / np.float32(levels(bits)))
    safe = scale if scale > 0 else np.float32(1)
    q = np.clip(np.rint(values / safe), -levels(bits), levels(bits)).astype(np.int64)
    return q, scale


def code_model(model: Supernet, bits: int) -> tuple[dict[str, dict[str, Any]], dict[str, np.ndarray]]:
    """Quantize and entropy-code every tensor; per tensor its coded bytes, and the dequantized values."""
    parts: dict[str, dict[str, Any]] = {}
    dequant: dict[str, np.ndarray] = {}
    for name, tensor in weight_tensors(model).items():
        values = tensor.detach().cpu().numpy()
        b = bits if name.endswith(".weight") and not name.startswith("head") else SMALL_BITS
        q, scale = quantize_tensor(values, b)
        table = FrequencyTable.fit(q)
        coded = encode(q, table)
        table_bytes = len(table.to_bytes())
        parts[name] = {
            "numel": int(q.size),
            "bits": b,
            "values_bytes": len(coded),
            "table_bytes": table_bytes,
            "entropy_bits": float(table.bits(q)),
            "empirical_entropy_bits": empirical_entropy(q),
            "zeros": float((q == 0).mean()),
            "bytes": len(coded) + table_bytes + 4 + 3,  # + float32 scale + length varints
        }
        dequant[name] = (q.astype(np.float32) * scale).reshape(values.shape)
    return parts, dequant


def empirical_entropy(q: np.ndarray) -> float:
    """Code length of ``q`` under its exact histogram (the bound the 4096-count table approaches)."""
    hist = np.bincount(q - q.min())
    p = hist[hist > 0] / q.size
    return float(-(hist[hist > 0] * np.log2(p)).sum())


def header_bytes(arch: Architecture, tensors: int) -> int:
    """A realistic one-session file's fixed cost: preamble, HEAD (architecture JSON) and SESS framing,
    ~200 bytes of session metadata (frames, fps, placement, name), a blob listing per tensor."""
    config = json.dumps({"architecture": arch.to_json(), "quantization": "tensor", "seed": 0}, sort_keys=True)
    return 6 + 12 + 4 + len(config) + 12 + 4 + 200 + 4 * tensors


def decode_frames(model: Supernet, placement: Placement, num_frames: int) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, num_frames, 8):
            idx = torch.arange(i, min(i + 8, num_frames))
            out.append(to_source(model(1, idx, num_frames), placement))
    return np.concatenate(out)


# ------------------------------------------------------------------------------------------- training
def config_id(args: argparse.Namespace) -> str:
    qat = f"qat{args.qat_bits}@{args.qat_start:g}" if args.qat_bits else "float"
    rate = f"-rate{args.rate:g}" if args.rate else ""
    return f"{args.clip}-w{args.width:g}-{args.seconds:g}s-{qat}{rate}-{args.loss}-seed{args.seed}"


def run_train(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    cid = config_id(args)
    if any(r.get("config") == cid for r in read_results(args.out) if r.get("kind") == "nrcodec"):
        print(f"{cid}: done already, skipped", flush=True)
        return
    spec = CLIPS[args.clip]
    arch = scaled(spec.arch, args.width)
    frames, _ = load_clip(args.clip)
    num_frames = frames.shape[0]
    placement = Placement.compute(spec.size, arch.canvas)
    targets = to_training(frames, placement)
    model = dense_model(arch, args.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    lr = args.lr or spec.lr
    optimizer = torch.optim.Adam(params, lr=lr)
    schedule = lr_lambda(10_000, args.warmup)
    generator = torch.Generator().manual_seed(args.seed)
    ckpt = args.work / f"{cid}.pt"
    elapsed, step, wall_s = 0.0, 0, 0.0
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        elapsed, step, wall_s = state["elapsed"], state["step"], state["wall_s"]
        print(f"{cid}: resumed at {elapsed:.0f} s, step {step}", flush=True)
    pixels = num_frames * spec.size[0] * spec.size[1]
    print(f"{cid}: {arch.weight_count()} weights, {sum(p.numel() for p in params)} parameters", flush=True)
    model.train()
    order = torch.randperm(num_frames, generator=generator)
    pos, last_ckpt, last_print = 0, elapsed, elapsed
    loss_sum = mse_sum = 0.0
    seen = 0
    while elapsed < args.seconds:
        t0, c0 = time.perf_counter(), time.process_time()
        progress = elapsed / args.seconds
        for group in optimizer.param_groups:
            group["lr"] = lr * schedule(int(progress * 10_000))
        qat = args.qat_bits is not None and progress >= args.qat_start
        set_qat(model, args.qat_bits if qat else None)
        if pos + args.batch > num_frames:
            order, pos = torch.randperm(num_frames, generator=generator), 0
        idx = order[pos : pos + args.batch]
        pos += args.batch
        out = placement.crop(model(1, idx, num_frames))
        target = targets[idx]
        loss = F.mse_loss(out, target) if args.loss == "mse" else reconstruction_loss(out, target, 0.7)
        total = loss
        if args.rate and progress >= args.rate_start:
            total = loss + args.rate * rate_proxy(model, args.qat_bits or 8) / pixels
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        step += 1
        loss_sum += float(loss.detach()) * len(idx)
        mse_sum += float(F.mse_loss(out.detach(), target)) * len(idx)
        seen += len(idx)
        wall_s += time.perf_counter() - t0
        elapsed += time.process_time() - c0 if args.clock == "cpu" else time.perf_counter() - t0
        if elapsed - last_print >= 60 or elapsed >= args.seconds:
            train_psnr = -10 * math.log10(max(mse_sum / seen, 1e-10))
            print(
                f"  {elapsed:6.0f} s step {step} ({step * args.batch / num_frames:.1f} epochs) "
                f"loss {loss_sum / seen:.4f} train {train_psnr:.2f} dB{' qat' if qat else ''}",
                flush=True,
            )
            loss_sum = mse_sum = 0.0
            seen = 0
            last_print = elapsed
        if elapsed - last_ckpt >= args.checkpoint_s:
            save_checkpoint(ckpt, model, optimizer, generator, elapsed, step, wall_s)
            last_ckpt = elapsed
    save_checkpoint(ckpt, model, optimizer, generator, elapsed, step, wall_s)
    set_qat(model, None)
    evaluate(args, cid, model, arch, frames, placement, elapsed, wall_s, step)


def save_checkpoint(path: Path, model: Supernet, optimizer: Any, generator: Any, *numbers: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    elapsed, step, wall_s = numbers
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "generator": generator.get_state(),
        "elapsed": elapsed,
        "step": int(step),
        "wall_s": wall_s,
    }
    torch.save(state, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)


def evaluate(
    args: argparse.Namespace,
    cid: str,
    model: Supernet,
    arch: Architecture,
    frames: np.ndarray,
    placement: Placement,
    train_s: float,
    wall_s: float,
    steps: int,
) -> None:
    """Float PSNR, then per bit depth: real coded bytes and the PSNR of the dequantized network."""
    anchor_rows = [r for r in read_results(args.out) if r.get("kind") == "anchor" and r["clip"] == args.clip]
    ladder = [(r["bytes"], r["psnr"]) for r in anchor_rows]
    float_psnr = psnr(frames, decode_frames(model, placement, frames.shape[0]))
    bits_list = sorted({int(b) for b in args.eval_bits.split(",")} | ({args.qat_bits} if args.qat_bits else set()))
    num_frames = frames.shape[0]
    rows = []
    for bits in sorted(bits_list, reverse=True):
        parts, dequant = code_model(model, bits)
        quantized = copy.deepcopy(model)
        with torch.no_grad():
            for name, tensor in weight_tensors(quantized).items():
                tensor.copy_(torch.from_numpy(dequant[name]))
        quality = psnr(frames, decode_frames(quantized, placement, num_frames))
        weights = {n: p for n, p in parts.items() if p["bits"] == bits and n.endswith(".weight")}
        coded = sum(p["bytes"] for p in parts.values())
        total = coded + header_bytes(arch, len(parts))
        x264, note = bytes_at_psnr(ladder, quality)
        per_layer = {
            n: {
                "numel": p["numel"],
                "bytes": p["bytes"],
                "bits_per_weight": 8 * p["values_bytes"] / p["numel"],
                "zeros": round(p["zeros"], 4),
            }
            for n, p in parts.items()
            if p["numel"] >= 1000
        }
        row = {
            "kind": "nrcodec",
            "config": cid,
            "clip": args.clip,
            "frames": int(num_frames),
            "size": list(CLIPS[args.clip].size),
            "architecture": arch.to_json(),
            "weights": arch.weight_count(),
            "parameters": sum(p["numel"] for p in parts.values()),
            "width": args.width,
            "train_s": round(train_s, 1),
            "clock": args.clock,
            "wall_s": round(wall_s, 1),
            "steps": steps,
            "epochs": round(steps * args.batch / num_frames, 1),
            "loss": args.loss,
            "qat_bits": args.qat_bits,
            "qat_start": args.qat_start if args.qat_bits else None,
            "rate": args.rate,
            "eval_bits": bits,
            "float_psnr": float_psnr,
            "psnr": quality,
            "bytes": int(total),
            "coded_bytes": int(coded),
            "header_bytes": int(total - coded),
            "bpp": total * 8 / frames[..., 0].size,
            "bits_per_weight": 8
            * sum(p["values_bytes"] for p in weights.values())
            / sum(p["numel"] for p in weights.values()),
            "entropy_bits_per_weight": sum(p["empirical_entropy_bits"] for p in weights.values())
            / sum(p["numel"] for p in weights.values()),
            "x264_bytes": x264,
            "x264_note": note,
            "ratio": total / x264 if x264 else None,
            "layers": per_layer,
            "threads": args.threads,
            "load": os.getloadavg()[0],
        }
        append_result(args.out, row)
        rows.append(row)
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] else note
        print(
            f"{cid} @ {bits} bits: {total} B ({row['bits_per_weight']:.2f} b/w), {quality:.2f} dB "
            f"(float {float_psnr:.2f}), x264 {x264 and round(x264)} B, ratio {ratio}",
            flush=True,
        )


# ------------------------------------------------------------------------------------------- layers
def run_layers(args: argparse.Namespace) -> None:
    """Post-training sensitivity of a finished run: one layer quantized at a time, the rest float."""
    torch.set_num_threads(args.threads)
    run = next(r for r in read_results(args.out) if r.get("kind") == "nrcodec" and r["config"] == args.config)
    arch = Architecture.from_json(run["architecture"])
    frames, _ = load_clip(run["clip"])
    placement = Placement.compute(CLIPS[run["clip"]].size, arch.canvas)
    model = dense_model(arch, 0)
    model.load_state_dict(torch.load(args.work / f"{args.config}.pt", weights_only=False)["model"])
    done = {(r["layer"], r["eval_bits"]) for r in read_results(args.out) if r.get("kind") == "layer"}
    base = psnr(frames, decode_frames(model, placement, frames.shape[0]))
    for bits in (int(b) for b in args.bits.split(",")):
        parts, dequant = code_model(model, bits)
        for name in (n for n, p in parts.items() if p["bits"] == bits):
            if (f"{args.config}:{name}", bits) in done:
                continue
            quantized = copy.deepcopy(model)
            with torch.no_grad():
                weight_tensors(quantized)[name].copy_(torch.from_numpy(dequant[name]))
            quality = psnr(frames, decode_frames(quantized, placement, frames.shape[0]))
            row = {
                "kind": "layer",
                "layer": f"{args.config}:{name}",
                "eval_bits": bits,
                "numel": parts[name]["numel"],
                "bytes": parts[name]["bytes"],
                "bits_per_weight": 8 * parts[name]["values_bytes"] / parts[name]["numel"],
                "float_psnr": base,
                "psnr": quality,
                "delta_db": quality - base,
            }
            append_result(args.out, row)
            print(f"{name} @ {bits}: {row['bytes']} B, {row['delta_db']:+.3f} dB", flush=True)


# ------------------------------------------------------------------------------------------- report
def run_report(args: argparse.Namespace) -> None:
    rows = read_results(args.out)
    print("| clip | config | weights | train s | epochs | bits | b/w coded | bytes | PSNR (float) | x264 B | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r.get("kind") != "nrcodec":
            continue
        x264 = f"{r['x264_bytes']:.0f}" if r["x264_bytes"] else r["x264_note"]
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "n/a"
        print(
            f"| {r['clip']} | {r['config']} | {r['weights']} | {r['train_s']:.0f} | {r['epochs']} | {r['eval_bits']} "
            f"| {r['bits_per_weight']:.2f} | {r['bytes']} | {r['psnr']:.2f} ({r['float_psnr']:.2f}) "
            f"| {x264} | {ratio} |"
        )
    layers = [r for r in rows if r.get("kind") == "layer"]
    if layers:
        print()
        print("| run:layer | bits | weights | bytes | b/w | dB vs float |")
        print("|---|---|---|---|---|---|")
        for r in layers:
            print(
                f"| {r['layer']} | {r['eval_bits']} | {r['numel']} | {r['bytes']} | {r['bits_per_weight']:.2f} "
                f"| {r['delta_db']:+.3f} |"
            )
    print()
    print("| clip | CRF | bytes | PSNR |")
    print("|---|---|---|---|")
    for r in rows:
        if r.get("kind") == "anchor":
            print(f"| {r['clip']} | {r['crf']} | {r['bytes']} | {r['psnr']:.2f} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("anchors", "train", "layers", "report"):
        p = sub.add_parser(name)
        p.add_argument("--out", type=Path, default=Path("out/rate/results.jsonl"), help="JSON-lines results")
        if name == "anchors":
            p.add_argument("--clips", default=",".join(CLIPS))
        if name == "layers":
            p.add_argument("--config", required=True, help="a finished run's config id (its checkpoint is read)")
            p.add_argument("--bits", default="6,4")
            p.add_argument("--threads", type=int, default=1)
            p.add_argument("--work", type=Path, default=Path("out/rate/ckpt"))
        if name == "train":
            p.add_argument("--clip", choices=list(CLIPS), required=True)
            p.add_argument("--width", type=float, default=1.0, help="channel/stem factor on the clip's network")
            p.add_argument("--seconds", type=float, default=900, help="training budget, on --clock")
            p.add_argument(
                "--clock",
                choices=("cpu", "wall"),
                default="cpu",
                help="cpu: this process's CPU time (one thread: a dedicated core's wall clock, whatever else runs)",
            )
            p.add_argument("--batch", type=int, default=4)
            p.add_argument("--lr", type=float, default=None, help="default: the clip's (small preset 5e-3)")
            p.add_argument("--warmup", type=float, default=0.1)
            p.add_argument("--loss", choices=("pnr", "mse"), default="pnr", help="pnr: 0.7 L1 + 0.3 (1 - SSIM)")
            p.add_argument("--qat-bits", type=int, default=None, help="straight-through rounding at this many bits")
            p.add_argument("--qat-start", type=float, default=0.7, help="fraction of the budget before QAT starts")
            p.add_argument("--rate", type=float, default=0.0, help="weight of the rate proxy, in loss per bit/pixel")
            p.add_argument("--rate-start", type=float, default=0.0)
            p.add_argument("--eval-bits", default="8,6,5,4")
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--threads", type=int, default=1)
            p.add_argument("--work", type=Path, default=Path("out/rate/ckpt"))
            p.add_argument("--checkpoint-s", type=float, default=120)
    args = parser.parse_args(argv)
    {"anchors": run_anchors, "train": run_train, "layers": run_layers, "report": run_report}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
