"""A grow session that starts from an earlier session's blocks and head, at its width or narrower.

A frame-index NeRV keeps each frame's content in its stem, so a later session starts with a fresh
stem; its blocks and head (what turns features into texture) start from the earlier session's stored
values and are trained on. A narrower network (a lower quality level, a shorter clip) takes, in every layer,
the channels that carry most of the earlier network's signal: the product of the norms of the
weights that make a channel and of the weights that read it (the usual magnitude criterion of
channel pruning); a wider one takes them all and starts its other channels fresh. Only the start is
inherited: the session stores its whole network and decodes alone.
"""

from __future__ import annotations

import numpy as np
import torch

from nrcodec.format.session import SessionRecord
from nrcodec.video.grow.network import SessionNet
from nrcodec.video.nerv import NervLayout


def fits(child: NervLayout, parent: NervLayout) -> bool:
    """Whether a network of ``child`` can start from one of ``parent``: the same strides (the blocks
    are convolutions, so the feature grid and the widths may differ)."""
    return child.strides == parent.strides


def inherit(net: SessionNet, parent: SessionRecord, parent_layout: NervLayout) -> bool:
    """Load ``parent``'s blocks and head into ``net``: in every layer the ``min(own, parent's)``
    channels that carry most of the parent's signal go first, in the parent's order; a wider layer's
    other channels keep their fresh start. False (``net`` untouched) when ``net`` does not fit."""
    if not fits(net.arch, parent_layout):
        return False
    weights = {name: _stored(parent, name) for name in parent.dense if not name.startswith("stem.")}
    strides = net.arch.strides
    convs = [weights[f"blocks.{i}.weight"] for i in range(len(net.blocks))]
    reads = [*convs, weights["head.weight"]]
    kept = []
    for i, width in enumerate(net.arch.channels):
        score = np.linalg.norm(reads[i].transpose(1, 0, 2, 3).reshape(reads[i].shape[1], -1), axis=1)
        if i:
            made = convs[i - 1].reshape(-1, strides[i - 1] ** 2 * convs[i - 1][0].size)
            score = score * np.linalg.norm(made, axis=1)
        kept.append(np.sort(np.argsort(-score, kind="stable")[:width]))
    with torch.no_grad():
        for i, block in enumerate(net.blocks):
            square = strides[i] ** 2
            theirs = (kept[i + 1][:, None] * square + np.arange(square)).reshape(-1)
            ins, outs = len(kept[i]), len(theirs)
            block.weight[:outs, :ins] = torch.from_numpy(convs[i][theirs][:, kept[i]])
            block.bias[:outs] = torch.from_numpy(weights[f"blocks.{i}.bias"][theirs])
        net.head.weight[:, : len(kept[-1])] = torch.from_numpy(weights["head.weight"][:, kept[-1]])
        net.head.bias.copy_(torch.from_numpy(weights["head.bias"]))
    return True


def _stored(record: SessionRecord, name: str) -> np.ndarray:
    """Tensor ``name`` of ``record`` as its decoder uses it (dequantized, in its stored shape)."""
    return record.dense[name].dequantize(np.zeros(1, np.int64)).reshape(record.shapes[name])
