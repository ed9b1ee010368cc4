"""Sweep strategy options on the three sample clips (16 frames, tiny, 20 epochs): the runs behind
the λ / pruning table in notes/video.md.

    python bin/strategy_sweep.py 'ewc:{"strength": 1e4}' 'anpyc:{"strength": 1e7, "prune": 0.05}' pnr:{}
"""

from __future__ import annotations

import json
import sys
import time

from nrcodec.bench.sequence import run_sequence
from nrcodec.media.video import read_video
from nrcodec.runtime import TrainSettings
from nrcodec.video.library import LibraryConfig
from nrcodec.video.model import preset

if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    tiny = preset("tiny")
    clips = [read_video(f"samples/{name}.mp4", 16) for name in ("bunny", "meadow", "closeup")]
    settings = TrainSettings(20, tiny.batch_size, tiny.lr)
    for item in sys.argv[1:]:
        name, options = item.split(":", 1)
        start = time.perf_counter()
        config = LibraryConfig("tiny", tiny.architecture, strategy=name, strategy_options=json.loads(options))
        run = run_sequence([(c.name, c.frames, c.fps) for c in clips], config, settings)
        sessions = [(r["psnr_at_add"], r["psnr_now"]) for r in run["sessions"]]
        print(name, options, sessions, run["avg_psnr"], run["bwt_psnr"], f"{time.perf_counter() - start:.1f}s")
