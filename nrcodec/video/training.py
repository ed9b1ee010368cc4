"""The one session-training loop; strategies plug into its hooks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from pytorch_msssim import ssim

from nrcodec.video.frames import Placement
from nrcodec.video.strategies.base import SessionContext, Strategy


@dataclass(frozen=True)
class TrainSettings:
    """How one session trains; stored with the session so a run can be reproduced."""

    epochs: int
    batch_size: int
    lr: float
    warmup: float = 0.1
    l1_weight: float = 0.7
    seed: int = 0

    def to_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    epochs: int
    loss: float
    psnr: float
    elapsed: float

    @property
    def eta(self) -> float:
        return self.elapsed / self.epoch * (self.epochs - self.epoch)


Progress = Callable[[EpochReport], None]


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


def run_session(
    ctx: SessionContext,
    strategy: Strategy,
    targets: torch.Tensor,
    placement: Placement,
    settings: TrainSettings,
    progress: Progress | None = None,
) -> float:
    """Train the model on one session's targets (T, 3, h, w); return the wall time in seconds."""
    model = ctx.model
    device = model.head.weight.device
    torch.manual_seed(settings.seed * 1000 + ctx.session)
    targets = targets.to(device)
    num_frames = targets.shape[0]
    batch = max(1, min(settings.batch_size, num_frames))
    ctx.epochs, ctx.batch_size, ctx.num_frames, ctx.placement = settings.epochs, batch, num_frames, placement
    ctx.targets = targets
    ctx.loss = lambda out, target: reconstruction_loss(out, target, settings.l1_weight)
    strategy.begin_session(ctx)
    model.train()
    steps_per_epoch = math.ceil(num_frames / batch)
    params = [p for p in model.parameters() if p.requires_grad]
    fused = device.type in ("cpu", "cuda")
    optimizer = torch.optim.Adam(params, lr=settings.lr, fused=fused)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda(settings.epochs * steps_per_epoch, settings.warmup)
    )
    generator = torch.Generator().manual_seed(settings.seed * 1000 + ctx.session)
    start = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        order = torch.randperm(num_frames, generator=generator)
        loss_sum = mse_sum = 0.0
        for i in range(0, num_frames, batch):
            idx = order[i : i + batch]
            out = placement.crop(model(ctx.session, idx, num_frames))
            target = targets[idx.to(device)]
            loss = reconstruction_loss(out, target, settings.l1_weight)
            extra = strategy.extra_loss(ctx)
            optimizer.zero_grad(set_to_none=True)
            (loss if extra is None else loss + extra).backward()
            strategy.after_backward(ctx)
            optimizer.step()
            strategy.after_step(ctx)
            scheduler.step()
            loss_sum += float(loss.detach()) * len(idx)
            mse_sum += float(F.mse_loss(out.detach(), target)) * len(idx)
        strategy.after_epoch(ctx, epoch)
        if progress is not None:
            mse = max(mse_sum / num_frames, 1e-10)
            progress(
                EpochReport(
                    epoch, settings.epochs, loss_sum / num_frames, -10 * math.log10(mse), time.perf_counter() - start
                )
            )
    model.eval()
    return time.perf_counter() - start
