"""Which earlier session a new grow session starts from (``add-video --parent``), and the probe that
decides whether starting from it helps.

A parent lends its blocks and head to the new session's first step (``inherit``); the new session
still stores its whole network and decodes alone, so a parent is provenance, never a dependency:
decoding a child reads only the child. ``auto`` takes the most recent session whose network the new
one fits under and keeps it only if a short probe (``PROBE_EPOCHS`` passes from each start) ends
with the inherited start ahead of a fresh one; otherwise the session is the one it would have been
alone (less the probe's share of a time budget).

``none`` is the default: at add-video's default budget a parent's start measured RD-neutral (-0.2
to +0.3 dB at 0.95x to 1.13x the bytes on two related pairs and an unrelated one) while the probe
costs about a minute; with short budgets (``--epochs 30``) it gave +0.7 to +1.4 dB at the same bytes
on two of three related pairs (notes/transfer.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nrcodec.errors import UsageError
from nrcodec.format.session import SessionRecord
from nrcodec.video.grow.inherit import fits
from nrcodec.video.nerv import NervLayout
from nrcodec.video.videos import PARENT_KEY

AUTO = "auto"
NONE = "none"
Choice = int | str
"""``AUTO``, ``NONE`` or a session number (from 1)."""
PROBE_EPOCHS = 2
"""Passes each start trains in the probe before they are compared (about 3% of a default budget each)."""
PROBE_KEY = "parent_probe"
"""Metadata key with the probe's PSNR (dB) after ``PROBE_EPOCHS`` passes: [from the parent, fresh]."""


def parse_choice(text: str) -> Choice:
    """``--parent``'s value: auto, none or a video number from 1 (a UsageError otherwise)."""
    if text in (AUTO, NONE):
        return text
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise UsageError(f"--parent takes auto, none or a video number from 1, not {text!r}")


@dataclass(frozen=True)
class Candidate:
    """An earlier session a new one may start from: its number, record and network layout."""

    session: int
    record: SessionRecord
    layout: NervLayout


def candidate(choice: Choice, earlier: Sequence[Candidate], own: NervLayout) -> Candidate | None:
    """The session ``choice`` names for a new session of layout ``own``: the most recent one it fits
    under for ``AUTO`` (None if there is none), none for ``NONE``; a session number must exist and
    fit (a UsageError saying why not)."""
    if choice == NONE:
        return None
    if choice == AUTO:
        return next((c for c in reversed(earlier) if fits(own, c.layout)), None)
    if not isinstance(choice, int) or not 1 <= choice <= len(earlier):
        raise UsageError(f"--parent {choice}: the archive has {len(earlier)} sessions; give one of them, auto or none")
    named = earlier[choice - 1]
    if not fits(own, named.layout):
        raise UsageError(
            f"--parent {choice}: its network (strides {named.layout.strides}, widths {named.layout.channels}) cannot "
            f"start this clip's (strides {own.strides}, widths {own.channels}); use --parent auto or none"
        )
    return named


def decide(parent: Candidate, asked: Choice, trial: Callable[[bool], float]) -> dict[str, Any]:
    """The metadata of a session that may start from ``parent``: ``PARENT_KEY`` when it does. A
    parent the user named is taken as is; under ``AUTO`` ``trial(inherited)`` (the PSNR after the
    probe's passes) must be higher from the parent's start than from a fresh one."""
    if asked != AUTO:
        return {PARENT_KEY: parent.session}
    probe = [round(trial(True), 3), round(trial(False), 3)]
    return {PARENT_KEY: parent.session, PROBE_KEY: probe} if probe[0] > probe[1] else {PROBE_KEY: probe}
