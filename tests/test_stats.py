"""Statistics over raw samples."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bench.stats import overhead_summary, summarize


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
