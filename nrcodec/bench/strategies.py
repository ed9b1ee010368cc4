"""The PNR paper's comparison on the sample clips: every strategy learns the same clip sequence.

Rows: stl (one dense archive per clip, together about the bytes of pnr at c = 0.3), mtl (one
dense network trained on all clips at once, each with its own head and biases: the upper bound),
finetune, ewc, replay, anpyc, spacenet, static (sparse, no drop-and-grow), wsn, pnr at several c,
and pnr with KRNet's ID embedding. Per run: PSNR of every session now, average PSNR and MS-SSIM,
BWT, FWT, archive bytes, bpp, training time.

FWT here: the mean, over sessions 2..N, of a session's PSNR at add time minus the PSNR the same clip
reaches alone (its stl row) — how much learning earlier clips helped (or hindered) a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.func import functional_call

from nrcodec.bench.sequence import run_sequence
from nrcodec.bench.video import scaled_architecture, width_for_weights
from nrcodec.metrics import average_and_bwt
from nrcodec.video.frames import Placement, to_training
from nrcodec.video.records import SessionInfo
from nrcodec.video.settings import SessionSettings
from nrcodec.video.supernet.config import SupernetConfig
from nrcodec.video.supernet.library import SupernetLibrary
from nrcodec.video.supernet.model import Preset
from nrcodec.video.supernet.strategies import SupernetContext
from nrcodec.video.supernet.strategies.finetune import Finetune
from nrcodec.video.trainer import train_session

Clips = list[tuple[str, np.ndarray, float]]
Say = Callable[[str], None]
STRATEGY_ROWS = ("finetune", "ewc", "replay", "anpyc", "spacenet", "static", "wsn", "pnr")
CAPACITIES = (0.1, 0.3, 0.5, 0.7)


def _label(strategy: str, capacity: float, embedding: str) -> str:
    label = f"{strategy} c={capacity:g}" if strategy == "pnr" else strategy
    return label + (" krnet" if embedding == "krnet" else "")


def stl_runs(clips: Clips, chosen: Preset, settings: SessionSettings, target_bytes: int, per_weight: float, say: Say):
    """One dense archive per clip, scaled so that together they take about ``target_bytes``.

    ``per_weight`` is what the reference paid per new weight without its masks (a dense archive has none).
    """
    width = width_for_weights(chosen.architecture, target_bytes / len(clips) / per_weight)
    config = SupernetConfig(
        preset=chosen.name, architecture=scaled_architecture(chosen.architecture, width), capacity=1.0
    )
    rows, seconds, total = [], 0.0, 0
    for name, frames, fps in clips:
        say(f"stl (width {width:g}): {name}")
        run = run_sequence([(name, frames, fps)], config, settings)
        row = dict(run["sessions"][0], session=len(rows) + 1)
        rows.append(row)
        seconds += run["seconds"]
        total += run["bytes"]
    return {"label": "stl", "strategy": "stl", "width": width, "sessions": rows, "bytes": total, "seconds": seconds}


class Joint(Finetune):
    """Multi-task learning as a plugin on the one loop: while session 1 trains on its clip, every
    step also takes one batch of each other clip, through that clip's own head and biases (trained
    too). Not registered: it is the upper-bound baseline of the comparison, not a way to grow an archive."""

    name = "mtl"

    def __init__(self, others: list[tuple[torch.Tensor, Placement]], batch_size: int, seed: int) -> None:
        super().__init__()
        self.others = others
        self.batch_size = batch_size
        self.generator = torch.Generator().manual_seed(seed)
        self.dense: list[dict[str, torch.nn.Parameter]] = []

    def before_session(self, ctx: SupernetContext) -> None:
        super().before_session(ctx)
        names = ctx.model.session_parameter_names()
        tensors = ctx.model.session_tensors()
        self.dense = [
            {names[n]: torch.nn.Parameter(t.detach().clone()) for n, t in tensors.items()} for _ in self.others
        ]

    def extra_parameters(self) -> list[torch.Tensor]:
        return [p for dense in self.dense for p in dense.values()]

    def extra_loss(self, ctx: SupernetContext) -> torch.Tensor | None:
        loss = torch.zeros((), device=ctx.model.head.weight.device)
        for j, ((target, placement), dense) in enumerate(zip(self.others, self.dense), start=2):
            idx = torch.randint(target.shape[0], (self.batch_size,), generator=self.generator)
            out = placement.crop(functional_call(ctx.model, dense, (j, idx, target.shape[0])))
            loss = loss + ctx.loss(out, target[idx])
        return loss


def mtl_run(clips: Clips, chosen: Preset, settings: SessionSettings, say: Say) -> dict[str, Any]:
    """Train one dense network on all clips at once (``Joint`` on the one loop); every clip keeps its
    own head and biases.

    The result is stored as a finetune archive would store it (session 1 writes every weight, later
    sessions only their dense tensors), so bytes are real.
    """
    library = SupernetLibrary(
        SupernetConfig(preset=chosen.name, architecture=chosen.architecture, capacity=1.0, strategy="finetune")
    )
    canvas = chosen.architecture.canvas
    placements = [Placement.compute((f.shape[2], f.shape[1]), canvas) for _, f, _ in clips]
    targets = [to_training(f, p) for (_, f, _), p in zip(clips, placements)]
    joint = Joint(list(zip(targets[1:], placements[1:])), settings.batch_size, settings.seed)
    say(f"mtl: {len(clips)} clips jointly")
    first = library.start_session(clips[0][1], settings)
    seconds = train_session(first.ctx, joint, targets[0], settings)
    names = library.model.session_parameter_names()
    rows, total = [], 0
    for (name, frames, fps), dense in zip(clips, [None, *joint.dense]):
        pending = library.start_session(frames, settings) if library.records else first
        if dense is not None:
            with torch.no_grad():
                for n, t in library.model.session_tensors().items():
                    t.copy_(dense[names[n]])
        result = library.finish_session(pending, frames, name, fps, settings, seconds / len(clips))
        chunk = len(result.chunk)
        total += chunk
        rows.append(_row(result.info, chunk, seconds / len(clips)))
    return {"label": "mtl", "strategy": "mtl", "sessions": rows, "bytes": total, "seconds": round(seconds, 2)}


def _row(info: SessionInfo, nbytes: int, seconds: float) -> dict[str, Any]:
    """An mtl row: the clips are learned together and nothing changes afterwards, so now = at add."""
    return {
        "session": info.session,
        "name": info.name,
        "psnr_at_add": info.psnr,
        "ms_ssim_at_add": info.ms_ssim,
        "psnr_now": info.psnr,
        "ms_ssim_now": info.ms_ssim,
        "bytes": nbytes,
        "bpp": info.bpp(nbytes),
        "seconds": round(seconds, 2),
    }


def summarize(run: dict[str, Any], clips: Clips, stl: dict[str, Any] | None) -> dict[str, Any]:
    """Average PSNR / MS-SSIM now, BWT, FWT against stl, bpp over all clips."""
    rows = run["sessions"]
    avg, bwt = average_and_bwt([r["psnr_at_add"] for r in rows], [r["psnr_now"] for r in rows])
    ssim = [r["ms_ssim_now"] for r in rows if r["ms_ssim_now"] is not None]
    pixels = sum(frames[..., 0].size for _, frames, _ in clips)
    fwt = None
    if stl is not None and len(rows) > 1:
        fwt = float(np.mean([r["psnr_at_add"] - s["psnr_at_add"] for r, s in zip(rows[1:], stl["sessions"][1:])]))
    run.update(
        avg_psnr=round(avg, 4),
        avg_ms_ssim=round(float(np.mean(ssim)), 6) if ssim else None,
        bwt_psnr=round(bwt, 4),
        fwt_psnr=None if fwt is None else round(fwt, 4),
        bpp=run["bytes"] * 8 / pixels,
    )
    return run


def run_strategies(
    clips: Clips,
    chosen: Preset,
    settings: SessionSettings,
    capacity: float = 0.3,
    strategies: tuple[str, ...] = STRATEGY_ROWS,
    capacities: tuple[float, ...] = CAPACITIES,
    baselines: bool = True,
    krnet: bool = True,
    say: Say = lambda _: None,
) -> list[dict[str, Any]]:
    """Every run of the comparison, summarized; stl and mtl first when ``baselines``."""
    plan = [(s, capacity, "sinusoidal") for s in strategies]
    plan += [("pnr", c, "sinusoidal") for c in capacities if "pnr" in strategies and c != capacity]
    if krnet and "pnr" in strategies:
        plan.append(("pnr", capacity, "krnet"))
    runs: list[dict[str, Any]] = []
    for strategy, c, embedding in plan:
        config = SupernetConfig(
            preset=chosen.name,
            architecture=chosen.architecture.with_embedding(embedding),
            capacity=c,
            strategy=strategy,
        )
        label = _label(strategy, c, embedding)
        run = run_sequence(clips, config, settings, lambda s, name, label=label: say(f"{label}: session {s} ({name})"))
        runs.append(dict(run, label=label, embedding=embedding))
    stl = None
    if baselines:
        reference = next((r for r in runs if r["strategy"] == "pnr" and r["capacity"] == capacity), runs[0])
        new_weights = sum(r["new_weights"] for r in reference["sessions"])
        per_weight = (reference["bytes"] - reference["mask_bytes"]) / max(1, new_weights)
        stl = stl_runs(clips, chosen, settings, reference["bytes"], per_weight, say)
        runs = [stl, mtl_run(clips, chosen, settings, say), *runs]
    return [summarize(run, clips, stl) for run in runs]


def orderings(runs: list[dict[str, Any]], capacity: float) -> list[dict[str, Any]]:
    """The orderings the papers claim, each checked on these runs: held or not, with the numbers."""
    by = {r["label"]: r for r in runs}
    pnr = by.get(_label("pnr", capacity, "sinusoidal"))
    checks = []

    def check(claim: str, held: bool, numbers: str) -> None:
        checks.append({"claim": claim, "held": held, "numbers": numbers})

    if pnr and "wsn" in by:
        a, b = pnr["avg_psnr"], by["wsn"]["avg_psnr"]
        check("pnr (re-init) >= wsn, average PSNR", a >= b, f"{a:.2f} vs {b:.2f} dB")
    if "spacenet" in by and "static" in by:
        a, b = by["spacenet"]["avg_psnr"], by["static"]["avg_psnr"]
        check("spacenet >= static sparse, average PSNR", a >= b, f"{a:.2f} vs {b:.2f} dB")
    if "anpyc" in by and "ewc" in by:
        a, b = by["anpyc"]["bwt_psnr"], by["ewc"]["bwt_psnr"]
        check("anpyc BWT >= ewc BWT", a >= b, f"{a:+.2f} vs {b:+.2f} dB")
    if pnr and "replay" in by and "ewc" in by:
        a, b, c = pnr["avg_psnr"], by["replay"]["avg_psnr"], by["ewc"]["avg_psnr"]
        check("pnr >= replay > ewc, average PSNR", a >= b > c, f"{a:.2f} / {b:.2f} / {c:.2f} dB")
    return checks


def markdown(runs: list[dict[str, Any]], checks: list[dict[str, Any]], clip_names: list[str]) -> str:
    """The comparison table and the orderings, as Markdown."""
    columns = " | ".join(f"S{i + 1} {n}" for i, n in enumerate(clip_names))
    lines = [
        f"| run | {columns} | avg PSNR | avg MS-SSIM | BWT | FWT | bytes | bpp | time (s) |",
        "|---|" + "---|" * len(clip_names) + "---|---|---|---|---|---|---|",
    ]
    for run in runs:
        cells = " | ".join(f"{r['psnr_now']:.2f}" for r in run["sessions"])
        ssim = "n/a" if run["avg_ms_ssim"] is None else f"{run['avg_ms_ssim']:.4f}"
        fwt = "n/a" if run["fwt_psnr"] is None else f"{run['fwt_psnr']:+.2f}"
        lines.append(
            f"| {run['label']} | {cells} | {run['avg_psnr']:.2f} | {ssim} | {run['bwt_psnr']:+.2f} | {fwt} | "
            f"{run['bytes']:,} | {run['bpp']:.3f} | {run['seconds']:.0f} |"
        )
    lines += ["", "| ordering claimed by the papers | here | numbers |", "|---|---|---|"]
    lines += [f"| {c['claim']} | {'held' if c['held'] else 'not held'} | {c['numbers']} |" for c in checks]
    return "\n".join(lines) + "\n"
