"""Statistics over raw latency samples, computed after timing, never during it."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

PERCENTILES = (50, 90, 95, 99)
# An op's figure enters a recommendation only with this many samples from at least two
# processes (issue 32): the coordinator samples every backend's load_all at least this often
# where its rounds allow.
ENOUGH_SAMPLES = 20


def summarize(samples_ns: Sequence[int]) -> dict:
    """Percentiles (nearest-rank: every reported value is a measured sample, so
    p50 <= p90 <= p95 <= p99 <= max always holds), mean, stdev and ops/s, in milliseconds.

    ops_per_s is single-client service throughput: samples / total time spent in the op.
    """
    if len(samples_ns) == 0:
        empty = {f"p{p}_ms": None for p in PERCENTILES}
        return {**empty, "max_ms": None, "mean_ms": None, "stdev_ms": None, "ops_per_s": None}
    a = np.asarray(samples_ns, dtype=np.int64)
    pct = np.percentile(a, PERCENTILES, method="inverted_cdf")
    out: dict[str, float | None] = {f"p{p}_ms": float(v) / 1e6 for p, v in zip(PERCENTILES, pct)}
    out["max_ms"] = float(a.max()) / 1e6
    out["mean_ms"] = float(a.mean()) / 1e6
    out["stdev_ms"] = float(a.std(ddof=1)) / 1e6 if len(a) > 1 else 0.0
    out["ops_per_s"] = float(len(a) / (a.sum() / 1e9)) if a.sum() > 0 else None
    return out


def overhead_summary(samples_ns: Sequence[int]) -> dict:
    a = np.asarray(samples_ns, dtype=np.int64)
    p50, p99 = np.percentile(a, (50, 99), method="inverted_cdf")
    return {"n": len(a), "p50_ns": int(p50), "p99_ns": int(p99), "mean_ns": float(a.mean()), "min_ns": int(a.min())}


def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int] | None:
    """0-based ranks (lo, hi) of the sorted samples bracketing the median with at least
    `confidence`, distribution-free: the number of samples below the true median is
    Binomial(n, 1/2), so [x(lo), x(hi)] covers it with probability P(lo < B <= hi).
    The ranks are symmetric; None when n is too small for any interval to reach it (n < 6 at 95 %)."""
    if n < 1:
        return None
    # The largest k with P(B <= k - 1) <= (1 - confidence) / 2, so P(k <= B < n - k) >=
    # confidence. Summed here (log space: 2^-n underflows from n = 1075) rather than with
    # scipy.stats.binom: every measuring worker imports this module, and scipy.stats alone
    # cost each of them about half a second of CPU.
    tail, k, cdf = (1 - confidence) / 2, 0, 0.0
    log_half_n = n * math.log(0.5)
    while k < n:
        cdf += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + log_half_n)
        if cdf > tail * (1 + 1e-12):  # P(B <= k) exceeds the tail: k + 1 is one too far
            break
        k += 1
    if k < 1:
        return None
    return k - 1, n - k


def p50_ci_ms(samples_ns: Sequence[int], confidence: float = 0.95) -> tuple[float, float] | None:
    """The p50's confidence interval in ms from the raw samples (order statistics, no
    assumption about the distribution), or None when there are too few samples."""
    ranks = median_ci_ranks(len(samples_ns), confidence)
    if ranks is None:
        return None
    ordered = np.sort(np.asarray(samples_ns, dtype=np.int64))
    return float(ordered[ranks[0]]) / 1e6, float(ordered[ranks[1]]) / 1e6


def ci_half_width(p50_ms: float | None, low_ms: float | None, high_ms: float | None) -> float:
    """The interval's larger distance from the p50, relative to it (inf when unknown)."""
    if not p50_ms or low_ms is None or high_ms is None:
        return math.inf
    return max(p50_ms - low_ms, high_ms - p50_ms) / p50_ms


def cv(values: Sequence[float]) -> float | None:
    """Coefficient of variation (sample stdev / mean); None for fewer than two values."""
    if len(values) < 2:
        return None
    a = np.asarray(values, dtype=float)
    return float(a.std(ddof=1) / a.mean()) if a.mean() > 0 else None
