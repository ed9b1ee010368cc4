"""Fuzz every reader of untrusted bytes: .nrc archives (formats 1 and 2), .nic codec files, .nri bitstreams, y4m input.

Whatever the bytes, a reader may only raise nrcodec's own errors: any other exception, an input
slower than ``fuzzing.DEADLINE_S`` or one that allocates more than ``fuzzing.MEMORY_LIMIT`` fails.
CI runs a short slice through hypothesis (so a failure shrinks); the long run is ``bin/fuzz``
(figures in notes/reliability.md). ``NRCODEC_FUZZ_EXAMPLES`` raises the slice here.
"""

from __future__ import annotations

import os
import random
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nrcodec.errors import NrcodecError
from nrcodec.format.chunks import read_chunks
from tests.fuzzing import Target, mutate, run_bounded, targets

EXAMPLES = int(os.environ.get("NRCODEC_FUZZ_EXAMPLES", "25"))
"""Examples per reader; the default is CI's short slice."""


@pytest.fixture(scope="module")
def readers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    tracemalloc.start()
    yield targets(tmp_path_factory.mktemp("fuzz"))
    tracemalloc.stop()


@pytest.mark.parametrize("name", ["nrc", "nrc2", "nic", "nri", "y4m"])
def test_fuzz_reader(name: str, readers: dict[str, Target]) -> None:
    target = readers[name]

    @settings(
        max_examples=EXAMPLES,
        deadline=timedelta(seconds=20),
        database=None,
        derandomize="NRCODEC_FUZZ_EXAMPLES" not in os.environ,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(rng=st.randoms(use_true_random=False))
    def fuzz(rng: random.Random) -> None:
        mutant = mutate(target.source, rng, target.chunked)
        run_bounded(lambda: target.read(mutant))

    fuzz()


def test_mutations_reach_past_the_crc(readers: dict[str, Target]) -> None:
    """Half the chunked mutants keep valid framing, so the decoders behind the CRC get fuzzed too."""
    source = readers["nri"].source
    framed = 0
    for seed in range(200):
        mutant = mutate(source, random.Random(seed), chunked=True)
        try:
            read_chunks(mutant)
            framed += mutant != source
        except NrcodecError:
            pass
    assert 70 <= framed <= 130
