"""benchmarks/repeatability.py's own logic: the run factor and what a phase-1 line recommends."""

from __future__ import annotations

import benchmark_scripts
import pytest
from fake_results import FakeResults, durable_twins

repeatability = benchmark_scripts.load("repeatability")


def test_a_shift_common_to_every_op_of_a_run_is_its_run_factor_and_leaves_no_residual():
    table = {("apsw", "load_all"): [5.0, 5.5, 4.5], ("libsql", "update_title"): [0.010, 0.011, 0.009]}
    factors = repeatability.run_factors(table)
    assert factors[1] / factors[0] == pytest.approx(1.1) and factors[2] / factors[0] == pytest.approx(0.9)
    for values in table.values():
        assert repeatability.residual_cv(values, factors) == pytest.approx(0.0, abs=1e-12)


def test_an_op_that_moves_alone_keeps_its_spread_after_the_run_factor():
    table = {("a", "x"): [1.0, 1.0, 1.0, 1.0], ("b", "y"): [1.0, 1.0, 1.0, 1.0], ("c", "z"): [1.0, 1.2, 1.0, 0.8]}
    factors = repeatability.run_factors(table)
    alone, still = (repeatability.residual_cv(table[k], factors) for k in (("c", "z"), ("a", "x")))
    assert alone > 0.1 and alone == pytest.approx(2 * still, rel=0.1)  # a third of its shift leaks into the factor


def test_the_recommended_backend_is_the_python_phase1_choice():
    assert repeatability.chosen(durable_twins(0.05, 1.5).results) == "apsw"


def test_backends_that_tie_are_read_as_the_recommendation_together():
    assert repeatability.chosen(durable_twins(0.3, 1.01).results) == "apsw, sqlite3"


def test_no_phase1_answer_is_not_read_as_a_recommendation():
    assert repeatability.chosen(FakeResults().status("sqlite3", "failed", "broken").results) == ""
