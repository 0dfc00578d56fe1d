"""Statistics over raw latency samples, computed after timing, never during it."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
# Imported with the module, not on first use: a Ctrl-C that lands inside an extension
# module's import surfaces as ImportError instead of an interruption.
from scipy.stats import binom

PERCENTILES = (50, 90, 95, 99)


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
    out = {f"p{p}_ms": float(v) / 1e6 for p, v in zip(PERCENTILES, pct)}
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
    # the largest k with P(B < k) <= (1 - confidence) / 2, i.e. P(k <= B < n - k) >= confidence
    k = int(binom.ppf((1 - confidence) / 2, n, 0.5))
    while k > 0 and binom.cdf(k - 1, n, 0.5) > (1 - confidence) / 2:
        k -= 1
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
