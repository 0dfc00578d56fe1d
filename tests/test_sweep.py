"""Dataset sweeps: parsing, the growth fit, the viability limit, pagination and the plot."""

from __future__ import annotations

import math

import pytest

from storebench.backends.base import Settings
from storebench.core import sweep
from storebench.core.preload import bulk_preload
from storebench.core.workload import OPS, Params
from storebench.model.results import Sweep
from storebench.reports.sweep_plot import plot_sweep


def test_parse_sweep_accepts_a_param_and_two_or_more_sizes():
    assert sweep.parse_sweep("conversations=1000,10, 100") == sweep.Sweep("conversations", (10, 100, 1000))
    assert sweep.parse_sweep("messages=1,10") == sweep.Sweep("messages", (1, 10))


@pytest.mark.parametrize("text, message", [
    ("rows=1,2", "PARAM one of conversations, messages"),
    ("conversations", "PARAM one of conversations, messages"),
    ("conversations=10", "at least two different sizes"),
    ("conversations=10,10", "at least two different sizes"),
    ("messages=0,5", "each at least 1"),
    ("messages=a,b", "values must be whole numbers"),
])
def test_parse_sweep_rejects_bad_specs_with_a_reason(text, message):
    with pytest.raises(ValueError, match=message):
        sweep.parse_sweep(text)


def test_growth_exponent_is_the_log_log_slope():
    sizes = [10, 100, 1000, 10000]
    assert sweep.fit_growth(sizes, [0.5 * s**1.5 for s in sizes]) == pytest.approx(1.5)
    assert sweep.fit_growth(sizes, [3.0] * 4) == pytest.approx(0.0, abs=1e-12)
    assert sweep.fit_growth(sizes, [None, 2.0, None, None]) is None


def test_load_all_limit_is_interpolated_or_extrapolated():
    sizes = [10, 100, 1000]
    # p50 = size / 10 ms: crosses 100 ms exactly at 1000... and between 100 and 1000 for size/5.
    assert sweep.limit_crossing(sizes, [s / 5 for s in sizes], 100.0) == {
        "size": 500, "basis": "measured (interpolated)"}
    assert sweep.limit_crossing(sizes, [s / 1000 for s in sizes], 100.0) == {"size": 100_000, "basis": "extrapolated"}
    assert sweep.limit_crossing(sizes, [200.0, 300.0, 400.0], 100.0)["basis"] == "exceeded at the smallest size"
    assert sweep.limit_crossing(sizes, [5.0, 4.0, 3.0], 100.0) == {"size": None, "basis": "does not grow"}


def test_load_page_returns_the_first_page_of_load_all(store):
    if not store.capabilities.paging:
        pytest.skip(f"{store.name} declares no paging (reported as unsupported in sweeps)")
    bulk_preload(store, seed=2, conversations=12, messages=3, batch=5)
    assert store.load_page(5) == store.load_all()[:5]
    assert store.load_page(50) == store.load_all()


def test_a_sweep_measures_every_op_per_size_with_exponents():
    params = Params(conversations=5, messages=2, iterations=3, warmup=1, cold_starts=0)
    spec = sweep.Sweep("conversations", (3, 6, 12))
    result = sweep.run_sweep(["sqlite3"], spec, params, 1, Settings(), rounds=3, warmup=1)
    assert result["param"] == "conversations" and result["values"] == [3, 6, 12]
    assert result["fixed"] == {"messages": 2, "iterations": 3, "warmup": 1, "load_every": 1}
    (backend,) = result["backends"]
    assert [p["status"] for p in backend["points"]] == ["ok"] * 3
    assert [p["load_page"] for p in backend["points"]] == ["ok"] * 3
    for op in (*OPS, sweep.PAGE_OP):
        series = backend["ops"][op]
        assert len(series["p50_ms"]) == 3 and all(v > 0 for v in series["p50_ms"])
        assert math.isfinite(series["growth_exponent"])
    assert backend["load_all_limit"]["basis"] in ("extrapolated", "does not grow", "measured (interpolated)")


def test_the_sweep_plot_is_a_png(tmp_path):
    data = Sweep.from_dict({
        "param": "conversations", "values": [10, 100], "fixed": {"messages": 20}, "load_all_limit_ms": 100.0,
        "page_size": 50,
        "backends": [{"backend": "fake", "ops": {
            "load_all": {"p50_ms": [1.0, 30.0], "p99_ms": [2.0, 40.0], "growth_exponent": 1.48},
            "load_page": {"p50_ms": [None, None], "p99_ms": [None, None], "growth_exponent": None}}}],
    })
    path = plot_sweep(data, tmp_path / "out" / "sweep.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
