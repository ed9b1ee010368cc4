"""Making new versions: a base from scratch, or an adaptation of a parent in one of three modes.

- ``cawf``: every layer grows by CAWF_GROWTH filters. The parent's tensors sit unchanged at the
  origin of the grown ones and stay frozen (restored after every optimizer step); the rest is
  custom and trained, and the version gets its own entropy model. Custom inputs into the parent's
  outputs start at zero, so training starts from exactly the parent's behaviour.
- ``selective``: only GDN/IGDN, the entropy model and a channel-wise scale and shift after every
  convolution are trained; the convolutions are inherited.
- ``naive``: everything is trained and stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from nrcodec.errors import InputError
from nrcodec.image.codec import Codec
from nrcodec.image.codec_file import Version, pack_tables, pack_tensors, shared_mask
from nrcodec.image.model import LAYERS, FactorizedPrior

ADAPT_MODES = ("cawf", "selective", "naive")
CAWF_GROWTH = 16
BASE_WIDTH = 64
_SELECTIVE = ("enc_gdn.", "dec_gdn.", "enc_alpha.", "enc_beta.", "dec_alpha.", "dec_beta.", "entropy.")


@dataclass
class Trainable:
    """A model being trained for a new version and the rules for what it may change."""

    model: FactorizedPrior
    mode: str
    parent: int | None
    kinds: dict[str, str]
    frozen: dict[str, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    def parameters(self) -> list[torch.nn.Parameter]:
        """Parameters the main optimizer trains (quantiles have their own)."""
        return [p for n, p in self.model.named_parameters() if p.requires_grad and n != "entropy.quantiles"]

    @torch.no_grad()
    def restore_frozen(self) -> None:
        """Put the parent's values back on the shared blocks, bit for bit."""
        params = dict(self.model.named_parameters())
        for name, (mask, values) in self.frozen.items():
            param = params[name]
            param.copy_(torch.where(mask.to(param.device), values.to(param.device), param))


def new_base(width: int = BASE_WIDTH, seed: int = 0) -> Trainable:
    torch.manual_seed(seed)
    model = FactorizedPrior(width)
    return Trainable(model, "base", None, {name: "full" for name, _ in model.named_parameters()})


def _zero_custom_inputs(model: FactorizedPrior, parent_width: int) -> None:
    """Custom channels must not reach the parent's channels until training says so."""
    with torch.no_grad():
        for i in range(1, LAYERS):
            model.enc[i].weight[:parent_width, parent_width:] = 0
        for i in range(LAYERS):
            out = model.dec[i].weight.shape[1] if i == LAYERS - 1 else parent_width
            model.dec[i].weight[parent_width:, :out] = 0


def prepare(codec: Codec, parent: int, mode: str, seed: int = 0) -> Trainable:
    """A trainable model for a new version adapted from ``parent``."""
    if mode not in ADAPT_MODES:
        raise InputError(f"unknown adaptation mode {mode!r} (choose {', '.join(ADAPT_MODES)})")
    info = codec.version(parent)
    state = codec.state(parent)
    torch.manual_seed(seed)
    if mode == "cawf":
        model = FactorizedPrior(info.width + CAWF_GROWTH, info.affine)
        frozen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        kinds: dict[str, str] = {}
        with torch.no_grad():
            for name, param in model.named_parameters():
                base = state[name]
                mask = shared_mask(tuple(base.shape), tuple(param.shape))
                param[mask] = base.reshape(-1)
                if name.startswith("entropy."):
                    kinds[name] = "full"
                else:
                    kinds[name] = "grow"
                    frozen[name] = (mask, param.detach().clone())
        _zero_custom_inputs(model, info.width)
        return Trainable(model, mode, parent, kinds, frozen)
    affine = info.affine or mode == "selective"
    model = FactorizedPrior(info.width, affine)
    missing, _ = model.load_state_dict(state, strict=False)
    if any(not n.startswith(("enc_alpha.", "enc_beta.", "dec_alpha.", "dec_beta.")) for n in missing):
        raise InputError(f"version {parent} cannot be adapted: its parameters are incomplete")
    if mode == "naive":
        return Trainable(model, mode, parent, {n: "full" for n, _ in model.named_parameters()})
    kinds = {}
    for name, param in model.named_parameters():
        param.requires_grad_(name.startswith(_SELECTIVE))
        if param.requires_grad:
            kinds[name] = "full"
    return Trainable(model, mode, parent, kinds)


def settle_quantiles(model: FactorizedPrior, steps: int = 500, lr: float = 5e-2) -> None:
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
    stored = {}
    params = dict(model.named_parameters())
    for name, kind in trainable.kinds.items():
        value = params[name].detach()
        stored[name] = value[~trainable.frozen[name][0]] if kind == "grow" else value
    added = sum(t.numel() for t in stored.values())
    tables = model.entropy.integer_tables()
    return Version(
        id=-1,
        parent=trainable.parent,
        mode=trainable.mode,
        width=model.width,
        affine=model.affine,
        kinds=dict(trainable.kinds),
        tensors_blob=pack_tensors(stored),
        tables_blob=pack_tables(tables),
        info=dict(info, added_parameters=added),
    )
