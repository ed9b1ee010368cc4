"""Conditional Gaussian entropy model of a hyperprior codec (Ballé 2018, Minnen 2018).

Each latent ``y`` is coded as the integer ``round(y - mean)`` under a discretised Gaussian whose
scale the hyper-decoder predicts. The coder never sees that float scale: it picks one of a fixed,
log-spaced ladder of scales (:data:`SCALES`, CompressAI's), and each rung has an integer frequency
table (tails beyond ``TAIL`` standard deviations go to the escape entry). The tables are stored in
the codec file; a decoder only reads them. Which rung a latent uses is the only float decision on
the decode path, and it is taken on the hyper-decoder's float64 output, so two machines disagree
only if a scale falls within float64 rounding of a rung boundary.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from nrcodec.format.entropy import FrequencyTable
from nrcodec.format.latent_coding import decode_groups, encode_groups
from nrcodec.nn.gdn import lower_bound

SCALE_MIN = 0.11
SCALE_MAX = 256.0
SCALE_LEVELS = 64
SCALES = tuple(math.exp(v) for v in np.linspace(math.log(SCALE_MIN), math.log(SCALE_MAX), SCALE_LEVELS))
TAIL = 6.0
"""Standard deviations each table covers on either side (tail mass ~2e-9, as CompressAI's 1e-9)."""
TABLE_PRECISION = 16
LIKELIHOOD_FLOOR = 1e-9


def _std_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x / math.sqrt(2.0))


def likelihood(y: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Probability mass of the unit interval around each value under N(mean, scale), floored.

    Computed on the lower tail (|y - mean|) so the difference of two CDFs never cancels."""
    scales = lower_bound(scales, SCALE_MIN)
    values = torch.abs(y - means)
    upper = _std_cdf((0.5 - values) / scales)
    lower = _std_cdf((-0.5 - values) / scales)
    return lower_bound(upper - lower, LIKELIHOOD_FLOOR)


def integer_tables() -> list[FrequencyTable]:
    """One table per rung of :data:`SCALES`: counts of round(N(0, s)) summing to 2**16, escape last.

    Every entry gets one count, the rest is shared in proportion to the mass, largest remainders
    first, so no entry is off by more than 2 / 2**16."""
    total = 1 << TABLE_PRECISION
    tables = []
    for scale in SCALES:
        half = math.ceil(TAIL * scale)
        edges = torch.arange(-half, half + 2, dtype=torch.float64) - 0.5
        pmf = torch.diff(_std_cdf(edges / scale)).numpy()
        probs = np.append(pmf, max(0.0, 1.0 - pmf.sum()))
        scaled = probs * (total - len(probs))
        counts = np.floor(scaled).astype(np.int64) + 1
        remainder = total - int(counts.sum())
        counts[np.argsort(np.floor(scaled) - scaled, kind="stable")[:remainder]] += 1
        tables.append(FrequencyTable(-half, tuple(int(c) for c in counts)))
    return tables


def rungs(scales: torch.Tensor) -> np.ndarray:
    """Index of the table each latent is coded with: the smallest rung >= its scale (float64)."""
    ladder = torch.tensor(SCALES, dtype=torch.float64)
    index = torch.bucketize(scales.to(torch.float64).contiguous(), ladder)
    return index.clamp(max=len(SCALES) - 1).reshape(-1).numpy()


def encode(symbols: torch.Tensor, scales: torch.Tensor, tables: list[FrequencyTable]) -> bytes:
    """Code integer symbols (any shape), each under the table of its scale's rung."""
    values = symbols.reshape(-1).to(torch.int64).numpy()
    index = rungs(scales)
    return encode_groups([values[index == i] for i in range(len(tables))], tables)


def decode(data: bytes, scales: torch.Tensor, tables: list[FrequencyTable], where: str) -> torch.Tensor:
    """The symbols :func:`encode` coded, shaped like ``scales`` (float64 tensor)."""
    index = rungs(scales)
    counts = np.bincount(index, minlength=len(tables))
    groups = decode_groups(data, tables, counts.tolist(), where)
    values = np.zeros(index.size, dtype=np.int64)
    for i, group in enumerate(groups):
        values[index == i] = group
    return torch.from_numpy(values).reshape(scales.shape).to(torch.float64)
