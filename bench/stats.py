"""Statistics over raw latency samples, computed after timing, never during it."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

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


Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def median_ci(samples_ns: Sequence[int]) -> tuple[float | None, float | None]:
    """95 % confidence interval of the median (p50), in ms, distribution-free: the order
    statistics x_(j) and x_(k) whose ranks bound the median's rank with 95 % probability under
    any continuous distribution (the binomial(n, 1/2) rank, in its normal approximation,
    rounded outwards). It covers sampling noise within the samples given, not differences
    between processes or runs (`between_process_cv` reports those)."""
    n = len(samples_ns)
    if n == 0:
        return None, None
    a = np.sort(np.asarray(samples_ns, dtype=np.int64))
    half = Z95 * math.sqrt(n) / 2
    j = max(1, math.floor(n / 2 - half))  # 1-based ranks
    k = min(n, math.ceil(n / 2 + half) + 1)
    return float(a[j - 1]) / 1e6, float(a[k - 1]) / 1e6


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
