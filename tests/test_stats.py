"""Statistics over raw samples."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from storebench.model.stats import overhead_summary, summarize


def test_percentiles_are_nearest_rank_samples():
    s = summarize(list(range(1_000_000, 101_000_000, 1_000_000)))  # 1..100 ms
    assert (s["p50_ms"], s["p90_ms"], s["p95_ms"], s["p99_ms"], s["max_ms"]) == (50.0, 90.0, 95.0, 99.0, 100.0)
    assert s["mean_ms"] == 50.5


def test_ops_per_s_is_samples_over_time_spent():
    assert summarize([2_000_000] * 10)["ops_per_s"] == 500.0


def test_no_samples_gives_empty_figures():
    assert set(summarize([]).values()) == {None}


@given(st.lists(st.integers(min_value=1, max_value=10**12), min_size=1, max_size=300))
def test_percentiles_are_ordered_and_measured(samples):
    s = summarize(samples)
    assert s["p50_ms"] <= s["p90_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"]
    measured = {v / 1e6 for v in samples}
    assert {s["p50_ms"], s["p99_ms"], s["max_ms"]} <= measured


def test_overhead_summary():
    assert overhead_summary([5, 1, 9, 3]) == {"n": 4, "p50_ns": 3, "p99_ns": 9, "mean_ns": 4.5, "min_ns": 1}


def test_median_interval_brackets_the_p50_and_narrows_with_more_samples():
    from storebench.model.stats import ci_half_width, p50_ci_ms

    rng = np.random.default_rng(5)
    widths = []
    for n in (30, 300, 3000):
        samples = (rng.lognormal(0, 0.5, n) * 1e6).astype(np.int64)
        low, high = p50_ci_ms(samples)
        p50 = summarize(samples)["p50_ms"]
        assert low <= p50 <= high
        assert low * 1e6 in samples and high * 1e6 in samples  # order statistics: measured values
        widths.append(ci_half_width(p50, low, high))
    assert widths[0] > widths[1] > widths[2]
    assert p50_ci_ms([]) is None


def test_median_interval_covers_the_true_median_about_95_percent_of_the_time():
    from storebench.model.stats import p50_ci_ms

    rng = np.random.default_rng(11)
    hits = sum(low <= 1.0 <= high for low, high in
               (p50_ci_ms((rng.lognormal(0, 1, 60) * 1e6).astype(np.int64)) for _ in range(400)))
    assert 0.92 <= hits / 400 <= 0.995


def test_coefficient_of_variation():
    from storebench.model.stats import cv

    assert cv([1.0]) is None
    assert cv([2.0, 2.0, 2.0]) == 0.0
    assert abs(cv([1.0, 3.0]) - (2 ** 0.5) / 2) < 1e-12
