"""The one session-training loop of both library kinds; a plugin (a supernet strategy, or the bare
``Plugin`` for grow) hooks into it (``video.plugin``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from pytorch_msssim import ssim

from nrcodec import parallel
from nrcodec.runtime import Progress, StepReport
from nrcodec.video.patches import Window
from nrcodec.video.plugin import Context, Plugin, SessionContext
from nrcodec.video.settings import SessionSettings


def reconstruction_loss(output: torch.Tensor, target: torch.Tensor, l1_weight: float) -> torch.Tensor:
    """PNR's loss: α·L1 + (1 − α)·(1 − SSIM), on the valid region only."""
    l1 = (output - target).abs().mean()
    if min(target.shape[-2:]) < 11:
        return l1
    return l1_weight * l1 + (1 - l1_weight) * (1 - ssim(output, target, data_range=1.0, size_average=True))


def lr_lambda(total_steps: int, warmup: float) -> Callable[[int], float]:
    """Linear warm-up, then cosine decay to zero."""
    warm = max(1, int(total_steps * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        progress = (step - warm) / max(1, total_steps - warm)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


class Budget:
    """How long a session trains: ``epochs`` passes (the step count known up front) or ``minutes``
    of wall-clock time; gives the fraction done and the learning-rate factor of every step."""

    def __init__(self, settings: SessionSettings, steps_per_epoch: int) -> None:
        self.seconds = settings.minutes * 60
        self.epochs = settings.epochs
        self.steps = settings.epochs * steps_per_epoch
        self.warmup = settings.warmup
        self.by_steps = lr_lambda(self.steps, settings.warmup)

    def fraction(self, step: int, elapsed: float) -> float:
        return min(1.0, elapsed / self.seconds) if self.seconds else step / max(1, self.steps)

    def lr_factor(self, step: int, elapsed: float) -> float:
        """Linear warm-up, then cosine decay to zero, over the steps or over the time budget."""
        if not self.seconds:
            return self.by_steps(step)
        done = self.fraction(step, elapsed)
        if done < self.warmup:
            return max(done / self.warmup, 0.01)
        return 0.5 * (1 + math.cos(math.pi * (done - self.warmup) / max(1e-9, 1 - self.warmup)))

    def elapsed(self, start: float, world: parallel.World) -> float:
        """Seconds since ``start``; rank 0's, broadcast, only where a time budget needs every rank
        to agree (an epoch budget ignores the clock, so no collective is spent on it)."""
        return parallel.elapsed(start, world) if self.seconds else time.perf_counter() - start

    def over(self, epoch: int, elapsed: float) -> bool:
        """Whether training ends after ``epoch`` epochs that took ``elapsed`` seconds."""
        return elapsed >= self.seconds if self.seconds else epoch >= self.epochs


def _optimizer(ctx: SessionContext, plugin: Plugin[Any], settings: SessionSettings) -> torch.optim.Optimizer:
    params = [p for p in ctx.model.parameters() if p.requires_grad] + plugin.extra_parameters()
    fused = ctx.model.device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=settings.lr, fused=fused)


def _forward(model: torch.nn.Module, world: parallel.World, settings: SessionSettings) -> torch.nn.Module:
    """What a training step calls: the model, under DDP when several processes train, compiled
    when asked (``--compile``)."""
    forward = parallel.wrap(model, world)
    return torch.compile(forward) if settings.compile else forward  # type: ignore[return-value]


def _step(
    ctx: Context,
    plugin: Plugin[Context],
    trainer: tuple[torch.nn.Module, torch.optim.Optimizer],
    targets: torch.Tensor,
    batch: tuple[tuple[torch.Tensor, float], Window | None],
    precision: str,
) -> tuple[float, float]:
    """One optimizer step on this rank's frames ``batch`` = ((indices, loss weight, see
    ``parallel.shard``), the patch or None for whole frames); returns their summed loss and squared
    error (0 for a rank without frames)."""
    forward, optimizer = trainer
    (idx, share), window = batch
    frames = targets[idx.to(targets.device)]
    with torch.autocast(targets.device.type, torch.bfloat16, enabled=precision == "bf16"):
        if window is None or ctx.patches is None:
            out, target = ctx.placement.crop(forward(ctx.session, idx, ctx.num_frames)).float(), frames
        else:
            (oy, ox), (ty, tx) = ctx.patches.targets(window, ctx.placement)
            out = forward(ctx.session, idx, ctx.num_frames, window)[:, :, oy, ox].float()
            target = frames[:, :, ty, tx]
    loss = ctx.loss(out, target)
    extra = plugin.extra_loss(ctx)
    optimizer.zero_grad(set_to_none=True)
    (loss * share if extra is None else loss * share + extra).backward()
    plugin.after_backward(ctx)
    optimizer.step()
    plugin.after_update(ctx)
    ctx.model.after_update(ctx.progress)
    weight = len(idx) if share else 0
    return float(loss.detach()) * weight, float(F.mse_loss(out.detach(), target)) * weight


def train_session(
    ctx: Context,
    plugin: Plugin[Context],
    targets: torch.Tensor,
    settings: SessionSettings,
    progress: Progress | None = None,
) -> float:
    """Train the model on one session's targets (T, 3, h, w); return the wall time in seconds.

    Seeds are derived from the settings' seed and the session number, so a session trains the same
    whether its library was just trained or reopened from a file (with an epoch budget; a time
    budget ends where the clock says). ``ctx.progress`` tells the hooks how far training is. Under
    torchrun every rank runs this loop on its share of each batch (``nrcodec.parallel``).
    """
    model = ctx.model
    device = model.device
    world = parallel.current()
    torch.manual_seed(settings.seed * 1000 + ctx.session)
    targets = targets.to(device)
    plugin.before_session(ctx)
    model.train()
    optimizer = _optimizer(ctx, plugin, settings)
    forward = _forward(model, world, settings)
    rounds = ctx.patches.per_pass if ctx.patches else 1
    budget = Budget(settings, math.ceil(ctx.num_frames / ctx.batch_size) * rounds)
    generator = torch.Generator().manual_seed(settings.seed * 1000 + ctx.session)
    start = time.perf_counter()
    step = epoch = 0
    while not budget.over(epoch, budget.elapsed(start, world)):
        epoch += 1
        sums = [0.0, 0.0]
        for _ in range(rounds):
            order = torch.randperm(ctx.num_frames, generator=generator)
            for i in range(0, ctx.num_frames, ctx.batch_size):
                elapsed = budget.elapsed(start, world)
                ctx.progress = budget.fraction(step, elapsed)
                for group in optimizer.param_groups:
                    group["lr"] = settings.lr * budget.lr_factor(step, elapsed)
                window = ctx.patches.draw(generator) if ctx.patches else None
                batch = (parallel.shard(order[i : i + ctx.batch_size], world), window)
                loss, mse = _step(ctx, plugin, (forward, optimizer), targets, batch, settings.precision)
                step += 1
                sums[0] += loss
                sums[1] += mse
        plugin.after_epoch(ctx, epoch)
        ctx.epochs_run = epoch
        loss_sum, mse_sum = (v / rounds for v in parallel.total(sums, world))
        if progress is not None:
            psnr = -10 * math.log10(max(mse_sum / ctx.num_frames, 1e-10))
            elapsed = time.perf_counter() - start
            done = min(round(elapsed), settings.progress_total) if settings.minutes else epoch
            progress(StepReport(done, settings.progress_total, loss_sum / ctx.num_frames, psnr, elapsed))
    parallel.check_identical(model, world)
    model.eval()
    return time.perf_counter() - start
