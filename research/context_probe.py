"""Which context pays on the shipped ladder's frozen latents? (issue 30, lever 3; notes/image.md)

    python research/context_probe.py cb 1000       # checkerboard alone
    python research/context_probe.py cbch-4 1000   # 4 channel groups, checkerboard in each
    python research/context_probe.py cbch-8 1000

Computes the latents of the corpus's training and held-out photos at every level with version 1 of
the shipped codec (cached in out/context/*.safetensors), trains a context on the training latents
(Adam, lr 1e-3 cosine, 16 crops of 16x16 latents a step, rate only) and prints the change of the
held-out latents' bits (rounded around the means, as coded) against version 1, per quality level.
The design ``cbch-G`` splits the 192 latent channels into G equal groups coded in order, each seeing
the groups before it (a 3x3 convolution) and, for its non-anchors, its own anchors (5x5); ``cb`` is
one group. One thread; the corpus from data/prepare_image_corpus.py in /work/corpus.
"""

from __future__ import annotations

import glob
import math
import os
import random
import sys
import time

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from nrcodec.image.codec import Codec, to_tensor
from nrcodec.image.models.factorized import pad_image
from nrcodec.image.shipped import DEFAULT_CODEC
from nrcodec.media.images import read_image
from nrcodec.nn import gaussian_conditional as gaussian

