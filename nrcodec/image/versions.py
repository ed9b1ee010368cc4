"""Making new versions: a base from scratch, or an adaptation of a parent in one of three modes.

- ``cawf``: every layer grows by CAWF_GROWTH filters. The parent's tensors sit unchanged at the
  origin of the grown ones and stay frozen (restored after every optimizer step); the rest is
  custom and trained, and the version gets its own entropy model. Custom inputs into the parent's
  outputs start at zero, so training starts from exactly the parent's behaviour.
- ``selective``: only the parameters the model names for it are trained (for the factorized
  model: GDN/IGDN, the entropy model and a channel-wise scale and shift after every
  convolution); the convolutions are inherited.
- ``naive``: everything is trained and stored.

How a model grows, gains scales or keeps new filters silent is the model's own (its ``Params`` and
hooks, :mod:`nrcodec.image.models`); this module only applies the mode's storage rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from nrcodec.errors import InputError
from nrcodec.image.codec import Codec
from nrcodec.image.codec_file import Version, pack_tables, pack_tensors, shared_mask
from nrcodec.image.models import Architecture, ImageModel, default_architecture

ADAPT_MODES = ("cawf", "selective", "naive")
CAWF_GROWTH = 16
ENTROPY = "entropy."


@dataclass
class Trainable:
    """A model being trained for a new version and the rules for what it may change."""

    model: ImageModel
    mode: str
    parent: int | None
    kinds: dict[str, str]
    frozen: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    init: str | None = None
    """For a base trained on from another codec's version 0: that version's fingerprint."""

    def parameters(self) -> list[torch.nn.Parameter]:
        """Parameters the main optimizer trains (quantiles have their own)."""
        quantiles = self.model.entropy.quantiles
        return [p for p in self.model.parameters() if p.requires_grad and p is not quantiles]

    @torch.no_grad()
    def restore_frozen(self) -> None:
        """Put the parent's values back on the shared blocks, bit for bit."""
        params = dict(self.model.named_parameters())
        for name, (mask, values) in self.frozen.items():
            param = params[name]
            param.copy_(torch.where(mask.to(param.device), values.to(param.device), param))


def new_base(architecture: Architecture | None = None, seed: int = 0) -> Trainable:
    """A freshly initialised model for version 0 (default: the default model, the shipped codec's)."""
    torch.manual_seed(seed)
    model = (architecture or default_architecture()).build()
    return Trainable(model, "base", None, {name: "full" for name, _ in model.named_parameters()})


def continued_base(codec: Codec) -> Trainable:
    """A version 0 that starts from ``codec``'s version 0 (same architecture, every weight trained):
    a longer or differently scheduled run continues a finished one as a new codec."""
    base = codec.version(0)
    model = base.architecture.build()
    model.load_state_dict(codec.state(0))
    kinds = {name: "full" for name, _ in model.named_parameters()}
    return Trainable(model, "base", None, kinds, init=base.fingerprint)


def _adapted(architecture: Architecture, mode: str) -> Architecture:
    """The architecture of a version adapted from one of ``architecture`` in ``mode``."""
    params = architecture.params
    try:
        if mode == "cawf":
            params = params.grown(CAWF_GROWTH)
        elif mode == "selective":
            params = params.with_scales()
    except ValueError as exc:
        raise InputError(f"cannot adapt in mode {mode}: {exc}") from None
    return Architecture(architecture.model, params)


def _grown(model: ImageModel, parent: int, architecture: Architecture, state: dict[str, torch.Tensor]) -> Trainable:
    """CAwF: the parent's tensors embedded, frozen, at the origin of the grown ones."""
    frozen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    kinds: dict[str, str] = {}
    with torch.no_grad():
        for name, param in model.named_parameters():
            base = state[name]
            mask = shared_mask(tuple(base.shape), tuple(param.shape))
            param[mask] = base.reshape(-1)
            if name.startswith(ENTROPY):
                kinds[name] = "full"
            else:
                kinds[name] = "grow"
                frozen[name] = (mask, param.detach().clone())
    model.silence_custom_inputs(architecture.params)
    return Trainable(model, "cawf", parent, kinds, frozen)


def prepare(codec: Codec, parent: int, mode: str, seed: int = 0) -> Trainable:
    """A trainable model for a new version adapted from ``parent``."""
    if mode not in ADAPT_MODES:
        raise InputError(f"unknown adaptation mode {mode!r} (choose {', '.join(ADAPT_MODES)})")
    architecture = codec.version(parent).architecture
    state = codec.state(parent)
    adapted = _adapted(architecture, mode)
    torch.manual_seed(seed)
    model = adapted.build()
    if mode == "cawf":
        return _grown(model, parent, architecture, state)
    missing, _ = model.load_state_dict(state, strict=False)
    if any(not n.startswith(model.SELECTIVE_ADDED) for n in missing):
        raise InputError(f"version {parent} cannot be adapted: its parameters are incomplete")
    if mode == "naive":
        return Trainable(model, mode, parent, {n: "full" for n, _ in model.named_parameters()})
    kinds = {}
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith(model.SELECTIVE_TRAINED))
        if param.requires_grad:
            kinds[name] = "full"
    return Trainable(model, mode, parent, kinds)


def settle_quantiles(model: ImageModel, steps: int = 500, lr: float = 5e-2) -> None:
    """Converge the entropy model's quantiles (a data-free fit) before its tables are frozen."""
    quantiles = model.entropy.quantiles
    optimizer = torch.optim.Adam([quantiles], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        model.entropy.aux_loss().backward()
        optimizer.step()


def finalize(trainable: Trainable, info: dict[str, Any]) -> Version:
    """Freeze a trained model into a version: stored tensors by kind, integer tables, metadata."""
    model = trainable.model.cpu().eval()
    settle_quantiles(model)
    trainable.restore_frozen()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(param.to(model.STORE_DTYPE).float())
    stored = {}
    params = dict(model.named_parameters())
    for name, kind in trainable.kinds.items():
        value = params[name].detach()
        stored[name] = value[~trainable.frozen[name][0]] if kind == "grow" else value
    added = sum(t.numel() for t in stored.values())
    tables = model.integer_tables()
    return Version(
        id=-1,
        parent=trainable.parent,
        mode=trainable.mode,
        architecture=model.architecture,
        kinds=dict(trainable.kinds),
        tensors_blob=pack_tensors(stored, model.STORE_DTYPE),
        tables_blob=pack_tables(tables),
        info=dict(info, added_parameters=added),
    )
