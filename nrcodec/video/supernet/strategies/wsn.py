"""WSN (Kang et al. 2022) on video: PNR's subnetworks without re-drawing the scores each session.

Scores carry over from one session to the next within a process. They are training state, not
part of the archive, so a library reopened from a file starts the next session from the seed's
initial scores.
"""

from __future__ import annotations

from nrcodec.video.supernet.strategies.base import NoOptions, register
from nrcodec.video.supernet.strategies.pnr import PNR


@register
class WSN(PNR):
    name = "wsn"
    Options = NoOptions

    def reinit(self) -> bool:
        return False