LATENTS, FEATURES = 192, 128
Item = tuple[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


def bank(model: nn.Module, paths: list[str], cache: str) -> list[Item]:
    """(level, latents, hyper-features, means, scales) of every image at every level."""
    if os.path.exists(cache):
        d = load_file(cache)
        return [(int(d[f"l{i}"]), d[f"y{i}"], d[f"h{i}"], d[f"m{i}"], d[f"s{i}"]) for i in range(len(d) // 5)]
    items = []
    with torch.no_grad():
        for path in paths:
            y0 = model.g_a(pad_image(to_tensor(read_image(path)), 64))
            for level in range(6):
                y = y0 * model.gain[level][None, :, None, None]
                z = model.h_a(y) * model.hyper_gain[level][None, :, None, None]
                h = model.h_s(torch.round(z) * model.hyper_inverse_gain[level][None, :, None, None])
                scales = model.h_s_scale(h).clamp_min(gaussian.SCALE_MIN)
                items.append((level, y, h, model.h_s_mean(h), scales))
    tensors = {}
    for i, (level, *values) in enumerate(items):
        tensors[f"l{i}"] = torch.tensor(level)
        tensors.update({f"{k}{i}": v.contiguous() for k, v in zip("yhms", values)})
    save_file(tensors, cache)
    return items


def _head(cin: int, hidden: int, cout: int) -> nn.Sequential:
    last = nn.Conv2d(hidden, cout, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    layers = [nn.Conv2d(cin, hidden, 1), nn.LeakyReLU(), nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(), last]
    return nn.Sequential(*layers)


class Context(nn.Module):
    """Channel groups in order; in each, anchors then the other latents (checkerboard)."""

    def __init__(self, groups: int, spatial: int = 128, channel: int = 64, hidden: int = 256) -> None:
        super().__init__()
        self.groups, size = groups, LATENTS // groups
        spatial = spatial // groups if groups > 1 else spatial
        self.spatial = nn.ModuleList([nn.Conv2d(size, spatial, 5, padding=2) for _ in range(groups)])
        self.channel = nn.ModuleList([nn.Conv2d(size * g, channel, 3, padding=1) for g in range(1, groups)])
        before = [0] + [channel] * (groups - 1)
        self.anchor = nn.ModuleList([_head(FEATURES + c, hidden, 2 * size) for c in before])
        self.other = nn.ModuleList([_head(FEATURES + c + spatial, hidden, 2 * size) for c in before])
        self.refine_first_anchors = groups > 1

    def forward(self, item: Item, gain: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, y, h, m, s = item
        mask = torch.zeros(y.shape[-2:], dtype=torch.bool)
        mask[0::2, 0::2] = mask[1::2, 1::2] = True
        size = LATENTS // self.groups
        means, scales, done = [], [], []
        for g in range(self.groups):
            ch = slice(g * size, (g + 1) * size)
            prior = [h] + ([self.channel[g - 1](torch.cat(done, 1))] if g else [])
            am, ascale = m[:, ch], s[:, ch]
            if g or self.refine_first_anchors:
                dm, ds = self.anchor[g](torch.cat(prior, 1)).chunk(2, 1)
                am, ascale = am + dm * gain[:, ch], ascale * torch.exp(ds)
            anchors = am + torch.round(y[:, ch] - am)
            dm, ds = self.other[g](torch.cat([*prior, self.spatial[g](anchors * mask / gain[:, ch])], 1)).chunk(2, 1)
            mean = torch.where(mask, am, m[:, ch] + dm * gain[:, ch])
            scale = torch.where(mask, ascale, s[:, ch] * torch.exp(ds))
            rounded = mean + (torch.round(y[:, ch] - mean) - (y[:, ch] - mean)).detach() + (y[:, ch] - mean)
            done.append(rounded / gain[:, ch])
            means.append(mean)
            scales.append(scale)
        return torch.cat(means, 1), torch.cat(scales, 1)


def bits(context: Context, model: nn.Module, item: Item, noisy: bool) -> tuple[torch.Tensor, float]:
    """Bits of the item's latents with the context and with version 1's hyperprior alone."""
    level, y, _, m, s = item
    mean, scale = context(item, model.gain[level][None, :, None, None])
    noise = torch.empty_like(y).uniform_(-0.5, 0.5)
    ours = y + noise if noisy else mean + torch.round(y - mean)
    theirs = y + noise if noisy else m + torch.round(y - m)
    old = float(-torch.log2(gaussian.likelihood(theirs, m, s)).sum())
    return -torch.log2(gaussian.likelihood(ours, mean, scale)).sum(), old


def crop(item: Item, size: int = 16) -> Item:
    level, *values = item
    height, width = values[0].shape[-2:]
    top, left = random.randrange(max(1, height - size + 1)), random.randrange(max(1, width - size + 1))
    return level, *(v[..., top : top + size, left : left + size] for v in values)  # type: ignore[return-value]


def main() -> None:
    design, steps = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(1)
    model = Codec.load(DEFAULT_CODEC).model(1).to(memory_format=torch.contiguous_format)
    train = bank(model, sorted(glob.glob("/work/corpus/train/*.png")), "out/context/train.safetensors")
    held = bank(model, sorted(glob.glob("/work/corpus/heldout/*.png")), "out/context/heldout.safetensors")
    context = Context(int(design.split("-")[1]) if "-" in design else 1)
    print("parameters", sum(p.numel() for p in context.parameters()))
    optimizer = torch.optim.Adam(context.parameters(), lr=1e-3)
    random.seed(0)
    torch.manual_seed(0)
    start = time.time()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = 1e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
        pairs = [bits(context, model, crop(random.choice(train)), True) for _ in range(16)]
        new = torch.stack([p[0] for p in pairs]).sum()
        optimizer.zero_grad()
        (new / (16 * 256 * LATENTS)).backward()
        optimizer.step()
        if step % 250 == 0:
            print(step, f"{float(new.detach()) / sum(p[1] for p in pairs) - 1:+.2%}", f"{time.time() - start:.0f}s")
    per: dict[int, list[float]] = {}
    with torch.no_grad():
        for item in held:
            new, old = bits(context, model, item, False)
            totals = per.setdefault(item[0], [0.0, 0.0])
            totals[0] += float(new)
            totals[1] += old
    print(design, steps, " ".join(f"L{level + 1} {n / o - 1:+.2%}" for level, (n, o) in sorted(per.items())))


if __name__ == "__main__":
    main()
