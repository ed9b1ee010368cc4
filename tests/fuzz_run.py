"""The long fuzz run over nrcodec's readers (issue 13): N seeded mutants per reader, no hypothesis.

    bin/fuzz nrc --examples 100000 [--first-seed 0]
    .venv/bin/python -m tests.fuzz_run nrc --examples 100000   # the same, from the repository root

Input ``n`` is ``tests/fuzzing.mutate(source, Random(n))``, so a run is resumed or split by seed
range and any failure is replayed from the seed it prints. Each input must end within
``DEADLINE_S`` (SIGALRM) and allocate under ``MEMORY_LIMIT``, raising only nrcodec's errors.
Prints progress every 10,000 inputs and one summary line; exits 1 at the first failure.
"""

from __future__ import annotations

import argparse
import random
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from tests.fuzzing import DEADLINE_S, mutate, run_bounded, targets


class Hang(Exception):
    """An input ran past the deadline."""


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reader", choices=["nrc", "nrc2", "nic", "nri", "y4m"])
    parser.add_argument("--examples", type=int, default=100_000)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    with tempfile.TemporaryDirectory() as scratch:
        target = targets(Path(scratch))[args.reader]
        tracemalloc.start()
        outcomes: Counter[str] = Counter()
        start, slowest = time.monotonic(), (0.0, args.first_seed)
        for seed in range(args.first_seed, args.first_seed + args.examples):
            mutant = mutate(target.source, random.Random(seed), target.chunked)
            began = time.monotonic()
            signal.alarm(DEADLINE_S)
            try:
                refused = run_bounded(lambda: target.read(mutant))  # noqa: B023 - called right here
            except Exception as err:  # a hang, a memory overrun or any escaping error is the finding
                print(f"FAIL {args.reader} seed {seed}: {type(err).__name__}: {err}", flush=True)
                return 1
            finally:
                signal.alarm(0)
            outcomes[_outcome(refused)] += 1
            slowest = max(slowest, (time.monotonic() - began, seed))
            done = seed - args.first_seed + 1
            if done % 10_000 == 0:
                print(f"{args.reader}: {done} inputs clean, {time.monotonic() - start:.0f} s", flush=True)
    print(
        f"{args.reader}: seeds {args.first_seed}..{args.first_seed + args.examples - 1} clean, "
        f"{args.examples} inputs in {time.monotonic() - start:.0f} s, "
        f"slowest {slowest[0] * 1000:.0f} ms (seed {slowest[1]})",
        flush=True,
    )
    for outcome, count in outcomes.most_common(8):
        print(f"  {count:7d}  {outcome}")
    return 0


def _outcome(refused: Exception | None) -> str:
    """What a reader made of an input: read whole, or the start of the error it gave."""
    return "read" if refused is None else " ".join(str(refused).split()[:14])


if __name__ == "__main__":
    sys.exit(main())
