"""Intervals: every p50 the reports show comes with its interval. (Backends are ranked by
paired comparison, bench/reports/paired.py, not by whether these intervals overlap.)

A p50's interval is the op entry's own `p50_ci_low_ms`/`p50_ci_high_ms` when the run recorded
them, else the distribution-free 95 % order-statistic interval of its raw samples
(`bench.stats.p50_ci_ms`). Runs differ more than samples within one run, so where the entry
records the between-process spread (`between_process_cv`), the interval is widened to at least
p50 ± that coefficient of variation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from storebench.model import stats
from storebench.model.results import OpResult


@dataclass(frozen=True)
class Figure:
    """A p50 (or a sum of p50s) with its interval, in ms."""

    value: float
    low: float | None = None
    high: float | None = None

    @property
    def spread(self) -> float | None:
        """The larger side of the interval, relative to the value (0.04 = ±4 %)."""
        if self.low is None or self.high is None or self.value <= 0:
            return None
        return max(self.value - self.low, self.high - self.value) / self.value


def p50_figure(entry: OpResult) -> Figure | None:
    """The op entry's p50 with its interval (None when it has no p50)."""
    p50 = entry.p50_ms
    if p50 is None:
        return None
    low, high = entry.p50_ci_low_ms, entry.p50_ci_high_ms
    if low is None or high is None:
        ci = stats.p50_ci_ms(entry.samples_ns or [])
        low, high = ci if ci else (None, None)
    cv = entry.between_process_cv
    if cv and low is not None and high is not None:
        low, high = min(low, p50 * (1 - cv)), max(high, p50 * (1 + cv))
    return Figure(p50, low, high)


def total(figures: Sequence[Figure]) -> Figure:
    """A sum of p50s; its interval adds the ends (conservative: wider than a joint interval)."""
    value = sum(f.value for f in figures)
    lows = [f.low for f in figures if f.low is not None]
    highs = [f.high for f in figures if f.high is not None]
    if len(lows) < len(figures) or len(highs) < len(figures):
        return Figure(value)
    return Figure(value, sum(lows), sum(highs))


def fmt_interval(figure: Figure, fmt) -> str:
    """"1.23 [1.20–1.27]", or "1.23 [no interval: too few samples]"."""
    if figure.low is None or figure.high is None:
        return f"{fmt(figure.value)} [no interval: too few samples]"
    return f"{fmt(figure.value)} [{fmt(figure.low)}–{fmt(figure.high)}]"
